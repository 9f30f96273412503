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
# Passwords: az's --passwords takes the passwords themselves, but az expands any argument
# "@FILE" into FILE's content (one trailing newline dropped), so tests pass
# `--passwords @pw1 @pw2` with 0600 files and argv only ever holds file names. (A FILE
# that cannot be read is silently taken as the literal password "@FILE".)
# Do not run `az --version`/`az version`/`az upgrade` here: they always probe the internet.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
venv=$(bash "$here/setup.sh") || exit 1

cfg=$(mktemp -d "${TMPDIR:-/tmp}/sdctl-azcfg.XXXXXX") || {
  echo "tests/interop/az.sh: cannot make a temporary AZURE_CONFIG_DIR" >&2
  exit 1
}
trap 'rm -rf -- "$cfg"' EXIT
cp -- "$venv/sdctl-azure-config/config" "$cfg/"
# The version cache counts as fresh for a day; stamp it now so that no az command
# (az --version included) decides to look for a newer release.
sed "s/\"update_time\": \"[^\"]*\"/\"update_time\": \"$(date '+%Y-%m-%d %H:%M:%S.%6N')\"/" \
  "$venv/sdctl-azure-config/versionCheck.json" >"$cfg/versionCheck.json"

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
