#!/usr/bin/env bash
# build-offline.sh -- builds the sdctl for the AIR-GAPPED machine and proves it before anyone
# carries it there: no network code, OpenSSL linked statically (built from source by the
# openssl-src crate). Run it on the build machine (it needs cargo and a C toolchain), not on
# the air-gapped machine. In this order:
#
#   1. the tools: cargo and rustc, a C compiler, make, and perl with the core modules
#      OpenSSL's Configure uses (openssl-src builds OpenSSL with them); ldd and sha256sum;
#   2. the dependency graph: `cargo tree --no-default-features -e normal`, without and with
#      `--features vendored`, lists no HTTP, TLS, async-network or Azure SDK crate
#      (DENIED_CRATES below); a failure here stops before the build;
#   3. the build: cargo build --release --locked --no-default-features --features vendored,
#      for the host target given explicitly, so the binary lands in
#      TARGET_DIR/HOST/release/sdctl and never overwrites the full build's
#      TARGET_DIR/release/sdctl (both can live in one target directory, and its cache);
#      reproducibly (reproducible-env.sh): no path of this machine, no clock time in the
#      binary, so a build of the same commit elsewhere gives the same bytes;
#   4. the binary: ldd (and the ELF's NEEDED entries) list no libssl or libcrypto; it has no
#      online command (hsm, emulator) and no kill-test hook (the name
#      SDCTL_TEST_PAUSE_BEFORE_RENAME does not appear in it); it imports no libc function
#      that opens a connection, listens or resolves a host name (DENIED_IMPORTS below);
#   5. a self-test with no network: the binary makes three custodians' keys (keys generate,
#      passphrase file), a security domain for them is made with the openssl CLI alone
#      (the documented format, none of sdctl's code), `sd verify` opens it with a quorum of
#      two keys, and a damaged copy is refused; where SoftHSM2 is installed, one key moved
#      onto a fresh SoftHSM2 token opens its share on the token (module loaded at run time);
#   6. the record: path, size, version, the OpenSSL it embeds, the commit and toolchain it
#      was built from, and its SHA-256 (hex, in groups of four as offline-preflight.sh shows
#      it on the air-gapped machine, and as a `sha256sum -c` line), with the recipe that
#      rebuilds it; given --expect-sha256, the digest must be that one (a published
#      release's, docs/reproducible-build.md).
#
# Any failed check ends with exit 1 and [FAIL] lines: do not carry that binary.
# The target directory is --target-dir DIR, else $CARGO_TARGET_DIR, else cargo's default
# (this repository's target/).

set -euo pipefail
# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=SCRIPTDIR/reproducible-env.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/reproducible-env.sh"

usage() {
  cat <<EOF
Usage: $PROG [--target-dir DIR] [--expect-sha256 HEX] [--skip-self-test]

Builds the air-gapped sdctl (cargo build --release --locked --no-default-features
--features vendored: no network code, static OpenSSL) and checks it: no HTTP/TLS/async
crate in its dependency graph, no libssl or libcrypto in ldd, no online command, no test
hook, no libc import that connects or resolves names, and a self-test (keys generate, sd
verify) with no network. Prints the binary's path, size, embedded OpenSSL and SHA-256 for
the ceremony record. The build is reproducible: the same commit built with the same rustc
and C compiler gives the same SHA-256 in any directory, at any time, by any user
(docs/reproducible-build.md).

  --target-dir DIR      cargo's target directory (default: \$CARGO_TARGET_DIR, else target/)
  --expect-sha256 HEX   fail unless the binary's SHA-256 is HEX (a published release's,
                        from its SHA256SUMS): an auditor's rebuild
  --skip-self-test      do not run the keys generate / sd verify self-test
  -h, --help            this help

Example (an auditor rebuilding release 0.1.0 from its commit):
  git checkout COMMIT && bash ceremony-scripts/build-offline.sh --expect-sha256 \\
    \$(awk '/air-gapped/ { print \$1 }' SHA256SUMS)

Needs: cargo, a C compiler, make, perl (with IPC::Cmd: Debian's 'perl' package), ldd,
sha256sum, and the openssl CLI for the self-test. The first build compiles OpenSSL from
source: several minutes.
Exit status: 0 built and checked; 1 a check failed (do not use the binary); 2 bad usage or
a missing tool.
EOF
}

# Crates that mean network code: HTTP clients and servers, TLS stacks, async runtimes and
# socket layers, the Azure SDK. A name matches exactly, or by prefix where it ends in '*'.
DENIED_CRATES=(
  'hyper*' 'h2' 'h3*' 'http' 'http-body*' 'httparse' 'httpdate' 'reqwest*' 'ureq' 'isahc'
  'curl' 'curl-sys' 'surf' 'attohttpc' 'axum*' 'tower*' 'actix*' 'warp' 'tonic*' 'tungstenite'
  'tokio*' 'mio' 'socket2' 'async-std' 'async-io' 'async-net' 'smol' 'quinn*' 'trust-dns*' 'hickory*'
  'rustls*' 'native-tls' 'ring' 'aws-lc*' 'webpki*' 'boring*' 'schannel' 'security-framework*'
  'openssl-probe' 'azure_*' 'typespec*'
)

# libc functions an offline tool never needs: opening a connection, listening, resolving a
# host name. (The static OpenSSL brings socket/bind/accept with its BIO layer; those alone
# reach nothing.)
DENIED_IMPORTS=(
  connect listen sendto getaddrinfo getaddrinfo_a gethostbyname gethostbyname_r
  gethostbyname2 gethostbyname2_r res_query res_search res_nquery res_nsearch
)

# The environment variable of the kill tests' hook (src/files.rs, PAUSE_HOOK).
TEST_HOOK=SDCTL_TEST_PAUSE_BEFORE_RENAME

target_dir=${CARGO_TARGET_DIR:-}
self_test=1
expected=''
while (($#)); do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --target-dir)
      (($# >= 2)) || die "--target-dir needs a directory"
      target_dir=$2
      shift
      ;;
    --target-dir=*) target_dir=${1#--target-dir=} ;;
    --expect-sha256)
      (($# >= 2)) || die "--expect-sha256 needs a SHA-256 (64 hex digits)"
      expected=$2
      shift
      ;;
    --expect-sha256=*) expected=${1#--expect-sha256=} ;;
    --skip-self-test) self_test=0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done

if [[ -n "$expected" ]]; then
  expected=${expected,,}
  [[ "$expected" =~ ^[0-9a-f]{64}$ ]] || die "--expect-sha256: '$expected' is not a SHA-256 (64 hex digits)"
fi

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
manifest="$repo/Cargo.toml"
[[ -f "$manifest" ]] || die "$manifest: not found (run this script from the sdctl repository)"
# Always explicit (a cargo configuration file may name another): the reproducible build
# writes this path as /target in the binary.
target_dir=${target_dir:-$repo/target}
mkdir -p -- "$target_dir"
target_dir=$(cd -- "$target_dir" && pwd -P)
cargo_target=(--target-dir "$target_dir")

work=$(mktemp -d "${TMPDIR:-/tmp}/sdctl-build-offline.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

banner "Air-gapped sdctl: static build and checks"

# ---------------------------------------------------------------------------------------
step "1. Tools"
for tool in cargo rustc make perl ldd sha256sum; do
  if command -v "$tool" >/dev/null 2>&1; then
    pass "$tool: $(command -v "$tool")"
  else
    fail "$tool is missing"
  fi
done
if command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1; then
  pass "C compiler: $(command -v cc || command -v gcc)"
else
  fail "no C compiler (cc or gcc): apt-get install gcc"
fi
# openssl-src runs OpenSSL's Configure, which needs Perl core modules that Debian keeps out of
# perl-base (IPC::Cmd, in the 'perl' package).
if command -v perl >/dev/null 2>&1; then
  if perl -MIPC::Cmd -MFile::Compare -MFile::Copy -MFindBin -MPOSIX -e 1 2>/dev/null; then
    pass "perl has the modules OpenSSL's Configure needs (IPC::Cmd, File::Compare, FindBin...)"
  else
    fail "perl lacks core modules OpenSSL's Configure needs (IPC::Cmd...): apt-get install perl"
  fi
fi
if ((self_test)) && ! command -v openssl >/dev/null 2>&1; then
  fail "the openssl CLI (for the self-test) is missing: apt-get install openssl, or --skip-self-test"
fi
if ((FAILURES > 0)); then
  banner "FAILED: $FAILURES tool(s) missing. Nothing was built."
  exit 2
fi
host=$(rustc -vV | sed -n 's/^host: //p')
[[ -n "$host" ]] || die "rustc -vV names no host target"
info "$(rustc -V); host target $host"

# ---------------------------------------------------------------------------------------
step "2. Dependency graph: no HTTP, TLS, async-network or Azure SDK crate"
# denied_in FILE: the crates of a `cargo tree --prefix none` listing that DENIED_CRATES names.
denied_in() {
  local name pattern
  while read -r name _; do
    for pattern in "${DENIED_CRATES[@]}"; do
      # shellcheck disable=SC2254 # the pattern is a glob on purpose
      case "$name" in
        $pattern)
          printf '%s\n' "$name"
          break
          ;;
      esac
    done
  done <"$1" | sort -u
}
for features in '' vendored; do
  label="--no-default-features${features:+ --features $features}"
  tree="$work/tree${features:+-$features}.txt"
  args=(--no-default-features)
  [[ -n "$features" ]] && args+=(--features "$features")
  if ! cargo tree --locked --manifest-path "$manifest" "${args[@]}" -e normal --target "$host" \
    --prefix none >"$tree" 2>"$work/tree.err"; then
    sed 's/^/   /' "$work/tree.err"
    fail "cargo tree --locked $label failed (above)"
    continue
  fi
  count=$(awk '{ print $1 }' "$tree" | sort -u | wc -l)
  mapfile -t denied < <(denied_in "$tree")
  if ((${#denied[@]} == 0)); then
    pass "cargo tree --locked $label -e normal: $count crates, none denied"
  else
    fail "cargo tree --locked $label -e normal lists network crates: ${denied[*]}"
    info "(the 'online' feature, or a new dependency, reached the offline build: see 'cargo tree -i CRATE $label -e normal')"
  fi
done
if ((FAILURES > 0)); then
  banner "FAILED: the offline build would carry network code. Nothing was built."
  exit 1
fi

# ---------------------------------------------------------------------------------------
step "3. Build: cargo build --release --locked --no-default-features --features vendored --target $host"
info "(the first build compiles OpenSSL from source: several minutes)"
reproducible_environment "$repo" "$target_dir" "$host"
info "reproducible: SOURCE_DATE_EPOCH=$REPRODUCIBLE_EPOCH (the commit's time), paths written as /sdctl, /cargo-home, /target"
build_command=(reproducible_cargo build --release --locked --manifest-path "$manifest" "${cargo_target[@]}"
  --no-default-features --features vendored --target "$host" --bin sdctl
  --message-format=json-render-diagnostics)
if ! "${build_command[@]}" >"$work/build.json"; then
  fail "cargo build failed (above)"
  banner "FAILED: the build failed."
  exit 1
fi
# cargo's JSON messages name the binary it made and where openssl-src installed OpenSSL.
bin=$(grep '"reason":"compiler-artifact"' "$work/build.json" | grep '"kind":\["bin"\]' |
  grep '"name":"sdctl"' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
openssl_out=$(grep '"reason":"build-script-executed"' "$work/build.json" |
  grep -E '"package_id":"[^"]*openssl-sys[@#]' | sed -n 's/.*"out_dir":"\([^"]*\)".*/\1/p' | tail -n 1)
[[ -n "$bin" && -x "$bin" ]] || die "cargo did not report the sdctl binary it built" 1
pass "built $bin"

# ---------------------------------------------------------------------------------------
step "4. The binary: static OpenSSL, no network code"
if ldd_out=$(ldd "$bin" 2>&1); then
  printf '%s\n' "$ldd_out" | sed 's/^[[:space:]]*/   ldd: /'
else
  # A fully static binary: ldd says "not a dynamic executable" and fails; nothing is linked.
  info "ldd: $ldd_out"
fi
if grep -Eq 'lib(ssl|crypto)[.-]' <<<"$ldd_out"; then
  fail "ldd lists a dynamic OpenSSL: $(grep -Eo 'lib(ssl|crypto)[^ ]*' <<<"$ldd_out" | sort -u | tr '\n' ' ')"
else
  pass "ldd lists no libssl and no libcrypto"
fi
if command -v readelf >/dev/null 2>&1; then
  needed=$(readelf -d "$bin" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p' | tr '\n' ' ')
  info "NEEDED (readelf -d): ${needed:-none}"
  if grep -Eq 'lib(ssl|crypto)[.-]' <<<"$needed"; then
    fail "the ELF header asks the loader for a dynamic OpenSSL: $needed"
  fi
else
  info "(readelf is not installed: NEEDED entries not read)"
fi
if "$bin" hsm --help >/dev/null 2>&1 || "$bin" emulator --help >/dev/null 2>&1; then
  fail "the binary has online commands (hsm, emulator): it was built with the 'online' feature"
else
  pass "no online command (hsm, emulator)"
fi
# The kill tests' hook (src/files.rs) is compiled into debug builds only: its variable's name
# in a release binary would mean the hook is there too.
hook_hits=$(grep -c -a -- "$TEST_HOOK" "$bin" || true)
if [[ "$hook_hits" == 0 ]]; then
  pass "no test hook ($TEST_HOOK does not appear in the binary)"
else
  fail "the binary carries the kill tests' hook ($TEST_HOOK found $hook_hits time(s)): it is a debug build"
fi
# The reproducible build writes no path of this machine into the binary: not the checkout,
# not the target directory, not cargo's home (the crates' sources), not the home directory.
mapfile -t leaked < <(machine_paths_in "$bin" "$repo" "$target_dir" "${CARGO_HOME:-$HOME/.cargo}" "$HOME")
if ((${#leaked[@]} == 0)); then
  pass "names no path of this machine (checkout, target directory, cargo home, home directory)"
else
  fail "the binary names paths of this machine, so a build elsewhere differs: ${leaked[*]}"
fi
# What the binary says of itself (sdctl --version: build kind and the OpenSSL it runs on).
self_report=$("$bin" --version 2>&1) || self_report=''
if grep -qxF 'build:   air-gapped (no network code)' <<<"$self_report" &&
  grep -q '^OpenSSL: .*(static, compiled in)$' <<<"$self_report"; then
  pass "it reports itself air-gapped, with OpenSSL compiled in"
else
  fail "its --version does not report an air-gapped build with OpenSSL compiled in: $(tr '\n' '|' <<<"$self_report")"
fi
if command -v nm >/dev/null 2>&1; then
  mapfile -t imports < <(nm -D --undefined-only "$bin" 2>/dev/null | awk '{ sub(/@.*/, "", $NF); print $NF }' | sort -u)
  declare -A imported=()
  for symbol in "${imports[@]}"; do imported[$symbol]=1; done
  found=()
  for symbol in "${DENIED_IMPORTS[@]}"; do
    if [[ -n "${imported[$symbol]:-}" ]]; then found+=("$symbol"); fi
  done
  sockets=''
  for symbol in socket bind accept accept4 setsockopt recvfrom recvmsg sendmsg; do
    if [[ -n "${imported[$symbol]:-}" ]]; then sockets+="$symbol "; fi
  done
  if ((${#found[@]} == 0)); then
    pass "imports none of: ${DENIED_IMPORTS[*]}"
  else
    fail "the binary imports libc functions that reach the network: ${found[*]}"
  fi
  if [[ -n "$sockets" ]]; then
    # Other socket calls: say which functions make them (objdump), for the record.
    callers=''
    if command -v objdump >/dev/null 2>&1; then
      callers=$(objdump -d --no-show-raw-insn "$bin" 2>/dev/null | awk '
        /^[0-9a-f]+ <.*>:$/ { fn = $2; gsub(/[<>:]/, "", fn) }
        /call.*<(socket|bind|accept4?|setsockopt|recvfrom|recvmsg|sendmsg)@plt>/ { print fn }' |
        sort -u | tr '\n' ' ')
    fi
    if [[ -n "$callers" ]] && ! tr ' ' '\n' <<<"$callers" | grep -q -v -e '^afalg_' -e '^$'; then
      info "(${sockets% }: imported only for OpenSSL's afalg engine (${callers% }),"
      info " which opens AF_ALG sockets to the kernel's crypto API: no network)"
    else
      info "(other socket calls imported: ${sockets% }${callers:+; called by ${callers% }})"
    fi
  fi
else
  warn "nm (binutils) is not installed: the binary's libc imports were not checked"
fi

# ---------------------------------------------------------------------------------------
# A security domain made with the openssl CLI, following the format docs/formats.md documents
# (version 2: GF(257) shares in RSA-OAEP-256 JWEs, data in dir A256CBC-HS512 JWEs under
# SP 800-108 keys). Its master key is throw-away test data.

hex_of() { od -An -v -tx1 | tr -d ' \n'; }                 # stdin -> lowercase hex
bytes_of() { # hex -> bytes on stdout
  local hex=$1 escaped='' i
  for ((i = 0; i < ${#hex}; i += 2)); do escaped+="\\x${hex:i:2}"; done
  printf '%b' "$escaped"
}
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; } # stdin -> unpadded base64url

# jwe_seal HEADER_JSON WRAPPED_KEY_HEX CEK_HEX PLAINTEXT_HEX: a compact JWE, A256CBC-HS512
# (RFC 7518 5.2: MAC key the first 32 bytes of the CEK, AES-256-CBC key the last 32).
jwe_seal() {
  local header=$1 wrapped=$2 cek=$3 plaintext=$4 aad iv ct al tag
  aad=$(printf '%s' "$header" | b64url)
  iv=$(openssl rand -hex 16)
  ct=$(bytes_of "$plaintext" | openssl enc -aes-256-cbc -K "${cek:64:64}" -iv "$iv" | hex_of)
  al=$(printf '%016x' $((${#aad} * 8)))
  tag=$({
    printf '%s' "$aad"
    bytes_of "$iv$ct$al"
  } | openssl dgst -sha512 -mac HMAC -macopt "hexkey:${cek:0:64}" -binary | hex_of)
  printf '%s.%s.%s.%s.%s\n' "$aad" "$(bytes_of "$wrapped" | b64url)" "$(bytes_of "$iv" | b64url)" \
    "$(bytes_of "$ct" | b64url)" "$(bytes_of "${tag:0:64}" | b64url)"
}

# make_sd QUORUM OUT CERT...: a version 2 security domain for the certificates.
make_sd() {
  local quorum=$1 out=$2 master cert cek wrapped x5t share x i k m y v tag key plain
  local -a coefficients=() shares=() data=()
  shift 2
  master=$(openssl rand -hex 32)
  for ((i = 0; i < 32 * (quorum - 1); i++)); do coefficients+=($((RANDOM % 257))); done
  x=0
  for cert in "$@"; do
    x=$((x + 1))
    share=''
    for ((i = 0; i < 32; i++)); do
      m=$((16#${master:2*i:2}))
      y=$m
      for ((k = 1; k < quorum; k++)); do
        y=$(((y + coefficients[i * (quorum - 1) + k - 1] * x ** k) % 257))
      done
      v=$(((x << 9) | y))
      share+=$(printf '%02x%02x' $((v & 255)) $((v >> 8)))
    done
    cek=$(openssl rand -hex 64)
    wrapped=$(bytes_of "$cek" | openssl pkeyutl -encrypt -certin -inkey "$cert" -pkeyopt rsa_padding_mode:oaep \
      -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 | hex_of)
    x5t=$(openssl x509 -in "$cert" -outform DER | openssl dgst -sha256 -binary | b64url)
    shares+=("{\"enc_key\":\"$(jwe_seal '{"alg":"RSA-OAEP-256","enc":"A256CBC-HS512"}' "$wrapped" "$cek" "$share")\",\"x5t_256\":\"$x5t\"}")
  done
  for tag in selftest-config selftest-keys; do
    # SP 800-108 counter mode, HMAC-SHA-512: [1]32 || label || 0x00 || context "" || [512]32.
    key=$(bytes_of "00000001$(printf '%s' "$tag" | hex_of)0000000200" |
      openssl dgst -sha512 -mac HMAC -macopt "hexkey:$master" -binary | hex_of)
    plain=$(openssl rand -hex 300)
    data+=("{\"compact_jwe\":\"$(jwe_seal "{\"alg\":\"dir\",\"enc\":\"A256CBC-HS512\",\"kid\":\"$tag\"}" '' "$key" "$plain")\",\"tag\":\"$tag\"}")
  done
  local IFS=,
  printf '{"EncData":{"data":[%s],"kdf":"sp108_kdf"},"SharedKeys":{"enc_shares":[%s],"key_algorithm":"shamir_share","required":%d},"version":2}\n' \
    "${data[*]}" "${shares[*]}" "$quorum" >"$out"
}

# With SoftHSM2 installed: custodian2's key moved onto a fresh token of its own (a
# throw-away token directory and PIN), and the domain opened with it and custodian1's key
# file: the binary loads the token's module at run time and decrypts on the token.
token_self_test() {
  local module=/usr/lib/softhsm/libsofthsm2.so pin out
  if [[ ! -f "$module" ]] || ! command -v softhsm2-util >/dev/null 2>&1; then
    info "SoftHSM2 is not installed ($module): the token self-test was skipped"
    return 0
  fi
  mkdir -p "$work/tokens"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$work/tokens" >"$work/softhsm2.conf"
  export SOFTHSM2_CONF="$work/softhsm2.conf"
  pin=$(openssl rand -hex 8)
  printf '%s\n' "$pin" >"$work/pins"
  sed -n '2p' "$work/passphrases" >"$work/passphrase-2"
  printf '%s\n\n' "$(sed -n '1p' "$work/passphrases")" >"$work/passphrases-1-token"
  if ! openssl pkcs8 -topk8 -nocrypt -in "$work/keys/custodian2.key" -passin "file:$work/passphrase-2" \
    -out "$work/custodian2.pk8" 2>"$work/token.log" ||
    ! softhsm2-util --init-token --free --label selftest --so-pin "$(openssl rand -hex 8)" \
      --pin "$pin" >>"$work/token.log" 2>&1 ||
    ! softhsm2-util --import "$work/custodian2.pk8" --token selftest --label custodian2 --id 02 \
      --pin "$pin" >>"$work/token.log" 2>&1; then
    sed 's/^/   /' "$work/token.log"
    fail "could not put custodian2's key on a SoftHSM2 token (above)"
    return 0
  fi
  rm -f "$work/custodian2.pk8"
  if out=$("$bin" sd verify --sd-file "$work/sd.json" --sd-wrapping-keys "$work/keys/custodian1.key" \
    'pkcs11:token=selftest;object=custodian2' --pkcs11-module "$module" --pin-file "$work/pins" \
    --passphrase-file "$work/passphrases-1-token" 2>&1) && [[ "$out" == *"decrypted token-"* ]]; then
    pass "sd verify with custodian1's key file and custodian2's key on a SoftHSM2 token ($(grep -o 'decrypted token-[a-z0-9+-]*' <<<"$out"))"
  else
    printf '   %s\n' "${out//$'\n'/$'\n'   }"
    fail "sd verify with a key on a SoftHSM2 token failed (above)"
  fi
  unset SOFTHSM2_CONF
}

if ((self_test)); then
  step "5. Self-test, no network: keys generate, sd verify (files, and a SoftHSM2 token)"
  umask 077 # the passphrase file and the keys: this user's only
  for _ in 1 2 3; do openssl rand -hex 16; done >"$work/passphrases"
  sed -n '1p;3p' "$work/passphrases" >"$work/passphrases-1-3"
  if "$bin" keys generate --count 3 --bits 2048 --days 30 --out-dir "$work/keys" \
    --passphrase-file "$work/passphrases" >"$work/generate.log" 2>&1; then
    pass "keys generate --count 3: $(cd "$work/keys" && printf '%s ' *.key *.cer)"
  else
    sed 's/^/   /' "$work/generate.log"
    fail "keys generate failed (above)"
  fi
  if ((FAILURES == 0)); then
    make_sd 2 "$work/sd.json" "$work"/keys/custodian{1,2,3}.cer
    info "security domain made with the openssl CLI: 3 shares, quorum 2, 2 data"
    if "$bin" sd verify --sd-file "$work/sd.json" --sd-wrapping-keys "$work/keys/custodian1.key" \
      "$work/keys/custodian3.key" --passphrase-file "$work/passphrases-1-3" >"$work/verify.log" 2>&1; then
      pass "sd verify with custodian1 and custodian3: the master key rebuilt, every datum authenticated"
    else
      sed 's/^/   /' "$work/verify.log"
      fail "sd verify failed on a good security domain (above)"
    fi
    # The same domain with one byte of the first datum's authentication tag changed.
    sd=$(<"$work/sd.json")
    jwe=${sd#*\"compact_jwe\":\"}
    jwe=${jwe%%\"*}
    IFS=. read -r p1 p2 p3 p4 p5 <<<"$jwe"
    if [[ "${p5:0:1}" == A ]]; then p5="B${p5:1}"; else p5="A${p5:1}"; fi
    printf '%s\n' "${sd/"$jwe"/"$p1.$p2.$p3.$p4.$p5"}" >"$work/damaged.json"
    rc=0
    "$bin" sd verify --sd-file "$work/damaged.json" --sd-wrapping-keys "$work/keys/custodian1.key" \
      "$work/keys/custodian3.key" --passphrase-file "$work/passphrases-1-3" >"$work/damaged.log" 2>&1 || rc=$?
    if ((rc == 1)); then
      pass "sd verify finds the damaged datum of a copy (exit 1, a check failed)"
    else
      sed 's/^/   /' "$work/damaged.log"
      fail "sd verify on a security domain with a damaged datum exited $rc, not 1"
    fi
    token_self_test
  fi
else
  step "5. Self-test: skipped (--skip-self-test)"
fi

if ((FAILURES > 0)); then
  banner "FAILED: $FAILURES check(s) failed. Do NOT carry $bin to the air-gapped machine."
  exit 1
fi

# ---------------------------------------------------------------------------------------
step "6. For the ceremony record"
version=$("$bin" -V 2>&1) || version='?'
runs_on=$(sed -n 's/^OpenSSL: //p' <<<"$self_report")
size=$(stat -c %s -- "$bin")
header="$openssl_out/openssl-build/install/include/openssl/opensslv.h"
openssl_src=$(grep -A1 '^name = "openssl-src"$' "$repo/Cargo.lock" | sed -n 's/^version = "\(.*\)"$/\1/p')
if [[ -n "$openssl_out" && -f "$header" ]]; then
  ossl_version=$(sed -n 's/^# *define OPENSSL_FULL_VERSION_STR "\(.*\)"/\1/p' "$header")
  ossl_date=$(sed -n 's/^# *define OPENSSL_RELEASE_DATE "\(.*\)"/\1/p' "$header")
  embedded="OpenSSL $ossl_version ($ossl_date), static, from openssl-src $openssl_src"
else
  embedded="OpenSSL ${openssl_src#*+}, static, from openssl-src $openssl_src (version read from Cargo.lock)"
fi
commit=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo 'not a git checkout')
# What the build reads: the sources and the cargo files (new untracked sources count too).
if [[ -n "$(git -C "$repo" status --porcelain -- src Cargo.toml Cargo.lock build.rs .cargo 2>/dev/null)" ]]; then
  commit+=' (with uncommitted changes to src/ or the Cargo files)'
elif [[ -n "$(unvouched_files "$repo" src Cargo.toml Cargo.lock build.rs .cargo 2>/dev/null)" ]]; then
  commit+=' (with uncommitted changes: git is told not to look at some files, git ls-files -v)'
fi
digest=$(sha256sum -- "$bin")
digest=${digest%% *}
info "binary:     $bin"
info "size:       $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1048576 }') MiB)"
info "version:    $version (--no-default-features --features vendored: no network code)"
info "OpenSSL:    $embedded"
info "            as the binary reports it: ${runs_on:-?}"
info "built from: commit $commit"
info "toolchain:  $(rustc -V), target $host, Cargo.lock $(sha256_of "$repo/Cargo.lock" | cut -c1-16)..."
info "SHA-256:    $digest"
info "            $(spoken "$digest")   (as offline-preflight.sh shows it)"
info "sha256sum:  $digest  sdctl"
reproducible_recipe "$commit" "$digest"
if [[ "$commit" == *uncommitted* ]]; then
  warn "built with uncommitted changes: no published release has this digest, and nobody can rebuild it"
fi
if [[ -n "$expected" ]]; then
  if [[ "$digest" == "$expected" ]]; then
    pass "the SHA-256 is the expected one: this build reproduces $expected"
  else
    fail "the SHA-256 is not the expected $expected"
    info "(the same commit, rustc and C compiler give the same bytes: compare them with the"
    info " release's BUILD-FACTS; docs/reproducible-build.md lists what else must match)"
    banner "FAILED: this build does not reproduce the expected binary."
    exit 1
  fi
fi
banner "Ready: carry $bin (and its SHA-256) to the air-gapped machine."
