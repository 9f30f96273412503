#!/usr/bin/env bash
# online-preflight.sh -- checks the ONLINE workstation (the one that talks to the HSM)
# before a ceremony step runs on it.
#
# Run it at the start of every session on the online machine (online.sh runs it for you).
# It checks, in this order:
#   1. no private key material under the plan's directory or the ceremony's output
#      directory: PEM "PRIVATE KEY-----" blocks, *.key, *.pfx, *.p12. Custodians' keys live
#      on the air-gapped machine only; sdctl refuses its online steps when it finds one;
#   2. the clock: synchronised by NTP (sign-in tokens and TLS depend on it);
#   3. this shell: umask 077;
#   4. the plan: sdctl reads and checks it; its SHA-256 is shown;
#   5. the HSM the plan names answers `sdctl hsm status` (optional: --skip-hsm; with
#      --recovery the new HSM of the plan's [recovery] section). A failure here is only a
#      warning: the ceremony's own "roles" step signs in and stops cleanly if it must;
#   6. witness checkpoints: the sdctl binary's path, version and SHA-256 against the digest
#      published for the release; the plan's SHA-256 against the one approved (and shown on
#      the air-gapped machine).
# A failed check stops the ceremony before it starts (exit 1), and so does a checkpoint a
# witness does not confirm. No host name is built into this script: the HSM comes from the
# plan.

set -euo pipefail
# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

usage() {
  cat <<EOF
Usage: $PROG [--yes] [--skip-hsm] [--recovery] PLAN

Checks the online workstation before a ceremony: no private keys, the clock, the plan,
the HSM reachable, and the witness checkpoints (sdctl binary, plan digest).

  PLAN         the ceremony's plan file (the same file, byte for byte, as on the
               air-gapped machine)
  --recovery   check the new HSM of the plan's [recovery] section instead of [hsm]
               (for 'ceremony recover')
  --skip-hsm   do not contact the HSM
  --yes        answer the witness checkpoints yes (rehearsals, CI only)
  -h, --help   this help

The sdctl used is \$SDCTL if set, else 'sdctl' in PATH. Credentials for the HSM are the
ones sdctl always uses (see docs/hsm.md); none is given on this command line.
Exit status: 0 ready (warnings may have been printed); 1 a check failed or a checkpoint
was not confirmed; 2 bad usage.
EOF
}

skip_hsm=0
recovery=0
args=()
while (($#)); do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --yes) ASSUME_YES=1 ;;
    --skip-hsm) skip_hsm=1 ;;
    --recovery) recovery=1 ;;
    --) shift; args+=("$@"); break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) args+=("$1") ;;
  esac
  shift
done
((${#args[@]} == 1)) || {
  usage >&2
  exit 2
}
plan=${args[0]}
[[ -f "$plan" && -r "$plan" ]] || die "$plan: not a readable plan file"

sdctl_binary

banner "Online workstation preflight: $(hostname 2>/dev/null || echo '?')"

# ---------------------------------------------------------------------------------------
step "1. No private key material on this machine"
plan_dir=$(dirname -- "$plan")
out_dir=$(plan_output_dir "$plan" || true)
dirs=("$plan_dir")
[[ -n "$out_dir" && -d "$out_dir" ]] && dirs+=("$out_dir")
info "searched: ${dirs[*]}"
require_no_private_keys "no private key, PKCS#12 or .key file" \
  "private key material on the online machine: move it to the air-gapped machine (or destroy it) before the ceremony" "${dirs[@]}"

# ---------------------------------------------------------------------------------------
step "2. Clock"
info "$(date -u '+%Y-%m-%d %H:%M:%S UTC')   $(date '+%Y-%m-%d %H:%M:%S %Z') (local)"
if command -v timedatectl >/dev/null 2>&1 &&
  synced=$(timedatectl show -p NTPSynchronized --value 2>/dev/null) && [[ -n "$synced" ]]; then
  if [[ "$synced" == yes ]]; then
    pass "clock synchronised (NTPSynchronized=yes)"
  else
    warn "clock NOT synchronised (NTPSynchronized=$synced): sign-in tokens and TLS need the right time; check 'timedatectl status'"
  fi
else
  info "(timedatectl cannot tell whether the clock is synchronised: compare it with a watch)"
fi

# ---------------------------------------------------------------------------------------
step "3. This shell"
harden_session
if [[ "$(umask)" == 0077 ]]; then
  pass "umask 077: files made from here on are readable by this user only"
else
  fail "umask is $(umask), not 0077"
fi

# ---------------------------------------------------------------------------------------
step "4. The plan"
PLAN_SHA256=$(sha256_of "$plan")
info "file:    $plan"
info "SHA-256: $(spoken "$PLAN_SHA256")"
if status=$("$SDCTL_BIN" ceremony status --plan "$plan" 2>&1); then
  printf '%s\n' "$status" | sed 's/^/   /'
  pass "sdctl reads the plan and its output directory"
else
  printf '%s\n' "$status" | sed 's/^/   /'
  fail "sdctl refuses the plan (above): fix it before the ceremony"
fi

# ---------------------------------------------------------------------------------------
step "5. The HSM"
if ! sdctl_has_network_code; then
  fail "this sdctl has no network code (the air-gapped build): the online machine needs the full build (cargo build --release --locked)"
elif ((skip_hsm)); then
  info "skipped (--skip-hsm)"
else
  # The HSM as the plan names it: [hsm], or the inline table `hsm = { ... }` of
  # [recovery]. Relative file names start from the plan's directory, as in sdctl.
  get() {
    if ((recovery)); then
      plan_inline_value "$plan" recovery hsm "$1"
    else
      plan_value "$plan" hsm "$1"
    fi
  }
  hsm_args=()
  name=$(get name)
  url=$(get url)
  cloud=$(get cloud)
  ca=$(get ca_cert)
  token=$(get access_token_file)
  [[ -n "$name" ]] && hsm_args+=(--hsm-name "$name")
  [[ -n "$cloud" ]] && hsm_args+=(--cloud "$cloud")
  [[ -n "$url" ]] && hsm_args+=(--hsm-url "$url")
  [[ -n "$ca" ]] && hsm_args+=(--ca-cert "$(resolve_from_plan "$plan" "$ca")")
  [[ -n "$token" ]] && hsm_args+=(--access-token-file "$(resolve_from_plan "$plan" "$token")")
  if [[ -z "$name" && -z "$url" ]]; then
    warn "the plan's $( ((recovery)) && echo '[recovery] hsm' || echo '[hsm]') names no HSM this script can read; not contacted"
  else
    info "sdctl hsm status ${hsm_args[*]}"
    if answer=$("$SDCTL_BIN" hsm status "${hsm_args[@]}" 2>&1); then
      printf '%s\n' "$answer" | sed 's/^/   /'
      pass "the HSM answers"
    else
      printf '%s\n' "$answer" | sed 's/^/   /'
      warn "the HSM did not answer as expected (above): check the network, the sign-in and the roles before the ceremony"
    fi
  fi
fi

if ((FAILURES > 0)); then
  banner "Preflight FAILED: $FAILURES check(s) failed, $WARNINGS warning(s). Nothing was done."
  exit 1
fi

# ---------------------------------------------------------------------------------------
step "6. Witness checkpoints"
info "The sdctl that will run:"
show_sdctl_binary
checkpoint "Witnesses: is this SHA-256 the one published for this sdctl release?"
info "The plan: $(spoken "$PLAN_SHA256")"
checkpoint "Witnesses: is this the plan's approved SHA-256 (the same on the air-gapped machine)?"

banner "Preflight passed ($WARNINGS warning(s)): this machine is ready to be the online machine."
