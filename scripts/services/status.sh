#!/usr/bin/env bash
# One line per service; exits non-zero when any of them is not up.
#
#   bash scripts/services/status.sh [SERVICE...]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEFAULT_SERVICES="pg kafka libvirt"
if [ "$#" -gt 0 ]; then services="$*"; else services="${DAGGER_SERVICES:-$DEFAULT_SERVICES}"; fi

here="$(dirname "${BASH_SOURCE[0]}")"
rc=0
for svc in $services; do
  if [ ! -f "$here/$svc.sh" ]; then
    echo "$svc: unknown service"
    rc=1
    continue
  fi
  bash "$here/$svc.sh" status || rc=1
done
exit "$rc"
