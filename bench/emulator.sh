#!/usr/bin/env bash
# Load benchmark of the emulator: requests per second and latency of `sign` (RSA-2048 RS256,
# P-256 ES256) and `get key` with 1 and 32 concurrent clients over loopback HTTPS, and the
# emulator's resident memory at rest and under load (Markdown tables on stdout).
# Usage: bench/emulator.sh [SECONDS]   (seconds of load per phase, default 5)
# Starts a release-built `sdctl emulator serve` on 127.0.0.1 in a temporary state directory,
# activates its HSM with `sdctl hsm download` (three openssl-made custodian certificates),
# runs the emulator-bench example against it and stops it. Nothing leaves loopback.
set -euo pipefail
seconds=${1:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
target=$(realpath -m "${CARGO_TARGET_DIR:-$repo/target}")
cargo build --release --locked --quiet --manifest-path "$repo/Cargo.toml" --bin sdctl --example emulator-bench
sdctl="$target/release/sdctl"
work=$(mktemp -d)
emulator_pid=
cleanup() {
  if [ -n "$emulator_pid" ]; then kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

"$sdctl" emulator serve --state-dir emu --listen 127.0.0.1:0 --hsm bench --operation-seconds 0 \
  >emulator.log 2>&1 &
emulator_pid=$!
for _ in $(seq 100); do
  [ -s emu/emulator.json ] && break
  kill -0 "$emulator_pid" 2>/dev/null || { cat emulator.log >&2; exit 1; }
  sleep 0.1
done
[ -s emu/emulator.json ] || { echo "bench/emulator.sh: the emulator did not start in 10 s" >&2; exit 1; }
url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hsms"]["bench"])' emu/emulator.json)

for i in 1 2 3; do
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "k$i.key" -out "k$i.cer" -subj "/CN=k$i" -days 30 2>/dev/null
done
"$sdctl" hsm download --hsm-url "$url" --ca-cert emu/ca.pem --access-token-file emu/admin.token \
  --sd-wrapping-keys k1.cer k2.cer k3.cer --sd-quorum 2 --security-domain-file sd.json >/dev/null

"$target/release/examples/emulator-bench" --state-dir emu --hsm bench --pid "$emulator_pid" --seconds "$seconds"
