#!/usr/bin/env bash
# Benchmark of custodian keys on PKCS#11 tokens, as a Markdown table on stdout:
# `sdctl sd verify` of a 3-of-5 security domain with 3 keys on SoftHSM2 tokens (one token
# per custodian, the private-key operation on the token) vs the same 3 keys as files.
# Usage: bench/token.sh [ROUNDS] [BITS]   (default 11 rounds, RSA-3072 as sdctl generates)
# Needs SoftHSM2 (Debian softhsm2) and OpenSC's pkcs11-tool (Debian opensc), as .ci/run
# installs them. Everything is local: a SoftHSM2 of its own in a temporary directory (its
# own SOFTHSM2_CONF), no network.
set -euo pipefail
rounds=${1:-11}
bits=${2:-3072}
module=/usr/lib/softhsm/libsofthsm2.so
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "bench/token.sh: ROUNDS must be a positive number" >&2; exit 2; }
[[ "$bits" =~ ^(2048|3072|4096)$ ]] || { echo "bench/token.sh: BITS must be 2048, 3072 or 4096" >&2; exit 2; }
for tool in softhsm2-util pkcs11-tool openssl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench/token.sh: $tool is not installed (softhsm2, opensc, openssl)" >&2; exit 1; }
done
[[ -e "$module" ]] || { echo "bench/token.sh: $module is absent (install softhsm2)" >&2; exit 1; }
repo=$(cd "$(dirname "$0")/.." && pwd)
# cargo's target directory: $CARGO_TARGET_DIR if set (relative to where this was started), else target/.
target=$(realpath -m "${CARGO_TARGET_DIR:-$repo/target}")
cargo build --release --locked --quiet --manifest-path "$repo/Cargo.toml" --bin sdctl --example make-test-sd
sdctl="$target/release/sdctl"
make_sd="$target/release/examples/make-test-sd"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# A SoftHSM2 of its own; SOFTHSM2_CONF is exported for this script's commands only.
mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$work" >softhsm2.conf
export SOFTHSM2_CONF="$work/softhsm2.conf"

for i in $(seq 5); do
  openssl req -x509 -newkey "rsa:$bits" -nodes -keyout "k$i.key" -out "k$i.cer" -subj "/CN=k$i" -days 365 2>/dev/null
done
"$make_sd" --quorum 3 --out sd.json k{1..5}.cer

# Custodians 1..3 on tokens tok1..tok3: the key imported (unencrypted PKCS#8, which
# softhsm2-util needs; deleted after), the certificate on the token beside it. The PINs are
# this throw-away setup's own; sdctl reads them from a 0600 PIN file, one line per token.
(umask 077 && : >pins.txt)
uris=()
for i in 1 2 3; do
  pin="1000$i$i"
  softhsm2-util --init-token --free --label "tok$i" --so-pin 87654321 --pin "$pin" >/dev/null
  openssl pkcs8 -topk8 -nocrypt -in "k$i.key" -out "k$i.pk8"
  softhsm2-util --import "k$i.pk8" --token "tok$i" --label "sdctl-k$i" --id "0$i" --pin "$pin" >/dev/null
  rm -f "k$i.pk8"
  openssl x509 -in "k$i.cer" -outform DER -out "k$i.der"
  pkcs11-tool --module "$module" --token-label "tok$i" --write-object "k$i.der" --type cert \
    --id "0$i" --label "sdctl-k$i" --login --pin "$pin" >/dev/null
  echo "$pin" >>pins.txt
  uris+=("pkcs11:token=tok$i;object=sdctl-k$i")
done

run_file() {
  "$sdctl" sd verify --sd-file sd.json --sd-wrapping-keys k1.key k2.key k3.key >/dev/null
}
run_token() {
  "$sdctl" sd verify --sd-file sd.json --pkcs11-module "$module" --pin-file pins.txt \
    --sd-wrapping-keys "${uris[@]}" >/dev/null
}

now() { echo "$EPOCHREALTIME"; }   # bash built-in: no process spawned
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {print b - a}'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
list() { tr '\n' ' ' < "$1" | xargs printf '%.3f '; }

run_file; run_token   # warm the page cache (and prove both work before timing)
: > file.times; : > token.times
for r in $(seq "$rounds"); do
  t0=$(now); run_file; t1=$(now); elapsed "$t0" "$t1" >> file.times
  t0=$(now); run_token; t1=$(now); elapsed "$t0" "$t1" >> token.times
  echo "round $r/$rounds done" >&2
done
file_m=$(median < file.times)
token_m=$(median < token.times)
softhsm=$(softhsm2-util --version 2>/dev/null | head -n 1)

cat <<TABLE
| \`sd verify\`, SD 3 of 5, RSA-$bits, 3 keys | median of $rounds | runs (s) |
|---|---|---|
| 3 key files (unencrypted PKCS#8, certificates beside them) | $(printf '%.3f' "$file_m") s | $(list file.times) |
| 3 SoftHSM2 $softhsm token keys (3 tokens, PIN file, certificates on the tokens) | $(printf '%.3f' "$token_m") s | $(list token.times) |
| ratio token ÷ file | $(awk -v t="$token_m" -v f="$file_m" 'BEGIN {printf "%.2f", t / f}')× | |

Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(openssl version | cut -d' ' -f1-2), $(date -u +%Y-%m-%d).
TABLE
