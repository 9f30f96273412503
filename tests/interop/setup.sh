#!/usr/bin/env bash
# Interop harness for sdctl's integration tests (see tests/interop/README.md).
#
# Usage: setup.sh [sdk]
# Makes, once per machine and target directory, a Python virtual environment with the
# pinned Azure CLI, jwcrypto and azure-identity of tests/interop/requirements.txt at
#     ${CARGO_TARGET_DIR:-<repo>/target}/interop-venv
# or, with the argument `sdk`, one with the official Azure SDK for Python clients of
# tests/interop/sdk-requirements.txt (Key Vault keys, administration, security domain,
# identity, aiohttp) at ${CARGO_TARGET_DIR:-<repo>/target}/interop-sdk-venv,
# and prints that path as its only line of output. Running it again costs a few
# milliseconds when the venv is up to date; several test processes may run it at once
# (they queue on a flock, and only the first one installs).
# On failure it prints one message on stderr (with the tail of the install log) and exits 1.
#
# Optional environment:
#   CARGO_TARGET_DIR       where the venv goes (a relative path is taken from the repo root)
#   SDCTL_INTEROP_PYTHON   interpreter to build the venv with (default: python3 on PATH)
set -euo pipefail

die() {
  printf 'tests/interop/setup.sh: %s\n' "$*" >&2
  exit 1
}

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd) || die "cannot find the script's directory"
repo=$(cd -- "$here/../.." && pwd)
kind=${1:-az}
case $kind in
  az) req=$here/requirements.txt name=interop-venv ;;
  sdk) req=$here/sdk-requirements.txt name=interop-sdk-venv ;;
  *) die "unknown venv '$kind': use no argument (the Azure CLI) or 'sdk'" ;;
esac
[ -r "$req" ] || die "cannot read $req"

target=${CARGO_TARGET_DIR:-$repo/target}
case $target in
  /*) ;;
  *) target=$repo/$target ;;
esac
venv=$target/$name
stamp=$venv/.sdctl-interop-stamp
lock=$target/$name.lock
log=$target/$name.log
python=${SDCTL_INTEROP_PYTHON:-python3}

# A stray PYTHONPATH/PYTHONHOME from the caller must not leak into the venv or pip.
unset PYTHONPATH PYTHONHOME

command -v flock >/dev/null 2>&1 || die "flock not found (Debian package util-linux)"
mkdir -p -- "$target" || die "cannot create $target"

# One installer at a time; the others wait here, then find the stamp and leave.
exec 9>>"$lock" || die "cannot open lock file $lock"
flock -w 1800 9 || die "waited 30 minutes for $lock; is another setup.sh stuck?"

# The stamp names what the venv was built from; any change to requirements.txt rebuilds.
want="sdctl-interop-2 $(sha256sum <"$req" | cut -d' ' -f1)"

# What a finished venv of this kind imports.
if [ "$kind" = sdk ]; then
  imports='import azure.identity, azure.keyvault.keys, azure.keyvault.administration, azure.keyvault.securitydomain, aiohttp'
  ready() { "$venv/bin/python" -c "$imports" >/dev/null 2>&1; }
else
  imports='import jwcrypto, azure.identity'
  ready() {
    [ -x "$venv/bin/az" ] && [ -f "$venv/sdctl-azure-config/versionCheck.json" ] &&
      "$venv/bin/python" -c "$imports" >/dev/null 2>&1
  }
fi

if [ -f "$stamp" ] && [ "$(cat -- "$stamp")" = "$want" ] && ready; then
  printf '%s\n' "$venv"
  exit 0
fi

# From here on, everything noisy goes to the log; failures show its tail.
: >"$log" || die "cannot write $log"
fail() {
  {
    printf 'tests/interop/setup.sh: %s (log: %s); last lines:\n' "$*" "$log"
    tail -n 25 -- "$log" | sed 's/^/  | /'
  } >&2
  exit 1
}

command -v "$python" >/dev/null 2>&1 ||
  die "'$python' not found; install Python 3 (Debian: apt-get install python3) or set SDCTL_INTEROP_PYTHON"

has_venv() { "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; }
if ! has_venv; then
  # Debian splits venv/ensurepip out of python3 into python3-venv.
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -q && apt-get install -y -q python3-venv; } >>"$log" 2>&1 ||
      fail "apt-get install python3-venv failed"
  fi
  has_venv || die "$python lacks the venv/ensurepip modules; install python3-venv (Debian) or set SDCTL_INTEROP_PYTHON"
fi

rm -rf -- "$venv" || die "cannot remove the old $venv"
"$python" -m venv -- "$venv" >>"$log" 2>&1 || fail "python -m venv failed"
PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
  "$venv/bin/python" -m pip install -r "$req" >>"$log" 2>&1 ||
  fail "pip install -r $(basename -- "$req") failed"
if [ "$kind" = sdk ]; then
  "$venv/bin/python" -c "$imports" >>"$log" 2>&1 || fail "the SDK clients do not import"
  { printf '%s\n' "$want" >"$stamp.tmp" && mv -f -- "$stamp.tmp" "$stamp"; } || die "cannot write $stamp"
  printf '%s\n' "$venv"
  exit 0
fi
[ -x "$venv/bin/az" ] || fail "the venv has no bin/az after installing"
"$venv/bin/python" -c 'import jwcrypto' >>"$log" 2>&1 || fail "jwcrypto does not import"
"$venv/bin/python" -c 'import azure.identity' >>"$log" 2>&1 || fail "azure-identity does not import"

# A seed for the throw-away AZURE_CONFIG_DIR that tests/interop/az.sh gives each az run.
# Without versionCheck.json naming the installed versions, az's first run in an empty
# config dir probes a Microsoft storage host for newer releases; the config turns off
# telemetry (a background upload), surveys, auto-upgrade and extension auto-install.
seed=$venv/sdctl-azure-config
mkdir -p -- "$seed" || die "cannot create $seed"
cat >"$seed/config" <<'CONFIG' || die "cannot write $seed/config"
[core]
collect_telemetry = no
survey_message = no
no_color = yes

[auto-upgrade]
enable = no

[extension]
use_dynamic_install = no
CONFIG
"$venv/bin/python" - "$seed/versionCheck.json" >>"$log" 2>&1 <<'PY' || fail "cannot write the versionCheck.json seed"
import datetime, json, sys
from importlib.metadata import version
local = {"azure-cli": version("azure-cli"), "core": version("azure-cli-core"),
         "telemetry": version("azure-cli-telemetry")}
seed = {"versions": {k: {"local": v} for k, v in local.items()},
        "update_time": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")}
with open(sys.argv[1], "w", encoding="utf-8") as f:
    json.dump(seed, f)
PY

{ printf '%s\n' "$want" >"$stamp.tmp" && mv -f -- "$stamp.tmp" "$stamp"; } || die "cannot write $stamp"
printf '%s\n' "$venv"
