#!/usr/bin/env bash
# openCryptoki's software token for tests/token_native_oaep.rs: a real PKCS#11 token whose
# CKM_RSA_PKCS_OAEP takes SHA-256 (SoftHSM2's takes SHA-1 only), so that sdctl's native
# `token-oaep` path runs in CI. Run as root (CI is): installs Debian's opencryptoki if it
# is missing, makes its lock directories (systemd-tmpfiles would, where systemd runs) and
# starts its slot daemon, pkcsslotd, unless it runs already. Idempotent; takes a second.
#
# openCryptoki 3.8 keeps its configuration, the daemon's socket and the soft token's files
# in fixed system places (/etc/opencryptoki, /run/pkcsslotd.socket,
# /var/lib/opencryptoki/swtok); the tests initialise that token themselves, and only when
# it is uninitialised or carries their own label (sdctl-test-ock).
set -euo pipefail

if [ ! -x /usr/sbin/pkcsslotd ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq opencryptoki
fi

# What /usr/lib/tmpfiles.d/opencryptoki.conf asks for (gone after a reboot: /run is tmpfs).
for dir in /var/lock/opencryptoki /var/lock/opencryptoki/swtok \
  /var/lib/opencryptoki /var/lib/opencryptoki/swtok /var/lib/opencryptoki/swtok/TOK_OBJ; do
  install -d -m 0770 -o root -g pkcs11 "$dir"
done

pidfile=/run/pkcsslotd.pid
socket=/run/pkcsslotd.socket
if [ -S "$socket" ] && [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "opencryptoki.sh: pkcsslotd runs already (pid $(cat "$pidfile"))"
  exit 0
fi
# A daemon that died leaves its socket and pid file behind; a new one wants neither.
rm -f "$socket" "$pidfile"
/usr/sbin/pkcsslotd
for _ in $(seq 50); do
  [ -S "$socket" ] && break
  sleep 0.1
done
if [ ! -S "$socket" ]; then
  echo "opencryptoki.sh: pkcsslotd did not open $socket" >&2
  exit 1
fi
echo "opencryptoki.sh: pkcsslotd started (pid $(cat "$pidfile"))"
