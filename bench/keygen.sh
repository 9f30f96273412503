#!/usr/bin/env bash
# Benchmark: `sdctl keys generate --count 10 --bits 3072` against the documented openssl
# recipe (`openssl req -newkey rsa:3072 -nodes -x509`, ten times in sequence).
# Runs are interleaved; prints the median of ROUNDS runs of each as a Markdown table.
# Usage: bench/keygen.sh [ROUNDS]   (default 7)
set -euo pipefail
rounds=${1:-7}
repo=$(cd "$(dirname "$0")/.." && pwd)
# cargo's target directory: $CARGO_TARGET_DIR if set (relative to where this was started), else target/.
target=$(realpath -m "${CARGO_TARGET_DIR:-$repo/target}")
cargo build --release --locked --quiet --manifest-path "$repo/Cargo.toml"
sdctl="$target/release/sdctl"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077
# Ten random passphrases in a 0600 file: never on argv, never in the environment.
for _ in $(seq 10); do openssl rand -hex 16; done > "$work/pass.txt"

now() { echo "$EPOCHREALTIME"; }   # bash built-in: no process spawned
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

: > "$work/sdctl.times"
: > "$work/openssl.times"
for r in $(seq "$rounds"); do
  t0=$(now)
  "$sdctl" keys generate --count 10 --bits 3072 --out-dir "$work/s$r" --passphrase-file "$work/pass.txt" >/dev/null
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}' >> "$work/sdctl.times"
  mkdir "$work/o$r"
  t0=$(now)
  for i in $(seq 10); do
    openssl req -newkey rsa:3072 -nodes -x509 -days 730 -subj "/CN=custodian$i" \
      -keyout "$work/o$r/custodian$i.key" -out "$work/o$r/custodian$i.cer" 2>/dev/null
  done
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}' >> "$work/openssl.times"
  rm -rf "$work/s$r" "$work/o$r"
  echo "round $r/$rounds: sdctl $(tail -1 "$work/sdctl.times") s, openssl $(tail -1 "$work/openssl.times") s" >&2
done
s=$(median < "$work/sdctl.times")
o=$(median < "$work/openssl.times")
ratio=$(awk -v o="$o" -v s="$s" 'BEGIN {print o / s}')
cat <<TABLE
| what (10 custodians, RSA-3072) | median of $rounds runs | runs (s) |
|---|---|---|
| \`sdctl keys generate --count 10 --bits 3072\` (keys encrypted: PBKDF2 600k + AES-256) | $(printf '%.2f' "$s") s | $(tr '\n' ' ' < "$work/sdctl.times" | xargs printf '%.2f ') |
| \`openssl req -newkey rsa:3072 -nodes -x509\` ×10 in sequence (keys unencrypted) | $(printf '%.2f' "$o") s | $(tr '\n' ' ' < "$work/openssl.times" | xargs printf '%.2f ') |
| speed-up (openssl ÷ sdctl) | $(printf '%.2f' "$ratio")× | |

Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(openssl version | cut -d' ' -f1-2), $(date -u +%Y-%m-%d).
TABLE
