#!/usr/bin/env bash
# Stop the services that up.sh started (in reverse order). Data is kept under
# .services/; delete that directory for a clean slate.
#
#   bash scripts/services/down.sh [SERVICE...]    (npm run services:down)
set -euo pipefail
SVC_NAME=down
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEFAULT_SERVICES="pg kafka libvirt"
if [ "$#" -gt 0 ]; then services="$*"; else services="${DAGGER_SERVICES:-$DEFAULT_SERVICES}"; fi

here="$(dirname "${BASH_SOURCE[0]}")"
reversed=""
for svc in $services; do reversed="$svc $reversed"; done

failed=""
for svc in $reversed; do
  if [ ! -f "$here/$svc.sh" ]; then
    svc_log "unknown service '$svc'; skipped"
    continue
  fi
  bash "$here/$svc.sh" stop || failed="$failed $svc"
done
[ -z "$failed" ] || svc_die "could not stop:$failed"
