#!/usr/bin/env bash
# offline-preflight.sh -- checks the AIR-GAPPED workstation before a ceremony step runs on it.
#
# Run it at the start of every session on the air-gapped machine (offline.sh runs it for
# you). It checks, in this order:
#   1. the network: no interface up except loopback (/sys/class/net, and `ip -o link` where
#      it exists), no default route, every radio (Wi-Fi, Bluetooth, WWAN) blocked by rfkill;
#   2. this shell: umask 077, core dumps off, and where a core dump or swap could still put
#      secrets on disk;
#   3. the removable medium that carries bundles (if given): mounted, writable, and holding
#      no private key;
#   4. the plan: sdctl reads and checks it; its SHA-256 is shown;
#   5. witness checkpoints: the clock against a witness's watch; the sdctl binary's path,
#      version and SHA-256 against the digest published for the release; the plan's SHA-256
#      against the one approved (and shown on the online machine).
# Any failed check stops the ceremony before it starts (exit 1); so does a checkpoint a
# witness does not confirm. Warnings are printed and counted but do not stop it.
#
# It reads no passphrase and changes nothing outside this shell (the medium gets a test file
# that is removed at once).

set -euo pipefail
# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

usage() {
  cat <<EOF
Usage: $PROG [--yes] [--allow-network] PLAN [MEDIA_DIR]

Checks the air-gapped workstation before a ceremony: no network, a hardened shell, the
transfer medium, the plan, and the witness checkpoints (clock, sdctl binary, plan digest).

  PLAN             the ceremony's plan file (the same file, byte for byte, as on the
                   online machine)
  MEDIA_DIR        the mount point of the removable medium that carries bundles
                   (checked: writable, no private key on it)
  --yes            answer the witness checkpoints yes (rehearsals, CI only)
  --allow-network  report a network that is up as a warning, not a failure (rehearsals
                   only; sdctl needs the same flag and records it in the transcript)
  -h, --help       this help

The sdctl used is \$SDCTL if set, else 'sdctl' in PATH.
Exit status: 0 ready (warnings may have been printed); 1 a check failed or a checkpoint
was not confirmed; 2 bad usage.
EOF
}

allow_network=0
args=()
while (($#)); do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --yes) ASSUME_YES=1 ;;
    --allow-network) allow_network=1 ;;
    --) shift; args+=("$@"); break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) args+=("$1") ;;
  esac
  shift
done
((${#args[@]} >= 1 && ${#args[@]} <= 2)) || {
  usage >&2
  exit 2
}
plan=${args[0]}
media=${args[1]:-}
[[ -f "$plan" && -r "$plan" ]] || die "$plan: not a readable plan file"

sdctl_binary

# A failure of the network checks: a failure, or with --allow-network a warning.
network_problem() {
  if ((allow_network)); then
    warn "$* (allowed by --allow-network: rehearsals only)"
  else
    fail "$*"
  fi
}

banner "Air-gapped workstation preflight: $(hostname 2>/dev/null || echo '?')"

# ---------------------------------------------------------------------------------------
step "1. Network: nothing but loopback"
# Every interface the kernel knows. An interface counts as up when its operational state
# is "up", or when it is administratively up (IFF_UP, flag 0x1) at all: an air-gapped
# machine keeps every interface but loopback down. Loopback is recognised by its flag
# (IFF_LOOPBACK, 0x8), not only by the name "lo".
declare -A up=()
if [[ -d /sys/class/net ]]; then
  for dev in /sys/class/net/*; do
    [[ -e "$dev" ]] || continue
    name=${dev##*/}
    flags=$(cat "$dev/flags" 2>/dev/null || echo 0x0)
    state=$(cat "$dev/operstate" 2>/dev/null || echo unknown)
    if (((flags & 0x8) != 0)); then
      info "$name: loopback ($state)"
      continue
    fi
    if [[ "$state" == up ]] || (((flags & 0x1) != 0)); then
      up[$name]="operstate $state, flags $flags"
    else
      info "$name: down ($state)"
    fi
  done
else
  warn "/sys/class/net is not readable: the interfaces cannot be listed from the kernel"
fi
# The same question asked of iproute2, where it is installed: `ip -o link show up` lists
# interfaces that are administratively up, one per line: "2: eth0: <BROADCAST,...,UP> ...".
if command -v ip >/dev/null 2>&1; then
  while IFS= read -r line; do
    name=$(awk -F': ' '{ print $2 }' <<<"$line")
    name=${name%%@*}
    [[ "$line" == *"<"*LOOPBACK*">"* ]] && continue
    [[ -n "$name" && -z "${up[$name]:-}" ]] && up[$name]="ip link: up"
  done < <(ip -o link show up 2>/dev/null || true)
else
  info "(ip is not installed: /sys/class/net alone was read)"
fi
if ((${#up[@]} == 0)); then
  pass "no network interface is up except loopback"
else
  for name in "${!up[@]}"; do
    network_problem "interface $name is up (${up[$name]}): take it down (ip link set $name down), or better, remove or disable the hardware"
  done
fi

# A default route means the machine was, or is about to be, connected.
routes=''
if command -v ip >/dev/null 2>&1; then
  routes=$( { ip route show default; ip -6 route show default; } 2>/dev/null || true)
elif [[ -r /proc/net/route ]]; then
  routes=$(awk 'NR > 1 && $2 == "00000000" { print "default via " $1 }' /proc/net/route)
fi
if [[ -z "$routes" ]]; then
  pass "no default route"
else
  while IFS= read -r line; do
    network_problem "default route: $line"
  done <<<"$routes"
fi

# Radios: every rfkill device (Wi-Fi, Bluetooth, WWAN, ...) must be blocked, in software or
# by its hardware switch. /sys/class/rfkill is what the rfkill tool itself reads.
radios=0
for dev in /sys/class/rfkill/rfkill*; do
  [[ -e "$dev" ]] || continue
  radios=$((radios + 1))
  type=$(cat "$dev/type" 2>/dev/null || echo '?')
  rname=$(cat "$dev/name" 2>/dev/null || echo '?')
  soft=$(cat "$dev/soft" 2>/dev/null || echo 0)
  hard=$(cat "$dev/hard" 2>/dev/null || echo 0)
  if [[ "$soft" == 1 || "$hard" == 1 ]]; then
    pass "radio $rname ($type) is blocked (soft $soft, hard $hard)"
  else
    network_problem "radio $rname ($type) is NOT blocked: rfkill block $type (or switch it off in the firmware)"
  fi
done
if ((radios == 0)); then
  info "no radio known to rfkill (no Wi-Fi or Bluetooth device, or no rfkill support)"
fi

# ---------------------------------------------------------------------------------------
step "2. This shell: private files, no core dumps"
harden_session
if [[ "$(umask)" == 0077 ]]; then
  pass "umask 077: files made from here on are readable by this user only"
else
  fail "umask is $(umask), not 0077"
fi
if [[ "$(ulimit -c)" == 0 ]]; then
  pass "core dumps off for this shell and what it runs (ulimit -c 0)"
else
  fail "core dumps could not be turned off (ulimit -c is $(ulimit -c))"
fi
# With a core_pattern that pipes to a program (systemd-coredump, apport), the kernel hands
# the dump over whatever RLIMIT_CORE says; sdctl also marks itself non-dumpable, which does
# stop that, but other tools run during the ceremony are not covered.
pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null || true)
if [[ "$pattern" == '|'* ]]; then
  warn "kernel.core_pattern pipes core dumps to a program ($pattern): ulimit -c 0 does not stop that; consider 'sysctl kernel.core_pattern=core' for the ceremony"
fi
# Swap can write memory that held a decrypted key or a passphrase to disk.
if [[ -r /proc/swaps ]] && (($(wc -l </proc/swaps) > 1)); then
  warn "swap is on ($(awk 'NR > 1 { printf "%s ", $1 }' /proc/swaps)): memory could reach the disk; swapoff -a for the ceremony (or use encrypted swap)"
else
  pass "no swap"
fi

# ---------------------------------------------------------------------------------------
step "3. The transfer medium"
if [[ -z "$media" ]]; then
  info "no medium given (MEDIA_DIR): bundles will be copied by hand from the output directory's transfer/ folder"
elif [[ ! -d "$media" ]]; then
  fail "$media: not a directory (is the medium mounted?)"
else
  if command -v mountpoint >/dev/null 2>&1 && ! mountpoint -q -- "$media"; then
    warn "$media is not a mount point: is the removable medium mounted there?"
  fi
  if probe=$(mktemp "$media/.sdctl-preflight.XXXXXX" 2>/dev/null); then
    rm -f -- "$probe"
    pass "$media is writable ($(df -hP -- "$media" 2>/dev/null | awk 'NR == 2 { print $4 " free on " $1 }'))"
  else
    fail "$media is not writable by $(id -un)"
  fi
  # The medium goes to the online machine: it must carry public data only.
  require_no_private_keys "no private key on the medium" \
    "private key material on the transfer medium; remove it (the medium goes to the online machine)" "$media"
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
machines=$(plan_value "$plan" ceremony machines)
if [[ "$machines" == one ]]; then
  warn "the plan says machines = \"one\": a rehearsal against the local emulator, not a real ceremony"
fi

if ((FAILURES > 0)); then
  banner "Preflight FAILED: $FAILURES check(s) failed, $WARNINGS warning(s). Nothing was done."
  exit 1
fi

# ---------------------------------------------------------------------------------------
step "5. Witness checkpoints"
info "Clock (certificates are dated by it; the transcript times every step):"
info "    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
info "    $(date '+%Y-%m-%d %H:%M:%S %Z') (local)"
checkpoint "Witnesses: does this clock agree with your watch, to the minute?"

info "The sdctl that will run:"
show_sdctl_binary
if sdctl_has_network_code; then
  warn "this sdctl contains network code (feature 'online'); the air-gapped machine should run the static offline build: bash ceremony-scripts/build-offline.sh"
else
  pass "offline build: no network code"
fi
checkpoint "Witnesses: is this SHA-256 the one published for this sdctl release?"

info "The plan: $(spoken "$PLAN_SHA256")"
checkpoint "Witnesses: is this the plan's approved SHA-256 (the same on the online machine)?"

banner "Preflight passed ($WARNINGS warning(s)): this machine is ready to be the air-gapped machine."
