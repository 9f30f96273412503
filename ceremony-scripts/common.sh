# shellcheck shell=bash
# common.sh -- shared helpers of the ceremony runbooks. It is SOURCED by the other scripts
# in this folder (offline.sh, online.sh, offline-preflight.sh, online-preflight.sh), never
# run on its own.
#
# What it gives them:
#   banner / step / info / pass / warn / fail   uniform printing, so a printed transcript of
#                                              the terminal reads the same at every ceremony;
#   confirm QUESTION                           a witness checkpoint: asks y/N on the
#                                              terminal (/dev/tty), default No;
#   checkpoint QUESTION                        the same, but anything but yes stops (exit 1);
#   sha256_of FILE                             the file's SHA-256, lowercase hex;
#   spoken HEX                                 a digest in groups of four, to read aloud;
#   sdctl_binary                               finds sdctl ($SDCTL, else `sdctl` in PATH);
#   show_sdctl_binary                          prints its path, version and SHA-256;
#   harden_session                             umask 077 and core dumps off;
#   find_private_keys DIR...                   private key material under the DIRs;
#   require_no_private_keys OK FAIL DIR...     a pass, or a failure per key file found;
#   plan_value / plan_inline_value             read simple values from the plan file;
#   witness_checkpoint                         the end-of-invocation checkpoint: transcript
#                                              digest, the bundle to carry and its SHA-256;
#   ceremony_main MACHINE ARGS...              the whole of offline.sh and online.sh.
#
# Nothing here reads, stores or passes a passphrase: sdctl asks for them itself at a hidden
# prompt, or reads them from a --passphrase-file given on its own command line.

if [[ -n "${SDCTL_CEREMONY_COMMON:-}" ]]; then
  return 0
fi
SDCTL_CEREMONY_COMMON=1

# The script that sourced us, for messages ("offline.sh: ...").
PROG=$(basename -- "${0:-ceremony}")

# Set to 1 by a script given --yes (rehearsals, CI): every checkpoint then answers itself
# "yes" and says so, exactly like `sdctl ceremony ... --yes`.
ASSUME_YES=${ASSUME_YES:-0}

# Counters of the checks a preflight ran.
FAILURES=0
WARNINGS=0

# ---------------------------------------------------------------------------------------
# Printing
# ---------------------------------------------------------------------------------------

# banner TEXT...: a section everybody in the room should notice.
banner() {
  printf '\n'
  printf '%s\n' '=========================================================================='
  printf '== %s\n' "$*"
  printf '%s\n' '=========================================================================='
}

# step TEXT...: one check or action within a section.
step() {
  printf '\n-- %s\n' "$*"
}

# info TEXT...: a detail under a step.
info() {
  printf '   %s\n' "$*"
}

# pass / warn / fail TEXT...: the outcome of a check. Failures and warnings are counted
# (FAILURES, WARNINGS) so a preflight can decide its exit status at the end.
pass() {
  printf '   [ OK ] %s\n' "$*"
}
warn() {
  printf '   [WARN] %s\n' "$*"
  WARNINGS=$((WARNINGS + 1))
}
fail() {
  printf '   [FAIL] %s\n' "$*"
  FAILURES=$((FAILURES + 1))
}

# die MESSAGE [CODE]: one line on stderr, then exit (default 2: bad usage).
die() {
  printf '%s: %s\n' "$PROG" "$1" >&2
  exit "${2:-2}"
}

# ---------------------------------------------------------------------------------------
# Witness checkpoints
# ---------------------------------------------------------------------------------------

# confirm QUESTION: asks the people in the room; returns 0 for y/yes, 1 otherwise.
# The answer is read from the terminal (/dev/tty), not from standard input, so a
# checkpoint cannot be answered by a pipe by accident. With no terminal the answer is No,
# unless ASSUME_YES=1 (--yes), which answers yes and prints that it did.
confirm() {
  local question=$1 answer=''
  if [[ "$ASSUME_YES" == 1 ]]; then
    printf '>> %s [y/N] yes (--yes)\n' "$question"
    return 0
  fi
  if ! { : </dev/tty; } 2>/dev/null; then
    printf '>> %s [y/N] no (no terminal to ask on; give --yes for unattended runs)\n' "$question"
    return 1
  fi
  printf '>> %s [y/N] ' "$question" >/dev/tty
  IFS= read -r answer </dev/tty || answer=
  case "${answer,,}" in
    y | yes) return 0 ;;
    *) return 1 ;;
  esac
}

# checkpoint QUESTION: a checkpoint the ceremony cannot pass without a "yes": anything else
# stops the script (exit 1) with nothing done after it.
checkpoint() {
  if ! confirm "$1"; then
    printf '%s: stopped at a witness checkpoint: "%s" was not confirmed.\n' "$PROG" "$1" >&2
    printf '%s: resolve it (see docs/ceremonies/README.md), then run the script again.\n' "$PROG" >&2
    exit 1
  fi
}

# ---------------------------------------------------------------------------------------
# Digests
# ---------------------------------------------------------------------------------------

# sha256_of FILE: prints the lowercase hex SHA-256 of FILE (sha256sum, shasum or openssl,
# whichever this machine has).
sha256_of() {
  local file=$1 line
  [[ -f "$file" && -r "$file" ]] || die "$file: not a readable file" 2
  if command -v sha256sum >/dev/null 2>&1; then
    line=$(sha256sum -- "$file")
  elif command -v shasum >/dev/null 2>&1; then
    line=$(shasum -a 256 -- "$file")
  elif command -v openssl >/dev/null 2>&1; then
    line=$(openssl dgst -sha256 -r -- "$file")
  else
    die "no SHA-256 tool here (sha256sum, shasum or openssl)" 2
  fi
  printf '%s\n' "${line%% *}"
}

# spoken HEX: the digest in groups of four characters, as sdctl shows it for reading aloud.
spoken() {
  local hex=$1 out='' i
  for ((i = 0; i < ${#hex}; i += 4)); do
    out+="${hex:i:4} "
  done
  printf '%s\n' "${out% }"
}

# ---------------------------------------------------------------------------------------
# The sdctl binary
# ---------------------------------------------------------------------------------------

# sdctl_binary: sets SDCTL_BIN to the sdctl to use: $SDCTL if set (a path, or a name looked
# up in PATH), else `sdctl` in PATH. Exits 2 if there is none.
sdctl_binary() {
  local wanted=${SDCTL:-sdctl} found
  found=$(command -v -- "$wanted" 2>/dev/null) ||
    die "sdctl not found: put it in PATH or set SDCTL=/path/to/sdctl" 2
  [[ -x "$found" && -f "$found" ]] || die "$found: not an executable file" 2
  # An absolute path, so the record names exactly the file that ran.
  SDCTL_BIN=$(cd -- "$(dirname -- "$found")" && pwd -P)/$(basename -- "$found")
}

# show_sdctl_binary: prints the binary's path, version and SHA-256 for the record, and
# sets SDCTL_SHA256. Witnesses compare the digest with the one published for the release.
show_sdctl_binary() {
  [[ -n "${SDCTL_BIN:-}" ]] || sdctl_binary
  local version line label='version:'
  # Three lines: the version, the build (online or air-gapped) and the OpenSSL it runs on.
  version=$("$SDCTL_BIN" --version 2>&1) || die "$SDCTL_BIN --version failed: $version" 2
  SDCTL_SHA256=$(sha256_of "$SDCTL_BIN")
  info "path:    $SDCTL_BIN"
  while IFS= read -r line; do
    info "$label $line"
    label='        '
  done <<<"$version"
  info "SHA-256: $(spoken "$SDCTL_SHA256")"
}

# sdctl_has_network_code: whether this sdctl was built with the `online` feature (it then
# has the `hsm` commands). The air-gapped machine should run the offline build
# (cargo build --release --no-default-features), which has no network code at all.
sdctl_has_network_code() {
  "$SDCTL_BIN" hsm --help >/dev/null 2>&1
}

# ---------------------------------------------------------------------------------------
# The shell itself
# ---------------------------------------------------------------------------------------

# harden_session: new files private to this user (umask 077) and no core dumps (a core dump
# of a process holding a decrypted key would write it to disk). sdctl does the same for
# itself; doing it here covers every helper the scripts run.
harden_session() {
  umask 077
  ulimit -c 0 2>/dev/null || true
}

# find_private_keys DIR...: prints every file under the DIRs that holds private key
# material: a PEM "... PRIVATE KEY-----" block (PKCS#8, PKCS#1, encrypted or not), or a
# file named *.key, *.pfx or *.p12 (the custodians' keys, PKCS#12 exports). The same rule
# sdctl applies before its online steps run.
find_private_keys() {
  local dir
  for dir in "$@"; do
    [[ -d "$dir" ]] || continue
    find "$dir" -type f \( -iname '*.key' -o -iname '*.pfx' -o -iname '*.p12' \) -print 2>/dev/null || true
    grep -rlF -e 'PRIVATE KEY-----' -- "$dir" 2>/dev/null || true
  done | sort -u
}

# require_no_private_keys OK_TEXT FAIL_TEXT DIR...: a pass saying OK_TEXT when no file
# under the DIRs holds private key material, else one failure per such file.
require_no_private_keys() {
  local ok=$1 failure=$2 keys
  shift 2
  mapfile -t keys < <(find_private_keys "$@")
  if ((${#keys[@]} == 0)); then
    pass "$ok"
  else
    fail_each "$failure" "${keys[@]}"
  fi
}

# fail_each MESSAGE FILE...: one failure per file ("FILE: MESSAGE"), at most ten printed
# (the rest counted in one more line), so a crowded directory stays readable.
fail_each() {
  local message=$1 n=0 f
  shift
  for f in "$@"; do
    n=$((n + 1))
    if ((n <= 10)); then
      fail "$f: $message"
    fi
  done
  if ((n > 10)); then
    fail "... and $((n - 10)) more file(s) like these"
  fi
}

# ---------------------------------------------------------------------------------------
# The plan file (read-only, and only the few plain values the scripts need; sdctl itself
# parses and checks the whole plan)
# ---------------------------------------------------------------------------------------

# plan_value PLAN SECTION KEY: the string value of `KEY = "..."` in [SECTION], or nothing.
plan_value() {
  awk -v want_section="$2" -v want_key="$3" '
    /^[[:space:]]*\[/ {
      line = $0; sub(/#.*/, "", line); gsub(/[[:space:]]/, "", line)
      section = line; gsub(/^\[+|\]+$/, "", section); next
    }
    section == want_section {
      line = $0
      if (match(line, "^[[:space:]]*" want_key "[[:space:]]*=[[:space:]]*\"[^\"]*\"")) {
        value = substr(line, RSTART, RLENGTH); sub(/^[^"]*"/, "", value); sub(/"$/, "", value)
        print value; exit
      }
    }' "$1"
}

# plan_inline_value PLAN SECTION TABLE KEY: the value of KEY in the inline table
# `TABLE = { KEY = "...", ... }` of [SECTION] (the plan's [recovery] hsm = { ... }).
plan_inline_value() {
  awk -v want_section="$2" -v want_table="$3" -v want_key="$4" '
    /^[[:space:]]*\[/ {
      line = $0; sub(/#.*/, "", line); gsub(/[[:space:]]/, "", line)
      section = line; gsub(/^\[+|\]+$/, "", section); next
    }
    section == want_section && match($0, "^[[:space:]]*" want_table "[[:space:]]*=[[:space:]]*\\{[^}]*\\}") {
      table = substr($0, RSTART, RLENGTH)
      if (match(table, "(\\{|,)[[:space:]]*" want_key "[[:space:]]*=[[:space:]]*\"[^\"]*\"")) {
        value = substr(table, RSTART, RLENGTH); sub(/^[^"]*"/, "", value); sub(/"$/, "", value)
        print value; exit
      }
    }' "$1"
}

# resolve_from_plan PLAN PATH: PATH as sdctl reads it: relative paths start from the plan
# file's directory.
resolve_from_plan() {
  case "$2" in
    /*) printf '%s\n' "$2" ;;
    *) printf '%s/%s\n' "$(dirname -- "$1")" "$2" ;;
  esac
}

# plan_output_dir PLAN: the ceremony's output directory, as sdctl resolves it ([ceremony]
# output_dir, relative to the plan's directory).
plan_output_dir() {
  local out
  out=$(plan_value "$1" ceremony output_dir)
  [[ -n "$out" ]] || return 1
  resolve_from_plan "$1" "$out"
}

# ---------------------------------------------------------------------------------------
# After a ceremony invocation
# ---------------------------------------------------------------------------------------

# latest_run PLAN KIND: the id of the latest run of KIND on this machine (from
# `sdctl ceremony status`), or nothing.
latest_run() {
  "$SDCTL_BIN" ceremony status --plan "$1" 2>/dev/null |
    awk -v kind="$2" '/^  / && $2 == kind { id = $1 } END { if (id != "") print id }'
}

# json_field LINE NAME: the string value of "NAME":"..." in one compact JSON line (the
# first occurrence), or nothing. Enough for the transcript's plain fields.
json_field() {
  local match
  match=$(grep -o "\"$2\":\"[^\"]*\"" <<<"$1" | head -n 1) || true
  match=${match#*\":\"}
  printf '%s\n' "${match%\"}"
}

# witness_checkpoint PLAN KIND MACHINE [MEDIA]: what the witnesses write down before
# anything leaves the room: the run's transcript and its final digest (checked by
# `sdctl ceremony log verify`), and, when this machine's part ended with a hand-off, the
# bundle to carry to the other machine and its SHA-256. With MEDIA the bundle is also
# copied there, and the copy's digest checked against the original.
witness_checkpoint() {
  local plan=$1 kind=$2 machine=$3 media=${4:-} out run transcript verified last event who rel bundle digest copy
  banner "Witness checkpoint ($kind, $machine machine)"
  out=$(plan_output_dir "$plan") || {
    info "The plan names no output_dir; nothing to show."
    return 0
  }
  run=$(latest_run "$plan" "$kind")
  transcript="$out/runs/$run/transcript.jsonl"
  if [[ -z "$run" || ! -s "$transcript" ]]; then
    info "No $kind transcript on this machine yet: nothing was recorded."
    return 0
  fi
  step "Transcript of run $run"
  if ! verified=$("$SDCTL_BIN" ceremony log verify "$transcript" 2>&1); then
    printf '%s\n' "$verified"
    fail "the transcript does not verify: STOP, keep every file as it is, and call the security officer"
    return 1
  fi
  printf '%s\n' "$verified" | sed 's/^/   /'
  digest=$(sed -n 's/^Final digest: //p' <<<"$verified")
  info "Final digest, to read aloud and write down:"
  info "    $(spoken "$digest")"
  info "Record: $out/runs/$run/record.md and record.html (print, and sign)"

  last=$(tail -n 1 -- "$transcript")
  event=$(json_field "$last" event)
  who=$(json_field "$last" machine)
  case "$event" in
    handoff)
      if [[ "$who" != "$machine" ]]; then
        info "The other machine wrote the last entry: nothing to carry from here."
      else
        rel=$(json_field "$last" bundle)
        bundle="$out/$rel"
        [[ -f "$bundle" ]] || {
          fail "$bundle: the bundle the transcript names is missing"
          return 1
        }
        step "Carry this bundle to the other machine"
        info "file:    $bundle"
        info "SHA-256: $(spoken "$(sha256_of "$bundle")")"
        info "Witnesses read this SHA-256 aloud now, and again when the other machine shows it."
        if [[ -n "$media" ]]; then
          copy="$media/$(basename -- "$bundle")"
          cp -- "$bundle" "$copy.partial"
          sync
          mv -f -- "$copy.partial" "$copy"
          sync
          if [[ "$(sha256_of "$copy")" == "$(sha256_of "$bundle")" ]]; then
            pass "copied to $copy (same SHA-256)"
          else
            fail "$copy differs from the bundle after copying: the medium is faulty; use another"
            return 1
          fi
        fi
        info "On the $(other_machine "$machine") machine run: $(other_machine "$machine").sh [--media DIR] $kind PLAN"
        info "(it takes the bundle from the medium), or put the bundle in the output directory's"
        info "transfer/ folder there, or pass --bundle FILE to sdctl."
        info "Carry nothing else: the bundle holds public data only (certificates, the security"
        info "domain encrypted to the custodians, the exchange key, or the restore blob)."
      fi
      ;;
    closed)
      pass "The $kind ceremony is closed. Nothing more to carry."
      ;;
    *)
      info "This machine's part is not finished (last step: $(json_field "$last" step), $event)."
      info "Nothing to carry yet. Run the same command again to continue where it stopped."
      ;;
  esac
  confirm "Witnesses: have you written down the digests above?" ||
    printf '   Not confirmed: write them down before anything leaves this room; "sdctl ceremony log verify %s" shows the digest again.\n' "$transcript"
  return 0
}

# other_machine MACHINE: offline <-> online.
other_machine() {
  if [[ "$1" == offline ]]; then printf 'online\n'; else printf 'offline\n'; fi
}

# bundle_run FILE: the run a bundle belongs to (its top-level "run" field).
bundle_run() {
  sed -n 's/^  "run": "\(.*\)",$/\1/p' "$1" | head -n 1
}

# bundle_fits PLAN KIND FILE: whether the bundle FILE is for this machine's run of KIND:
# the run in progress here, or, when none is, a run this machine has not seen yet (the
# other machine began it).
bundle_fits() {
  local run open
  run=$(bundle_run "$3")
  [[ -n "$run" ]] || return 1
  open=$("$SDCTL_BIN" ceremony status --plan "$1" 2>/dev/null |
    awk -v kind="$2" '/^  / && $2 == kind { id = $1; state = $3 } END { if (state == "in") print id }')
  if [[ -n "$open" ]]; then
    [[ "$run" == "$open" ]]
  else
    ! "$SDCTL_BIN" ceremony status --plan "$1" 2>/dev/null |
      awk -v run="$run" '/^  / && $1 == run { found = 1 } END { exit !found }'
  fi
}

# incoming_bundle KIND MACHINE: the bundle this machine imports in ceremony KIND, if any.
incoming_bundle() {
  case "$1/$2" in
    activate/offline) printf 'security-domain-bundle.json\n' ;;
    activate/online) printf 'public-bundle.json\n' ;;
    recover/offline) printf 'exchange-key-bundle.json\n' ;;
    recover/online) printf 'restore-blob-bundle.json\n' ;;
    *) return 1 ;;
  esac
}

# ---------------------------------------------------------------------------------------
# offline.sh and online.sh
# ---------------------------------------------------------------------------------------

# ceremony_main MACHINE [--media DIR] KIND PLAN [sdctl args...]: what offline.sh and
# online.sh do: the preflight of MACHINE, then
#     sdctl ceremony KIND --plan PLAN --machine MACHINE [sdctl args...]
# then the witness checkpoint. Exits with sdctl's exit status (or the preflight's).
ceremony_main() {
  local machine=$1 media='' kind plan arg rc preflight incoming
  local -a rest=() preflight_args=()
  shift
  while (($#)); do
    case "$1" in
      -h | --help)
        usage
        exit 0
        ;;
      --media)
        (($# >= 2)) || die "--media needs a directory"
        media=$2
        shift 2
        ;;
      --media=*)
        media=${1#--media=}
        shift
        ;;
      *) break ;;
    esac
  done
  (($# >= 2)) || {
    usage >&2
    exit 2
  }
  kind=$1 plan=$2
  shift 2
  rest=("$@")
  case "$kind" in
    activate | recover) ;;
    rotate | drill)
      [[ "$machine" == offline ]] ||
        die "'ceremony $kind' runs on the air-gapped machine only: use offline.sh"
      ;;
    *) die "unknown ceremony '$kind': activate, recover, rotate or drill" ;;
  esac
  [[ -f "$plan" && -r "$plan" ]] || die "$plan: not a readable plan file"
  [[ -z "$media" || -d "$media" ]] || die "$media: not a directory (is the medium mounted?)"

  # The script sets --plan and --machine itself; the other sdctl flags pass through.
  # Passphrases never appear here: sdctl asks each custodian at a hidden prompt, or reads
  # the file named by --passphrase-file.
  for arg in "${rest[@]}"; do
    case "$arg" in
      --plan | --plan=* | --machine | --machine=*)
        die "$arg: this script sets --plan and --machine itself"
        ;;
      --yes)
        ASSUME_YES=1
        preflight_args+=(--yes)
        ;;
      --allow-network) [[ "$machine" == offline ]] && preflight_args+=(--allow-network) ;;
    esac
  done
  [[ "$machine" == online && "$kind" == recover ]] && preflight_args+=(--recovery)

  harden_session
  sdctl_binary
  export SDCTL="$SDCTL_BIN"

  # 1. The preflight of this machine: a failure stops everything before sdctl runs.
  preflight="$(dirname -- "${BASH_SOURCE[0]}")/$machine-preflight.sh"
  if [[ "$machine" == offline ]]; then
    bash "$preflight" "${preflight_args[@]}" "$plan" ${media:+"$media"} || exit $?
  else
    bash "$preflight" "${preflight_args[@]}" "$plan" || exit $?
  fi

  # 2. The bundle to import, from the medium, unless --bundle was given: only one that
  #    belongs to the run in progress here (or to a new run), never one left on the medium
  #    by an earlier run.
  if [[ -n "$media" ]] && incoming=$(incoming_bundle "$kind" "$machine") &&
    [[ -f "$media/$incoming" ]] && ! printf '%s\n' "${rest[@]}" | grep -q -e '^--bundle'; then
    if bundle_fits "$plan" "$kind" "$media/$incoming"; then
      rest+=(--bundle "$media/$incoming")
      info "The bundle to import, if this part imports one: $media/$incoming"
    else
      info "$media/$incoming belongs to run '$(bundle_run "$media/$incoming")', not to the run here: not used"
    fi
  fi

  # 3. The ceremony itself. Its exit status is kept; the checkpoint follows either way.
  banner "sdctl ceremony $kind on the $machine machine"
  info "$SDCTL_BIN ceremony $kind --plan $plan --machine $machine ${rest[*]}"
  rc=0
  "$SDCTL_BIN" ceremony "$kind" --plan "$plan" --machine "$machine" "${rest[@]}" || rc=$?

  # 4. The witness checkpoint: transcript digest, bundle to carry.
  witness_checkpoint "$plan" "$kind" "$machine" "$media" || ((rc != 0)) || rc=1

  if ((rc != 0)); then
    banner "sdctl ended with exit status $rc"
    case "$rc" in
      1) info "Refused, or a check failed: the line starting 'sdctl:' above says why; the refusal is in the transcript." ;;
      2) info "Bad plan, bundle or usage: the line above names the file and the problem." ;;
      3) info "Cryptographic failure: usually a mistyped passphrase. The custodian types it again." ;;
      4) info "Service or network error talking to the HSM: the service's own words are above." ;;
    esac
    info "Nothing unsafe was kept half-done. Fix the cause, then run the same command again:"
    info "finished steps are not repeated (the transcript is the authority), and a custodian's"
    info "key is never made twice. See docs/ceremonies/README.md (When a step fails)."
  fi
  exit "$rc"
}
