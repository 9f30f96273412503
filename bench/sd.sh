#!/usr/bin/env bash
# Benchmarks of the security-domain engine, as Markdown tables on stdout:
# 1. `sdctl sd restore-blob` vs `az keyvault security-domain restore-blob` on the same SD
#    (quorum 3 of 10, RSA-3072 custodian keys) and exchange key: median wall time, ratio.
# 2. `sdctl sd verify` on a 10-of-10 SD vs the sum of ten RSA-3072 private-key operations
#    as `openssl speed` measures them.
# Usage: bench/sd.sh [ROUNDS]   (default 9). Needs the interop harness (tests/interop/),
# which it installs on first use; az runs with no network (unshare -n, as root).
set -euo pipefail
rounds=${1:-9}
repo=$(cd "$(dirname "$0")/.." && pwd)
# cargo's target directory: $CARGO_TARGET_DIR if set (relative to where this was started), else target/.
target=$(realpath -m "${CARGO_TARGET_DIR:-$repo/target}")
cargo build --release --locked --quiet --manifest-path "$repo/Cargo.toml" --bin sdctl --example make-test-sd
sdctl="$target/release/sdctl"
# The air-gapped build: static, with the OpenSSL that openssl-src vendors (first build: minutes),
# built as ceremony-scripts/build-offline.sh builds it (for the host target given explicitly,
# so it does not overwrite the default build's binary).
host=$(rustc -vV | sed -n 's/^host: //p')
cargo build --release --locked --quiet --manifest-path "$repo/Cargo.toml" \
  --no-default-features --features vendored --target "$host" --bin sdctl
static_sdctl="$target/$host/release/sdctl"
make_sd="$target/release/examples/make-test-sd"
venv=$(bash "$repo/tests/interop/setup.sh")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

for i in $(seq 10); do
  openssl req -x509 -newkey rsa:3072 -nodes -keyout "k$i.key" -out "k$i.cer" -subj "/CN=k$i" -days 365 2>/dev/null
done
openssl req -x509 -newkey rsa:3072 -nodes -keyout exch.key -out exch.cer -subj /CN=exchange -days 365 2>/dev/null
"$make_sd" --quorum 3 --out sd-3of10.json k{1..10}.cer
"$make_sd" --quorum 10 --out sd-10of10.json k{1..10}.cer

# az as the harness runs it, minus the harness: a seeded throw-away config, no network.
mkdir azcfg
cp "$venv/sdctl-azure-config/config" azcfg/
sed "s/\"update_time\": \"[^\"]*\"/\"update_time\": \"$(date '+%Y-%m-%d %H:%M:%S.%6N')\"/" \
  "$venv/sdctl-azure-config/versionCheck.json" > azcfg/versionCheck.json
isolate=()
if unshare -n true 2>/dev/null; then isolate=(unshare -n); fi
run_az() {
  AZURE_CONFIG_DIR="$work/azcfg" "${isolate[@]}" "$venv/bin/az" keyvault security-domain restore-blob \
    --sd-file sd-3of10.json --sd-exchange-key exch.cer --sd-wrapping-keys k1.key k2.key k3.key \
    --sd-file-restore-blob az-blob.json >/dev/null
}
run_sdctl() {
  "${1:-$sdctl}" sd restore-blob --sd-file sd-3of10.json --sd-exchange-key exch.cer \
    --sd-wrapping-keys k1.key k2.key k3.key --sd-file-restore-blob our-blob.json --force >/dev/null
}
run_verify() {
  "$sdctl" sd verify --sd-file sd-10of10.json --sd-wrapping-keys k{1..10}.key >/dev/null
}

now() { echo "$EPOCHREALTIME"; }   # bash built-in: no process spawned
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {print b - a}'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
list() { tr '\n' ' ' < "$1" | xargs printf '%.3f '; }

run_az; run_sdctl; run_sdctl "$static_sdctl"; run_verify   # warm the page cache
: > az.times; : > sdctl.times; : > static.times; : > verify.times
for r in $(seq "$rounds"); do
  t0=$(now); run_az; t1=$(now); elapsed "$t0" "$t1" >> az.times
  t0=$(now); run_sdctl; t1=$(now); elapsed "$t0" "$t1" >> sdctl.times
  t0=$(now); run_sdctl "$static_sdctl"; t1=$(now); elapsed "$t0" "$t1" >> static.times
  t0=$(now); run_verify; t1=$(now); elapsed "$t0" "$t1" >> verify.times
  echo "round $r/$rounds done" >&2
done
az_m=$(median < az.times)
sd_m=$(median < sdctl.times)
st_m=$(median < static.times)
ver_m=$(median < verify.times)
sign=$(openssl speed -seconds 3 rsa3072 2>/dev/null | awk '/^rsa 3072 bits/ {sub("s", "", $4); print $4}')
ten=$(awk -v s="$sign" 'BEGIN {print 10 * s}')

cat <<TABLE
| restore blob, SD 3 of 10, RSA-3072 | median of $rounds | runs (s) |
|---|---|---|
| \`az keyvault security-domain restore-blob\` (azure-cli $(grep '^azure-cli==' "$repo/tests/interop/requirements.txt" | cut -d= -f3)) | $(printf '%.3f' "$az_m") s | $(list az.times) |
| \`sdctl sd restore-blob\`, default build (system $(openssl version | cut -d' ' -f1-2), dynamic) | $(printf '%.3f' "$sd_m") s | $(list sdctl.times) |
| \`sdctl sd restore-blob\`, air-gapped build (\`--no-default-features --features vendored\`, static OpenSSL $(grep -A1 'name = "openssl-src"' "$repo/Cargo.lock" | sed -n 's/.*+\([0-9.]*\)".*/\1/p')) | $(printf '%.3f' "$st_m") s | $(list static.times) |
| ratio az ÷ sdctl, default build | $(awk -v a="$az_m" -v s="$sd_m" 'BEGIN {printf "%.0f", a / s}')× | |
| ratio az ÷ sdctl, air-gapped build | $(awk -v a="$az_m" -v s="$st_m" 'BEGIN {printf "%.0f", a / s}')× | |

| drill, SD 10 of 10, RSA-3072 | time |
|---|---|
| \`sdctl sd verify\` with 10 keys (median of $rounds, whole process) | $(printf '%.4f' "$ver_m") s |
| one RSA-3072 private-key operation (\`openssl speed rsa3072\`, sign) | $(printf '%.5f' "$sign") s |
| ten of them | $(printf '%.4f' "$ten") s |
| verify ÷ ten private operations | $(awk -v v="$ver_m" -v t="$ten" 'BEGIN {printf "%.2f", v / t}')× |

Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(openssl version | cut -d' ' -f1-2), $(date -u +%Y-%m-%d).
TABLE
