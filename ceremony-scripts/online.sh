#!/usr/bin/env bash
# online.sh -- runs this ONLINE machine's part of a ceremony (the machine that talks to the
# HSM and never holds a private key), between its preflight and its witness checkpoint:
#
#   1. online-preflight.sh: no private key material near the plan, the clock, the plan,
#      the HSM reachable (the new HSM for 'recover'), and the witness checkpoints (sdctl
#      binary, plan digest);
#   2. sdctl ceremony KIND --plan PLAN --machine online [sdctl args...]
#      (activate: import the public bundle, check roles, download the security domain;
#      recover: fetch the exchange key, later upload the restore blob, check the status,
#      restore the full backup);
#   3. the witness checkpoint: the transcript verified (sdctl ceremony log verify) and its
#      final digest to write down; the bundle to carry to the air-gapped machine and its
#      SHA-256, copied to the medium with --media and the copy checked.
#
# 'rotate' and 'drill' happen on the air-gapped machine only (offline.sh). Run this again
# after an interruption or a refusal: sdctl resumes where the transcript says the run
# stopped, and follows an HSM operation already sent instead of sending it twice.
# Credentials come from sdctl's usual sources (docs/hsm.md), never from this command line.

set -euo pipefail
# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

usage() {
  cat <<EOF2
Usage: $PROG [--media DIR] KIND PLAN [sdctl args...]

Runs the online machine's part of ceremony KIND (activate or recover): preflight, then
'sdctl ceremony KIND --plan PLAN --machine online [sdctl args...]', then the witness
checkpoint (transcript digest, bundle to carry and its SHA-256).

  --media DIR   the removable medium's mount point: a bundle to import that is on it is
                passed as --bundle; the bundle written here is copied to it (and the copy
                checked)
  sdctl args    passed to sdctl as they are: --expect-sha256 HEX, --bundle FILE, --yes,
                --transfer-code-file FILE (unattended)

Examples:
  $PROG --media /media/transfer activate /ceremony/plan.toml
  $PROG activate /ceremony/plan.toml --expect-sha256 a17b543a...   # as read on the air-gapped machine

The sdctl used is \$SDCTL if set, else 'sdctl' in PATH. Exit status: sdctl's (0 done,
handed off, waiting or stopped; 1 refused; 2 bad plan, bundle or usage; 3 a bundle that
does not authenticate under the run's transfer code; 4 service or
network error), or 1 when the preflight failed.
EOF2
}

ceremony_main online "$@"
