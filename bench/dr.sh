#!/usr/bin/env bash
# The whole disaster-recovery rehearsal through the CLI against the emulator, timed:
# keys generate (3 custodians) -> hsm download on A -> sd verify -> a key and its backup
# on A -> hsm init-recovery on B -> sd restore-blob (offline) -> hsm upload -> hsm wait ->
# hsm status -> A's key backup restored on B. Prints a Markdown table of each step's wall
# time (median of ROUNDS runs) and the total.
# Usage: bench/dr.sh [ROUNDS] [OPERATION_SECONDS] [BITS]   (defaults 5, 0.2 and 2048:
# how long the emulator keeps download/upload InProgress, the real service takes minutes;
# the custodians' RSA size, 2048 as in the Azure documentation's openssl commands).
# Loopback only; the emulator is stopped on exit.
set -euo pipefail
rounds=${1:-5}
op_seconds=${2:-0.2}
bits=${3:-2048}
repo=$(cd "$(dirname "$0")/.." && pwd)
# cargo's target directory: $CARGO_TARGET_DIR if set (relative to where this was started), else target/.
target=$(realpath -m "${CARGO_TARGET_DIR:-$repo/target}")
cargo build --release --locked --quiet --manifest-path "$repo/Cargo.toml" --bin sdctl
sdctl="$target/release/sdctl"
work=$(mktemp -d)
emulator_pid=
cleanup() {
  if [ -n "$emulator_pid" ]; then kill "$emulator_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

declare -A samples
step() { # step NAME COMMAND...: runs it, records its wall time in ms
  local name=$1; shift
  local t0=$EPOCHREALTIME
  "$@" >/dev/null
  local t1=$EPOCHREALTIME
  samples[$name]+="$(awk "BEGIN {print ($t1 - $t0) * 1000}") "
}
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {printf "%.0f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

for round in $(seq "$rounds"); do
  dir="$work/r$round"; mkdir -p "$dir"; cd "$dir"
  "$sdctl" emulator serve --state-dir st --hsm hsm-a --hsm hsm-b --operation-seconds "$op_seconds" > serve.log 2>&1 &
  emulator_pid=$!
  for _ in $(seq 100); do [ -s st/emulator.json ] && break; sleep 0.05; done
  # Each HSM is at the root of its own origin (emulator.json's "hsms").
  hsm_a=$(jq -r '.hsms["hsm-a"]' st/emulator.json)
  hsm_b=$(jq -r '.hsms["hsm-b"]' st/emulator.json)
  tok=st/admin.token
  auth=(-s --fail --cacert st/ca.pem -H "Authorization: Bearer $(cat $tok)" -H "Content-Type: application/json")
  admin=$(jq -r .object_id st/admin-credentials.json)
  for h in "$hsm_a" "$hsm_b"; do
    curl "${auth[@]}" -X PUT "$h/keys/providers/Microsoft.Authorization/roleAssignments/crypto-user?api-version=7.4" \
      -d "{\"properties\":{\"scope\":\"/keys\",\"principalId\":\"$admin\",\"roleDefinitionId\":\"Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/21dbd100-6940-42c2-9190-5d6cb909625b\"}}" >/dev/null
  done
  printf 'correct horse battery staple\n%.0s' 1 2 3 > pp; head -2 pp > pp2; chmod 600 pp pp2
  A=(--hsm-url "$hsm_a" --ca-cert st/ca.pem --access-token-file "$tok")
  B=(--hsm-url "$hsm_b" --ca-cert st/ca.pem --access-token-file "$tok")
  t_start=$EPOCHREALTIME
  step "keys generate (3 custodians)" "$sdctl" keys generate --count 3 --bits "$bits" --out-dir keys --passphrase-file pp
  step "hsm download (activate A)" "$sdctl" hsm download "${A[@]}" --sd-wrapping-keys keys/*.cer --sd-quorum 2 --security-domain-file sd.json
  step "sd verify (drill, 2 keys)" "$sdctl" sd verify --sd-file sd.json --sd-wrapping-keys keys/custodian1.key keys/custodian3.key --passphrase-file pp2
  step "key create + backup on A" bash -c "curl ${auth[*]@Q} -X POST $hsm_a/keys/app/create?api-version=7.4 -d '{\"kty\":\"RSA-HSM\",\"key_size\":2048}' && curl ${auth[*]@Q} -X POST $hsm_a/keys/app/backup?api-version=7.4 > backup.json"
  step "hsm init-recovery (B)" "$sdctl" hsm init-recovery "${B[@]}" --sd-exchange-key exch.pem
  step "sd restore-blob (offline)" "$sdctl" sd restore-blob --sd-file sd.json --sd-exchange-key exch.pem --sd-wrapping-keys keys/custodian1.key keys/custodian2.key --passphrase-file pp2 --sd-file-restore-blob blob.json
  step "hsm upload (B)" "$sdctl" hsm upload "${B[@]}" --sd-file blob.json --restore-blob --no-wait
  step "hsm wait --target upload" "$sdctl" hsm wait "${B[@]}" --target upload
  step "hsm status (B)" "$sdctl" hsm status "${B[@]}"
  step "key restore on B" bash -c "curl ${auth[*]@Q} -X POST $hsm_b/keys/restore?api-version=7.4 -d @backup.json"
  t_end=$EPOCHREALTIME
  samples[total]+="$(awk "BEGIN {print ($t_end - $t_start) * 1000}") "
  kill "$emulator_pid"; wait "$emulator_pid" 2>/dev/null || true; emulator_pid=
  cd "$work"
done

echo "Disaster-recovery rehearsal, release build, RSA-$bits custodians, emulator --operation-seconds $op_seconds, median of $rounds runs:"
echo
echo "| step | ms |"
echo "|---|---:|"
for name in "keys generate (3 custodians)" "hsm download (activate A)" "sd verify (drill, 2 keys)" \
  "key create + backup on A" "hsm init-recovery (B)" "sd restore-blob (offline)" "hsm upload (B)" \
  "hsm wait --target upload" "hsm status (B)" "key restore on B"; do
  echo "| $name | $(echo "${samples[$name]}" | median) |"
done
echo "| **total** | **$(echo "${samples[total]}" | median)** |"
