#!/usr/bin/env bash
# Benchmarks of the security-domain engine, as Markdown tables on stdout:
# 1. `sdctl sd restore-blob` vs `az keyvault security-domain restore-blob` on the same SD
#    (quorum 3 of 10, RSA-3072 custodian keys made by `sdctl keys generate`) and exchange key,
#    with the same three key pairs in three kinds of file: unencrypted PKCS#8 (as Microsoft's
#    guide has openssl write them), encrypted with openssl's defaults (`openssl pkcs8 -topk8
#    -v2 aes-256-cbc`: PBES2, PBKDF2-HMAC-SHA256 with 2,048 iterations, AES-256-CBC), and as
#    `sdctl keys generate` wrote them (600,000 iterations); median wall time, ratio per kind.
#    az is given the passwords (--passwords @FILE: az reads them from 0600 files).
# 2. Opening the three sdctl-made keys one by one vs through `load_wrapping_keys` (threads
#    when at least two keys have a costly key derivation), in one process (the
#    open-keys-bench example): what the threads win.
# 3. `sdctl sd verify` on a 10-of-10 SD vs the sum of ten RSA-3072 private-key operations
#    as `openssl speed` measures them.
# Usage: bench/sd.sh [ROUNDS]   (default 9). Needs the interop harness (tests/interop/),
# which it installs on first use; az runs with no network (unshare -n, as root).
set -euo pipefail
rounds=${1:-9}
repo=$(cd "$(dirname "$0")/.." && pwd -P)
# cargo's target directory: $CARGO_TARGET_DIR if set (relative to where this was started), else target/.
target=$(realpath -m "${CARGO_TARGET_DIR:-$repo/target}")
cargo build --release --locked --quiet --manifest-path "$repo/Cargo.toml" --bin sdctl --example make-test-sd --example open-keys-bench
sdctl="$target/release/sdctl"
# The air-gapped build: static, with the OpenSSL that openssl-src vendors (first build: minutes),
# built as ceremony-scripts/build-offline.sh builds it: for the host target given explicitly
# (it does not overwrite the default build's binary), in the same reproducible environment
# (the same bytes as the checked binary, and no second OpenSSL build between the two).
host=$(rustc -vV | sed -n 's/^host: //p')
# shellcheck disable=SC2016 # the script's own arguments, expanded by the inner shell
bash -c 'source "$1/ceremony-scripts/common.sh" && source "$1/ceremony-scripts/reproducible-env.sh" &&
  reproducible_environment "$1" "$2" "$3" &&
  reproducible_cargo build --release --locked --quiet --manifest-path "$1/Cargo.toml" --target-dir "$2" \
    --no-default-features --features vendored --target "$3" --bin sdctl' bench "$repo" "$target" "$host"
static_sdctl="$target/$host/release/sdctl"
make_sd="$target/release/examples/make-test-sd"
open_keys="$target/release/examples/open-keys-bench"
venv=$(bash "$repo/tests/interop/setup.sh")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# One set of ten key pairs in three kinds of file: sdctl's own (sdctl/), openssl's default
# encryption (openssl/), unencrypted (plain/); each key with its certificate beside it.
printf 'bench passphrase 1 of 3\n' > pw
chmod 600 pw
for i in $(seq 10); do cat pw; done > pw10
for i in 1 2 3; do cat pw; done > pw3
chmod 600 pw10 pw3
mkdir sdctl openssl plain
"$sdctl" keys generate --count 10 --names "$(seq -s, -f 'k%g' 10)" --bits 3072 \
  --passphrase-file pw10 --out-dir sdctl >/dev/null
for i in $(seq 10); do
  openssl pkcs8 -topk8 -in "sdctl/k$i.key" -passin file:pw -nocrypt -out "plain/k$i.key"
  openssl pkcs8 -topk8 -v2 aes-256-cbc -in "plain/k$i.key" -passout file:pw -out "openssl/k$i.key"
  cp "sdctl/k$i.cer" "plain/k$i.cer"
  cp "sdctl/k$i.cer" "openssl/k$i.cer"
done
openssl req -x509 -newkey rsa:3072 -nodes -keyout exch.key -out exch.cer -subj /CN=exchange -days 365 2>/dev/null
"$make_sd" --quorum 3 --out sd-3of10.json sdctl/k{1..10}.cer
"$make_sd" --quorum 10 --out sd-10of10.json sdctl/k{1..10}.cer

# az as the harness runs it, minus the harness: a seeded throw-away config, no network.
mkdir azcfg
cp "$venv/sdctl-azure-config/config" azcfg/
sed "s/\"update_time\": \"[^\"]*\"/\"update_time\": \"$(date '+%Y-%m-%d %H:%M:%S.%6N')\"/" \
  "$venv/sdctl-azure-config/versionCheck.json" > azcfg/versionCheck.json
isolate=()
if unshare -n true 2>/dev/null; then isolate=(unshare -n); fi
kinds=(plain openssl sdctl)
# run_az KIND: az on the three keys of KIND (with their passwords when encrypted).
run_az() {
  local pass=()
  if [[ "$1" != plain ]]; then pass=(--passwords @pw @pw @pw); fi
  AZURE_CONFIG_DIR="$work/azcfg" "${isolate[@]}" "$venv/bin/az" keyvault security-domain restore-blob \
    --sd-file sd-3of10.json --sd-exchange-key exch.cer --sd-wrapping-keys "$1"/k{1..3}.key \
    "${pass[@]}" --sd-file-restore-blob "az-$1.json" >/dev/null
}
# run_sdctl KIND [BINARY]: sdctl on the three keys of KIND.
run_sdctl() {
  local pass=()
  if [[ "$1" != plain ]]; then pass=(--passphrase-file pw3); fi
  "${2:-$sdctl}" sd restore-blob --sd-file sd-3of10.json --sd-exchange-key exch.cer \
    --sd-wrapping-keys "$1"/k{1..3}.key "${pass[@]}" --sd-file-restore-blob "our-$1.json" --force >/dev/null
}
run_verify() {
  "$sdctl" sd verify --sd-file sd-10of10.json --sd-wrapping-keys plain/k{1..10}.key >/dev/null
}

now() { echo "$EPOCHREALTIME"; }   # bash built-in: no process spawned
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {print b - a}'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
list() { tr '\n' ' ' < "$1" | xargs printf '%.3f '; }

for k in "${kinds[@]}"; do   # warm the page cache
  run_az "$k"; run_sdctl "$k"; run_sdctl "$k" "$static_sdctl"
  : > "az-$k.times"; : > "sdctl-$k.times"; : > "static-$k.times"
done
run_verify
: > verify.times
timed() { local out=$1 t0 t1; shift; t0=$(now); "$@"; t1=$(now); elapsed "$t0" "$t1" >> "$out"; }
for r in $(seq "$rounds"); do
  for k in "${kinds[@]}"; do
    timed "az-$k.times" run_az "$k"
    timed "sdctl-$k.times" run_sdctl "$k"
    timed "static-$k.times" run_sdctl "$k" "$static_sdctl"
  done
  timed verify.times run_verify
  echo "round $r/$rounds done" >&2
done
declare -A med
for k in "${kinds[@]}"; do
  for w in az sdctl static; do med[$w-$k]=$(median < "$w-$k.times"); done
done
ver_m=$(median < verify.times)
"$open_keys" --rounds "$rounds" --passphrase-file pw3 sdctl/k{1..3}.key > open-keys.txt
one_by_one=$(awk '$1 == "one-by-one" {print $2}' open-keys.txt)
together=$(awk '$1 == "load_wrapping_keys" {print $2}' open-keys.txt)
threads=$(awk '$1 == "threads" {print $2}' open-keys.txt)
sign=$(openssl speed -seconds 3 rsa3072 2>/dev/null | awk '/^rsa 3072 bits/ {sub("s", "", $4); print $4}')
ten=$(awk -v s="$sign" 'BEGIN {print 10 * s}')

az_version=$(grep '^azure-cli==' "$repo/tests/interop/requirements.txt" | cut -d= -f3)
ossl=$(openssl version | cut -d' ' -f1-2)
vendored=$(grep -A1 'name = "openssl-src"' "$repo/Cargo.lock" | sed -n 's/.*+\([0-9.]*\)".*/\1/p')
label() {
  case "$1" in
    plain) echo "unencrypted PKCS#8" ;;
    openssl) echo "openssl-encrypted (PBES2, PBKDF2 2,048 iterations, AES-256-CBC)" ;;
    sdctl) echo "sdctl-made (PBES2, PBKDF2 600,000 iterations, AES-256-CBC)" ;;
  esac
}
secs() { printf '%.3f s' "$1"; }
ratio() { awk -v a="$1" -v s="$2" 'BEGIN {printf "%.0f", a / s}'; }

echo "| restore blob, SD 3 of 10, RSA-3072, 3 keys | median of $rounds | runs (s) |"
echo "|---|---|---|"
for k in "${kinds[@]}"; do
  echo "| \`az keyvault security-domain restore-blob\` (azure-cli $az_version), $(label "$k") keys | $(secs "${med[az-$k]}") | $(list "az-$k.times") |"
  echo "| \`sdctl sd restore-blob\`, default build (system $ossl, dynamic), $(label "$k") keys | $(secs "${med[sdctl-$k]}") | $(list "sdctl-$k.times") |"
  echo "| \`sdctl sd restore-blob\`, air-gapped build (\`--no-default-features --features vendored\`, static OpenSSL $vendored), $(label "$k") keys | $(secs "${med[static-$k]}") | $(list "static-$k.times") |"
done
for k in "${kinds[@]}"; do
  echo "| ratio az ÷ sdctl, default build, $(label "$k") keys | $(ratio "${med[az-$k]}" "${med[sdctl-$k]}")× | |"
  echo "| ratio az ÷ sdctl, air-gapped build, $(label "$k") keys | $(ratio "${med[az-$k]}" "${med[static-$k]}")× | |"
done

cat <<TABLE

| opening the 3 sdctl-made keys (600,000 PBKDF2 iterations each), in one process, default build | median of $rounds |
|---|---|
| one by one (\`load_wrapping_key\` three times) | $one_by_one ms |
| together (\`load_wrapping_keys\`: $threads threads, as \`sd restore-blob\` opens them) | $together ms |
| one by one ÷ together | $(awk -v a="$one_by_one" -v b="$together" 'BEGIN {printf "%.2f", a / b}')× |

| drill, SD 10 of 10, RSA-3072 | time |
|---|---|
| \`sdctl sd verify\` with 10 unencrypted keys (median of $rounds, whole process) | $(printf '%.4f' "$ver_m") s |
| one RSA-3072 private-key operation (\`openssl speed rsa3072\`, sign) | $(printf '%.5f' "$sign") s |
| ten of them | $(printf '%.4f' "$ten") s |
| verify ÷ ten private operations | $(awk -v v="$ver_m" -v t="$ten" 'BEGIN {printf "%.2f", v / t}')× |

Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $ossl, $(date -u +%Y-%m-%d).
TABLE
