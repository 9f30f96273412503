#!/usr/bin/env bash
# offline.sh -- runs this AIR-GAPPED machine's part of a ceremony, between its preflight and
# its witness checkpoint:
#
#   1. offline-preflight.sh: no network, a hardened shell, the transfer medium, the plan,
#      and the witness checkpoints (clock, sdctl binary, plan digest);
#   2. sdctl ceremony KIND --plan PLAN --machine offline [sdctl args...]
#      (the steps are announced one by one; each custodian types their passphrase at
#      sdctl's own hidden prompt);
#   3. the witness checkpoint: the transcript verified (sdctl ceremony log verify) and its
#      final digest to write down; the bundle to carry to the online machine and its
#      SHA-256, copied to the medium with --media and the copy checked.
#
# Run it again after an interruption or a refusal: sdctl resumes where the transcript says
# the run stopped. Passphrases are never on this command line or in the environment.

set -euo pipefail
# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

usage() {
  cat <<EOF2
Usage: $PROG [--media DIR] KIND PLAN [sdctl args...]

Runs the air-gapped machine's part of ceremony KIND (activate, recover, rotate, drill):
preflight, then 'sdctl ceremony KIND --plan PLAN --machine offline [sdctl args...]', then
the witness checkpoint (transcript digest, bundle to carry and its SHA-256).

  --media DIR   the removable medium's mount point: checked by the preflight; the bundle
                written here is copied to it (and the copy checked); a bundle to import
                that is on it is passed as --bundle
  sdctl args    passed to sdctl as they are: --expect-sha256 HEX, --bundle FILE,
                --passphrase-file FILE and --transfer-code-file FILE (unattended),
                --yes, --allow-network (rehearsals)

Examples:
  $PROG --media /media/transfer activate /ceremony/plan.toml
  $PROG recover /ceremony/plan.toml --expect-sha256 3f2a91c0...   # as read on the online machine

The sdctl used is \$SDCTL if set, else 'sdctl' in PATH. Exit status: sdctl's (0 done,
handed off, waiting or stopped; 1 refused; 2 bad plan, bundle or usage; 3 wrong passphrase
or a bundle that does not authenticate under the run's transfer code),
or 1 when the preflight failed.
EOF2
}

ceremony_main offline "$@"
