#!/usr/bin/env bash
# Every benchmark in bench/ in one run, written as a complete docs/benchmarks.md: the machine
# and the method first, then each script's tables, the goals the issues set and whether this
# run met them. Nothing is written until every script has succeeded.
#
# Usage: bench/all.sh [--rounds N] [--out FILE]
#   --rounds N   one repetition count for every script (also: BENCH_ROUNDS=N). Default: the
#                counts the page has always used: keygen 7, sd 11, shares 11, token keys 11,
#                DR rehearsal 5 per key size. Small counts (1 to 3) only test this script.
#   --out FILE   the page to write (default docs/benchmarks.md).
# The emulator's load phases (bench/emulator.sh) run 5 s each whatever the rounds.
#
# Steps: builds first (the release build, the make-test-sd and shares-bench examples, and the
# air-gapped build through ceremony-scripts/build-offline.sh, which checks it), installs the
# interop harness's venv (tests/interop/setup.sh: the Azure CLI, from PyPI, on first use);
# then, timed, one after the other: keygen.sh, sd.sh, shares.sh, the 16 MiB shares through
# the CLI, token.sh (SoftHSM2 token keys vs key files; needs softhsm2 and opensc, as .ci/run
# installs them), dr.sh with RSA-2048 and with RSA-3072 custodians, emulator.sh.
# Run it on an otherwise idle machine: the page records the load average at the start and
# the end of the measurements, and says so when the machine was busy.
set -euo pipefail

rounds=${BENCH_ROUNDS:-}
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$repo/docs/benchmarks.md
while (($#)); do
  case "$1" in
    --rounds) rounds=${2:?--rounds needs a number}; shift ;;
    --rounds=*) rounds=${1#--rounds=} ;;
    --out) out=${2:?--out needs a file}; shift ;;
    --out=*) out=${1#--out=} ;;
    -h | --help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "bench/all.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ -n "$rounds" && ! "$rounds" =~ ^[1-9][0-9]*$ ]]; then
  echo "bench/all.sh: --rounds must be a positive number, not '$rounds'" >&2
  exit 2
fi
keygen_rounds=${rounds:-7}
sd_rounds=${rounds:-11}
shares_rounds=${rounds:-11}
token_rounds=${rounds:-11}
dr_rounds=${rounds:-5}
dr_op_seconds=0.2
emulator_seconds=5
out=$(realpath -m "$out")
target=$(realpath -m "${CARGO_TARGET_DIR:-$repo/target}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say() { echo "bench/all.sh: $*" >&2; }
now() { echo "$EPOCHREALTIME"; }
seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.0f", b - a}'; }
load1() { cut -d' ' -f1 /proc/loadavg; }
# cell FILE ROW_PREFIX COLUMN: a cell of the Markdown table row starting with ROW_PREFIX,
# without spaces, bold marks or a trailing ×; empty when there is no such row.
cell() {
  awk -F'|' -v p="$2" -v c="$3" 'index($0, p) == 1 {
    v = $c; gsub(/^ +| +$|\*|×/, "", v); print v; exit }' "$1"
}
# need NAME VALUE: VALUE must be a number, else the page would carry a blank.
need() {
  [[ "$2" =~ ^[0-9]+(\.[0-9]+)?$ ]] || {
    say "could not read $1 from a script's output (got '$2'); outputs kept in $work"
    trap - EXIT
    exit 1
  }
}
# goal VALUE OP LIMIT: "Met" or "Not met" (OP is >= or <=).
goal() { awk -v v="$1" -v g="$3" -v op="$2" 'BEGIN {ok = (op == ">=") ? v >= g : v <= g; print ok ? "Met" : "Not met"}'; }
fmt() { awk -v v="$2" -v f="$1" 'BEGIN {printf f, v}'; }

started=$(now)
start_date=$(date -u '+%Y-%m-%d %H:%M')
if awk -v l="$(load1)" 'BEGIN {exit !(l > 0.5)}'; then
  say "load average $(load1): other work is running; figures will be skewed (the page will say so)"
fi

# --- Builds and the harness (not timed) --------------------------------------------------
say "building the release binary and the benchmark examples"
cargo build --release --locked --quiet --manifest-path "$repo/Cargo.toml"
cargo build --release --locked --quiet --manifest-path "$repo/Cargo.toml" --bin sdctl --example make-test-sd --example open-keys-bench
cargo build --release --locked --quiet --manifest-path "$repo/Cargo.toml" --bin sdctl --example emulator-bench
cargo build --release --locked --quiet --manifest-path "$repo/Cargo.toml" --no-default-features --example shares-bench
say "building and checking the air-gapped binary (ceremony-scripts/build-offline.sh)"
if ! bash "$repo/ceremony-scripts/build-offline.sh" >"$work/offline.txt" 2>&1; then
  cat "$work/offline.txt" >&2
  say "the air-gapped build failed its checks (above)"
  exit 1
fi
offline_field() { sed -n "s/^   $1: *//p" "$work/offline.txt" | head -n 1; }
offline_bin=$(offline_field binary)
offline_sha=$(offline_field SHA-256)
offline_openssl=$(offline_field OpenSSL)
offline_rel=${offline_bin#"$repo"/}
[[ -x "$offline_bin" && -n "$offline_sha" ]] || { cat "$work/offline.txt" >&2; say "build-offline.sh named no binary"; exit 1; }
say "installing or checking the interop harness (tests/interop/setup.sh)"
bash "$repo/tests/interop/setup.sh" >/dev/null
az_version=$(grep '^azure-cli==' "$repo/tests/interop/requirements.txt" | cut -d= -f3)
build_seconds=$(seconds_since "$started")

# --- Measurements -------------------------------------------------------------------------
load_start=$(load1)
measure_start=$(now)
run() { # run NAME OUTFILE COMMAND...: runs a script, its tables to OUTFILE, progress on stderr
  local name=$1 file=$2 t0
  shift 2
  say "$name"
  t0=$(now)
  "$@" >"$file"
  say "$name: $(seconds_since "$t0") s"
}
run "keygen.sh $keygen_rounds" "$work/keygen.md" bash "$repo/bench/keygen.sh" "$keygen_rounds"
run "sd.sh $sd_rounds" "$work/sd.md" bash "$repo/bench/sd.sh" "$sd_rounds"
run "shares.sh $shares_rounds" "$work/shares.md" bash "$repo/bench/shares.sh" "$shares_rounds"

# The 16 MiB maximum through the CLI, once: split and combine, files written and fsynced.
say "shares split + combine of 16 MiB through the CLI"
sdctl="$target/release/sdctl"
big=$work/big
mkdir -p "$big"
head -c $((16 << 20)) /dev/urandom >"$big/secret.bin"
timed() { # timed OUTFILE COMMAND...: wall seconds and peak memory (MB, if /usr/bin/time exists)
  local file=$1 t0
  shift
  t0=$(now)
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f '%M' -o "$file.mem" "$@" >/dev/null
  else
    "$@" >/dev/null
  fi
  awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}' >"$file"
}
timed "$big/split" "$sdctl" shares split --threshold 5 --shares 10 --in "$big/secret.bin" --out-dir "$big/shares"
mapfile -t some < <(find "$big/shares" -type f -name '*.share' | sort | head -n 5)
((${#some[@]} == 5)) || { say "shares split wrote no .share files in $big/shares"; ls -l "$big/shares" >&2; exit 1; }
timed "$big/combine" "$sdctl" shares combine "${some[@]}" --out "$big/rebuilt.bin"
cmp -s "$big/secret.bin" "$big/rebuilt.bin" || { say "the 16 MiB secret did not come back"; exit 1; }
big_split=$(cat "$big/split")
big_combine=$(cat "$big/combine")
big_peak=''
if [[ -f "$big/split.mem" ]]; then
  big_peak=$(sort -n "$big/split.mem" "$big/combine.mem" | tail -n 1 | awk '{printf "%.0f", $1 / 1024}')
fi
rm -rf "$big"

run "token.sh $token_rounds" "$work/token.md" bash "$repo/bench/token.sh" "$token_rounds"
run "dr.sh $dr_rounds $dr_op_seconds 2048" "$work/dr2048.md" bash "$repo/bench/dr.sh" "$dr_rounds" "$dr_op_seconds" 2048
run "dr.sh $dr_rounds $dr_op_seconds 3072" "$work/dr3072.md" bash "$repo/bench/dr.sh" "$dr_rounds" "$dr_op_seconds" 3072
run "emulator.sh $emulator_seconds" "$work/emulator.md" bash "$repo/bench/emulator.sh" "$emulator_seconds"
load_end=$(load1)
measure_seconds=$(seconds_since "$measure_start")
total_seconds=$(seconds_since "$started")
end_time=$(date -u '+%H:%M')

# --- Figures read back from the tables ------------------------------------------------------
keygen_ratio=$(cell "$work/keygen.md" '| speed-up' 3); need "keygen speed-up" "$keygen_ratio"
az_default=$(cell "$work/sd.md" '| ratio az ÷ sdctl, default build, openssl-encrypted' 3); need "az ratio (default build)" "$az_default"
az_static=$(cell "$work/sd.md" '| ratio az ÷ sdctl, air-gapped build, openssl-encrypted' 3); need "az ratio (air-gapped build)" "$az_static"
verify_ratio=$(cell "$work/sd.md" '| verify ÷ ten private operations' 3); need "verify ratio" "$verify_ratio"
shares_overhead=$(cell "$work/shares.md" '| overhead' 3); need "shares overhead" "$shares_overhead"
token_ratio=$(cell "$work/token.md" '| ratio token ÷ file' 3); need "token ÷ file ratio" "$token_ratio"
dr_rows() { awk -F'|' '/^\| / && !/^\| step/ && !/^\|---/ {n = $2; v = $3; gsub(/^ +| +$|\*/, "", n); gsub(/^ +| +$|\*/, "", v); print n "\t" v}' "$1"; }
dr_rows "$work/dr2048.md" >"$work/dr2048.tsv"
dr_rows "$work/dr3072.md" >"$work/dr3072.tsv"
dr_total_2048=$(awk -F'\t' '$1 == "total" {print $2}' "$work/dr2048.tsv"); need "DR total (2048)" "$dr_total_2048"
dr_total_3072=$(awk -F'\t' '$1 == "total" {print $2}' "$work/dr3072.tsv"); need "DR total (3072)" "$dr_total_3072"
dr_keys_2048=$(awk -F'\t' '$1 ~ /^keys generate/ {print $2}' "$work/dr2048.tsv"); need "DR keys generate (2048)" "$dr_keys_2048"
dr_keys_3072=$(awk -F'\t' '$1 ~ /^keys generate/ {print $2}' "$work/dr3072.tsv"); need "DR keys generate (3072)" "$dr_keys_3072"
dr_status_2048=$(awk -F'\t' '$1 ~ /^hsm status/ {print $2}' "$work/dr2048.tsv"); need "DR hsm status (2048)" "$dr_status_2048"
dr_table() {
  echo "| step | RSA-2048 custodians | RSA-3072 custodians (sdctl's default) |"
  echo "|---|---:|---:|"
  paste "$work/dr2048.tsv" "$work/dr3072.tsv" | awk -F'\t' '{
    if ($1 != $3) { print "bench/all.sh: dr.sh rows differ: " $1 " / " $3 > "/dev/stderr"; exit 1 }
    if ($1 == "total") print "| **total** | **" $2 "** | **" $4 "** |"; else print "| " $1 " | " $2 " | " $4 " |" }'
}
dr_table >"$work/dr.md"
emulator_sign_1=$(cell "$work/emulator.md" '| sign RS256 (RSA-2048) | 1 |' 4); need "emulator RS256 sign rate" "$emulator_sign_1"
emulator_rest=$(cell "$work/emulator.md" '| at rest' 3); need "emulator memory at rest" "$emulator_rest"
tables() { grep -v '^Machine: ' "$1"; } # the machine is described once, at the top

# --- The machine -----------------------------------------------------------------------------
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs || true)
ram=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
commit="\`$(git -C "$repo" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)\`"
[[ -z "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]] || commit+=" (with uncommitted changes)"
cores=$(nproc)
busy=''
if awk -v s="$load_start" -v e="$load_end" 'BEGIN {exit !(s > 0.5 || e > 1.5)}'; then
  busy="
**The machine was not idle during this run** (load average $load_start at the start of the
measurements, $load_end at the end): other processes shared the CPU, and the figures below
are slower and noisier than the machine can do. Re-run \`bench/all.sh\` on an idle machine.
"
fi
rounds_text="keygen $keygen_rounds, sd $sd_rounds, shares $shares_rounds, token keys $token_rounds, DR rehearsal $dr_rounds per key size"
command_text="bench/all.sh${rounds:+ --rounds $rounds}"
if [[ "$out" != "$repo/docs/benchmarks.md" ]]; then command_text+=" --out $out"; fi

# --- The page ----------------------------------------------------------------------------------
cat >"$work/page.md" <<PAGE
# Benchmarks

Every figure on this page comes from one run of \`bench/all.sh\`, which builds what the
scripts in \`bench/\` need, runs them one after the other on one machine and writes this page
whole. Figures come from those scripts, never from tests. To refresh the page, run
\`bench/all.sh\` again on an idle machine rather than editing figures by hand; each script
also runs on its own (its usage is in its first lines) and prints its Markdown tables.

## This run

| | |
|---|---|
| command | \`$command_text\` (rounds: $rounds_text) |
| date | $start_date–$end_time UTC: $total_seconds s in all, $measure_seconds s of measurements after $build_seconds s of builds |
| machine | $cores cores (\`nproc\`), $cpu, $ram RAM, $(uname -sr) $(uname -m) |
| load average (1 min) | $load_start at the start of the measurements, $load_end at the end |
| Rust | $(rustc -V) |
| OpenSSL, default build | system $(openssl version | sed 's/ (Library.*//'), linked dynamically |
| OpenSSL, air-gapped build | $offline_openssl |
| air-gapped binary | \`$offline_rel\`, SHA-256 \`$offline_sha\`, checked by \`ceremony-scripts/build-offline.sh\` (no network crate, no dynamic OpenSSL, self-test) |
| Azure CLI | azure-cli $az_version from the interop harness's venv (\`tests/interop/\`) |
| commit | $commit |
$busy
Method: nothing is timed until everything is built: the release build (\`cargo build
--release --locked\`), the \`make-test-sd\` and \`shares-bench\` examples, the air-gapped build
(\`--no-default-features --features vendored\`, through \`ceremony-scripts/build-offline.sh\`),
and the interop harness's venv. Then the scripts run one after the other: keygen.sh, sd.sh,
shares.sh, the 16 MiB shares through the CLI, token.sh, dr.sh with RSA-2048 and then RSA-3072
custodians, emulator.sh. Within a script the things compared run interleaved, round after round, so that
drift on the machine hits them alike, and the median is reported. Times are the wall-clock
time of whole processes, measured with bash's \`\$EPOCHREALTIME\` (no timing process spawned),
except the key-share figures, which are timed in-process.

## Custodian key generation (\`bench/keygen.sh\`)

Compares \`sdctl keys generate --count 10 --bits 3072\` with the recipe people use today:
\`openssl req -newkey rsa:3072 -nodes -x509\` run ten times in sequence. The runs are interleaved
(one sdctl run, then one openssl loop) so that drift on the machine hits both alike; the
median of each is reported. RSA prime search makes single runs vary a lot (the runs column
shows how much), which is why it takes the median of several.

Method: \`bench/keygen.sh $keygen_rounds\`, release build, wall-clock time of the whole command
including process start and file writes.

$(tables "$work/keygen.md")

Notes:
- sdctl does more work than the openssl recipe: each private key is encrypted
  (PBKDF2-HMAC-SHA256, 600,000 iterations) where \`-nodes\` writes it in the clear, and it
  writes the manifest. The speed-up comes from generating keys in parallel (one worker per
  core; \`--jobs\` sets it) and from starting one process instead of ten.
- Goal from issue 2: at least 1.5× faster than the sequential openssl loop on 2 cores (this
  machine: $cores). $(goal "$keygen_ratio" '>=' 1.5): **$keygen_ratio×**.

## Security-domain engine (\`bench/sd.sh\`)

\`bench/sd.sh $sd_rounds\`: ten RSA-3072 custodian key pairs made by \`sdctl keys generate\`, each in
three kinds of file: unencrypted PKCS#8 (what Microsoft's guide has openssl write), encrypted
with openssl's defaults (\`openssl pkcs8 -topk8 -v2 aes-256-cbc\`: PBES2, PBKDF2-HMAC-SHA256 with
2,048 iterations), and as sdctl wrote them (600,000 iterations). One exchange key made with
openssl; security domains made by sdctl's HSM-side code (the \`make-test-sd\` example). Every
kind of key is timed in the same rounds, interleaved, on the same SD and exchange key, as
whole-process wall time; az gets the passwords with \`--passwords\` (from 0600 files). az runs
from the interop harness's venv with a seeded config and no network (\`unshare -n\`), without the
harness wrapper's own overhead. The second table opens the three sdctl-made keys in one process
one by one and through \`load_wrapping_keys\` (the \`open-keys-bench\` example): what opening
them on several threads wins.

$(tables "$work/sd.md")

Reading the figures:
- Goal from issue 3: sdctl at least 50× faster than az end to end, with openssl-encrypted
  keys. Air-gapped build:
  **$az_static×, $(goal "$az_static" '>=' 50 | tr '[:upper:]' '[:lower:]')**; it is the binary DESIGN.md asks custodians to run on the offline
  machine, where restore blobs are made. Default build on the system's OpenSSL
  ($(openssl version | cut -d' ' -f1-2), dynamic): **$az_default×, $(goal "$az_default" '>=' 50 | tr '[:upper:]' '[:lower:]')**.
- Where sdctl's time goes with the three openssl-encrypted keys (default build, OpenSSL 3.0.19,
  instructions counted by \`valgrind --tool=callgrind\` on 2026-12-04; not re-measured by this
  script): 188 M instructions, of which the three RSA-3072 private-key operations 122 M
  (constant-time, blinded; blinding set-up 27 M of them; cannot be skipped), PBKDF2 with 2,048
  iterations 45 M (OpenSSL 3.0 copies an HMAC context per iteration), process start (dynamic
  loading 4 M, OpenSSL's initialisation and configuration 2.5 M), first fetches of ciphers and
  the KDF 6 M; JSON, HMAC, AES and writing the file with fsync the rest.
- Keys in PKCS#8 (plain or PBES2 with PBKDF2 and AES-CBC or 3DES-CBC) and plain PKCS#1 are read
  without OpenSSL 3.0's generic decoder (\`src/keys/direct.rs\`: the structure is read with the
  \`der\`/\`pkcs8\` crates; PBKDF2, the cipher and the RSA key stay in OpenSSL). The decoder built
  a chain of every provider's decoders for each key: 201 M → 188 M instructions for the run
  above (about 1 ms). Other formats still go through the decoder.
- Shares are decrypted on every core when every key is a file (\`open_shares\`, since
  2026-12-04): the same run, idle machine, \`perf stat -r 40\`: 17.0 ms on one thread, 15.0 ms
  on two. (Measured on 2026-11-22, before keys skipped the generic decoder, two threads were
  slower; the RSA operation itself takes no shared lock.) Keys on a PKCS#11 token stay on one
  thread. Tried and rejected: LTO + one codegen unit (no measurable change in start-up);
  opening openssl-encrypted keys on two threads (OpenSSL 3.0's PBKDF2 copies an HMAC context
  per iteration, and two threads doing it contend: 14.7 → 18.9 ms of CPU, no shorter).
- Kept: keys are opened on several threads only when at least two have a costly key
  derivation (PBKDF2 ≥ 100,000 iterations or scrypt): the second table shows what that wins
  with sdctl's own keys; with openssl's 2,048 iterations threads cost more than they save.
- The drill on a 10-of-10 domain costs $verify_ratio× its ten RSA private operations done one
  after the other: the shares are decrypted on every core ($cores here), and process start and
  loading ten keys come on top.

## Key shares (\`bench/shares.sh\`)

Split + combine of a 1 MiB random secret at 5-of-10, in memory: sdctl does everything a real
split and combine do (nonce, commitment, the 10 binary records encoded with checksums, 5 of
them decoded and verified, the rebuilt secret proven against the commitment); "blahaj
directly" only deals 10 shares and recovers from 5. Release build, median of
$shares_rounds alternating rounds after one warm-up each, timed in-process.

$(tables "$work/shares.md")

Reading the figures:
- Goal from issue 6: overhead ≤ 1.2×. $(goal "$shares_overhead" '<=' 1.2): **$shares_overhead×**.
- All the time is blahaj's arithmetic: one random polynomial per secret byte, and a Lagrange
  interpolation per byte that recomputes the basis every time (K² table look-ups and
  divisions per byte). Our hashing (SHA-256 over 10 × 1 MiB for checksums and twice over the
  secret for the commitment) costs a few milliseconds.
- sdctl keeps up although it does more: it hands blahaj 64 KiB chunks (to bound memory:
  blahaj keeps a small heap vector per secret byte), which keeps the dealer's working set in
  cache; on the whole MiB at once blahaj allocates a million vectors.
- Typical ceremony secrets (a passphrase, a PKCS#12 of a few KiB) split and combine in well
  under a millisecond. The 16 MiB maximum through the CLI (release build, 5-of-10, files
  written and fsynced, one run): \`split\` $big_split s, \`combine\` $big_combine s${big_peak:+, $big_peak MB peak memory (\`/usr/bin/time\`)}.

## Custodian keys on PKCS#11 tokens (\`bench/token.sh\`)

\`bench/token.sh $token_rounds\`: five RSA-3072 custodians made with openssl, a 3-of-5 security
domain made by sdctl's HSM-side code (the \`make-test-sd\` example), and the keys of three
custodians imported onto three SoftHSM2 tokens (one token each, its certificate on the token
too) in a SoftHSM2 of the script's own (\`SOFTHSM2_CONF\` in a temporary directory). Then
\`sdctl sd verify\` with the three token keys (\`--pkcs11-module\`, PINs from a 0600
\`--pin-file\`) and with the same three keys as files, interleaved, whole-process wall time.

$(tables "$work/token.md")

Reading the figures: with tokens, sdctl loads the PKCS#11 module, opens a session and logs
in on each token, finds the key and its certificate, and has the token do the RSA operation
(SoftHSM2 does RSA-OAEP with SHA-1 only, so the share's RSA-OAEP-256 is decrypted raw on the
token and OAEP-decoded on the host: \`token-raw+host-oaep\`). Token ÷ file: **$token_ratio×**.
SoftHSM2 is a software token: a smartcard or a YubiKey does each RSA operation in tens to
hundreds of milliseconds, which this benchmark cannot show.

## Disaster-recovery rehearsal through the CLI (\`bench/dr.sh\`)

The rehearsal of issue 5, each step a separate \`sdctl\` process (release build) against a
release-build emulator on loopback: three custodians generate passphrase-protected keys,
HSM A is activated (\`hsm download\`, which includes the keys check, the pre-POST status read,
the save, the check and the wait), the drill (\`sd verify\` with two keys), a key and its
backup on A (two \`curl\` calls), \`hsm init-recovery\` on B, \`sd restore-blob\` offline,
\`hsm upload --no-wait\`, \`hsm wait --target upload\`, \`hsm status\`, and A's key backup
restored on B (\`curl\`). The emulator keeps each operation InProgress for $dr_op_seconds s
(\`--operation-seconds $dr_op_seconds\`; the real service takes minutes). \`bench/dr.sh $dr_rounds $dr_op_seconds 2048\`
and \`bench/dr.sh $dr_rounds $dr_op_seconds 3072\`: median of $dr_rounds runs, ms:

$(cat "$work/dr.md")

Reading the figures:
- Goal from issue 5: the whole rehearsal in ≤ 3 s. With RSA-2048 custodians (the size of
  the Azure documentation's \`openssl req -newkey rsa:2048\`): $(goal "$dr_total_2048" '<=' 3000 | tr '[:upper:]' '[:lower:]'), **$(fmt '%.2f' "$(awk -v t="$dr_total_2048" 'BEGIN {print t / 1000}')") s**.
  With sdctl's default RSA-3072: $(goal "$dr_total_3072" '<=' 3000 | tr '[:upper:]' '[:lower:]'), **$(fmt '%.2f' "$(awk -v t="$dr_total_3072" 'BEGIN {print t / 1000}')") s**;
  key generation accounts for $(fmt '%.2f' "$(awk -v a="$dr_keys_3072" -v b="$dr_keys_2048" 'BEGIN {print (a - b) / 1000}')") s of the $(fmt '%.2f' "$(awk -v a="$dr_total_3072" -v b="$dr_total_2048" 'BEGIN {print (a - b) / 1000}')") s difference. From the activation on
  (everything but key generation) the rehearsal takes $(fmt '%.2f' "$(awk -v t="$dr_total_2048" -v k="$dr_keys_2048" 'BEGIN {print (t - k) / 1000}')") s with RSA-2048 and $(fmt '%.2f' "$(awk -v t="$dr_total_3072" -v k="$dr_keys_3072" 'BEGIN {print (t - k) / 1000}')") s with RSA-3072.
- Where the time goes: the passphrase KDF (PBKDF2-HMAC-SHA256, 600 000 iterations per key)
  in \`keys generate\`, \`sd verify\` and \`sd restore-blob\`, RSA key generation, and the
  emulator's $dr_op_seconds s operations plus the first poll interval (0.25 s) in \`hsm download\`
  and \`hsm wait\`. The HTTP calls themselves take a few milliseconds each on loopback
  (\`hsm status\`, two reads: $dr_status_2048 ms including process start, TLS handshake and
  token-file checks).
- The integration test \`disaster_recovery_rehearsal_through_the_cli\` (debug build,
  in-process emulator) prints its own timing with \`--nocapture\`; it is not a timed
  assertion.

## The emulator under load (\`bench/emulator.sh\`)

\`bench/emulator.sh $emulator_seconds\`: a release-build \`sdctl emulator serve\` on 127.0.0.1, its HSM
activated with \`sdctl hsm download\`, an RSA-2048 and a P-256 key created; then, one after the
other, $emulator_seconds s of \`sign\` with each key and of \`get key\`, first from one client, then from
32 concurrent clients (each its own HTTPS connection, requests back to back; connections
made and warmed before the timing). The load generator (the \`emulator-bench\` example, tokio
with 2 worker threads) runs on the same $cores cores as the emulator, so the figures are what
one machine does with both, not the emulator alone. Memory is the emulator's resident set
(\`VmRSS\`, sampled every 100 ms under load; \`VmHWM\` for the peak) from \`/proc\`.

$(tables "$work/emulator.md")

Reading the figures: every request is a full HTTPS request with a bearer token the emulator
verifies (RS256 signature check) and an RBAC check before the key operation; \`sign\` is one
private-key operation through OpenSSL. The emulator is a test double for application test
suites: these figures say how many requests per second such a suite can send before the
emulator is the bottleneck (one client: $emulator_sign_1 RS256 signatures/s), and that it
needs $emulator_rest MiB at rest.
PAGE

mkdir -p "$(dirname "$out")"
cp "$work/page.md" "$out.tmp"
mv -f "$out.tmp" "$out"
say "wrote $out ($total_seconds s in all: $build_seconds s of builds, $measure_seconds s of measurements)"
