#!/usr/bin/env bash
# Runs the harness's Azure CLI offline:  bash tests/interop/az.sh ARGS...
#
# Installs the harness first if needed (tests/interop/setup.sh), then runs
# <venv>/bin/az ARGS with a fresh throw-away AZURE_CONFIG_DIR (never ~/.azure), seeded so
# that az neither probes the internet for new versions nor sends telemetry. Where the
# kernel lets us (root, as in CI), az also runs in an empty network namespace, so it
# cannot reach any host at all, not even 127.0.0.1.
# az's stdout, stderr and exit code pass through unchanged (0 ok, 1 error, 2 bad usage).
#
# Note: az takes key passwords only on its command line (--passwords). Tests may pass
# throw-away test passwords that way; nothing we ship does.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
venv=$(bash "$here/setup.sh") || exit 1

cfg=$(mktemp -d "${TMPDIR:-/tmp}/sdctl-azcfg.XXXXXX") || {
  echo "tests/interop/az.sh: cannot make a temporary AZURE_CONFIG_DIR" >&2
  exit 1
}
trap 'rm -rf -- "$cfg"' EXIT
cp -- "$venv/sdctl-azure-config/config" "$venv/sdctl-azure-config/versionCheck.json" "$cfg/"

export AZURE_CONFIG_DIR=$cfg
export AZURE_CORE_COLLECT_TELEMETRY=no AZURE_CORE_SURVEY_MESSAGE=no AZURE_CORE_NO_COLOR=yes
unset PYTHONPATH PYTHONHOME

isolate=()
if command -v unshare >/dev/null 2>&1 && unshare -n true >/dev/null 2>&1; then
  isolate=(unshare -n)
fi

status=0
"${isolate[@]}" "$venv/bin/az" "$@" || status=$?
exit "$status"
