#!/usr/bin/env bash
# Start the services DAGGER's integration tests use, idempotently, and print
# the environment that points the tests at them.
#
#   bash scripts/services/up.sh [SERVICE...]      (npm run services:up)
#   eval "$(bash scripts/services/up.sh)"         to load the exports into a shell
#
# Services come from the arguments, else from DAGGER_SERVICES, else the default
# list below. Progress goes to stderr; stdout carries only `export` lines.
#
# Adding a service: write
# scripts/services/NAME.sh with the subcommands start|stop|status|env, every one
# of them idempotent and bounded in time, and add NAME to DEFAULT_SERVICES here
# and to the list in down.sh and status.sh.
set -euo pipefail
SVC_NAME=up
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEFAULT_SERVICES="pg kafka libvirt"
if [ "$#" -gt 0 ]; then services="$*"; else services="${DAGGER_SERVICES:-$DEFAULT_SERVICES}"; fi

here="$(dirname "${BASH_SOURCE[0]}")"
for svc in $services; do
  [ -f "$here/$svc.sh" ] || svc_die "unknown service '$svc' (known: $DEFAULT_SERVICES)"
done

total_start=$SECONDS
for svc in $services; do
  t=$SECONDS
  bash "$here/$svc.sh" start
  svc_log "$svc up in $((SECONDS - t))s"
done
svc_log "all up in $((SECONDS - total_start))s: $services"

for svc in $services; do
  bash "$here/$svc.sh" env
done
