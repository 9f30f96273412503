#!/usr/bin/env bash
# Rehearsal of the first ceremony step on this machine, with no prompts: generate three
# custodian key pairs into a temporary directory, inspect them, and run the activation
# preflight with every private key. Passphrases are random, kept in a 0600 file that is
# deleted at the end: never on argv, never in the environment.
# (When the emulator lands, this becomes `sdctl ceremony rehearse`.)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --locked --quiet --manifest-path "$repo/Cargo.toml"
sdctl="$repo/target/release/sdctl"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077
for _ in 1 2 3; do openssl rand -hex 16; done > "$work/passphrases.txt"

echo "== 1. Generate custodian keys (alice, bob, carol)"
"$sdctl" keys generate --count 3 --names alice,bob,carol --out-dir "$work/custodians" \
  --passphrase-file "$work/passphrases.txt"
echo
echo "== 2. Inspect alice's files (no passphrase needed)"
"$sdctl" keys inspect "$work/custodians/alice.key" "$work/custodians/alice.cer"
echo
echo "== 3. Witnesses compare thumbprints with openssl"
for c in alice bob carol; do
  printf '%-6s ' "$c"; openssl x509 -in "$work/custodians/$c.cer" -noout -fingerprint -sha256
done
echo
echo "== 4. Preflight: certificates fit for activation, every key opens and matches"
"$sdctl" keys check --sd-wrapping-keys "$work/custodians"/{alice,bob,carol}.cer \
  --keys "$work/custodians"/{alice,bob,carol}.key --passphrase-file "$work/passphrases.txt"
echo
echo "Rehearsal complete; the temporary key set is now deleted."
