#!/usr/bin/env bash
# A whole security-domain ceremony rehearsed on this machine against the built-in Managed
# HSM emulator, with no prompts and no Azure account:
#   custodian keys -> activation of HSM A -> recovery drill -> disaster: recovery into HSM B
#   (exchange key, restore blob made "offline", upload, wait) -> status.
# Passphrases are random, kept in 0600 files deleted at the end: never on argv, never in
# the environment. The emulator listens on 127.0.0.1 only and is stopped on exit.
# (Issue 7 turns this into `sdctl ceremony rehearse`.)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --locked --quiet --manifest-path "$repo/Cargo.toml"
sdctl="$repo/target/release/sdctl"
work=$(mktemp -d)
emulator=
cleanup() {
  if [ -n "$emulator" ]; then kill "$emulator" 2>/dev/null || true; wait "$emulator" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
umask 077
cd "$work"
for _ in 1 2 3; do openssl rand -hex 16; done > passphrases.txt
head -n 2 passphrases.txt > alice-bob.txt
sed -n '1p;3p' passphrases.txt > alice-carol.txt

echo "== 0. Start the Managed HSM emulator with two HSMs (hsm-a, hsm-b)"
"$sdctl" emulator serve --state-dir emulator --hsm hsm-a --hsm hsm-b --operation-seconds 0.5 > emulator.log 2>&1 &
emulator=$!
for _ in $(seq 200); do [ -s emulator/emulator.json ] && break; sleep 0.05; done
url=$(sed -n 's/^ *"url": "\(.*\)",*$/\1/p' emulator/emulator.json)
[ -n "$url" ] || { cat emulator.log >&2; echo "the emulator did not start" >&2; exit 1; }
echo "emulator at $url"
A=(--hsm-url "$url/hsm/hsm-a" --ca-cert emulator/ca.pem --access-token-file emulator/admin.token)
B=(--hsm-url "$url/hsm/hsm-b" --ca-cert emulator/ca.pem --access-token-file emulator/admin.token)
echo
echo "== 1. Custodians generate their keys (alice, bob, carol)"
"$sdctl" keys generate --count 3 --names alice,bob,carol --out-dir custodians --passphrase-file passphrases.txt
echo
echo "== 2. Inspect alice's certificate (no passphrase needed); witnesses compare thumbprints with openssl"
"$sdctl" keys inspect custodians/alice.cer
for c in alice bob carol; do
  printf '%-6s ' "$c"; openssl x509 -in "custodians/$c.cer" -noout -fingerprint -sha256
done
echo
echo "== 3. Activate HSM A: certificates checked, security domain saved and checked (quorum 2)"
"$sdctl" hsm download "${A[@]}" --sd-wrapping-keys custodians/{alice,bob,carol}.cer --sd-quorum 2 \
  --security-domain-file sd-hsm-a.json
echo
echo "== 4. Recovery drill on the air-gapped side: alice and carol open the security domain"
"$sdctl" sd verify --sd-file sd-hsm-a.json --sd-wrapping-keys custodians/{alice,carol}.key \
  --passphrase-file alice-carol.txt
echo
echo "== 5. Disaster: HSM B gives its exchange key"
"$sdctl" hsm init-recovery "${B[@]}" --sd-exchange-key exchange-hsm-b.pem
echo
echo "== 6. Offline: alice and bob build the restore blob for B's exchange key"
"$sdctl" sd restore-blob --sd-file sd-hsm-a.json --sd-exchange-key exchange-hsm-b.pem \
  --sd-wrapping-keys custodians/{alice,bob}.key --passphrase-file alice-bob.txt \
  --sd-file-restore-blob restore-blob.json
echo
echo "== 7. Upload to B and wait for the outcome"
"$sdctl" hsm upload "${B[@]}" --sd-file restore-blob.json --restore-blob --no-wait
"$sdctl" hsm wait "${B[@]}" --target upload
echo
echo "== 8. B's status"
"$sdctl" hsm status "${B[@]}"
echo
echo "Rehearsal complete; the emulator is stopped and the temporary files are deleted."
