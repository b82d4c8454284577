#!/usr/bin/env bash
# A dedicated PostgreSQL cluster for DAGGER's integration tests, from Debian's
# packages, run with pg_ctl (no systemd, no Debian cluster wrappers).
#
#   scripts/services/pg.sh start|stop|restart|status|env
#
# Environment (all optional):
#   DAGGER_PG_PORT     TCP port on 127.0.0.1                (default 55432)
#   DAGGER_PG_DIR      cluster base dir: data/, postgres.log (default .services/pg)
#   DAGGER_PG_BIN      PostgreSQL bin dir                    (default newest /usr/lib/postgresql/*/bin)
#   DAGGER_SERVICES_DIR  root of all runtime state           (default <repo>/.services)
set -euo pipefail
SVC_NAME=pg
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_PORT="${DAGGER_PG_PORT:-55432}"
PG_APP_USER=dagger
PG_APP_PASSWORD=dagger
PG_APP_DB=dagger
PG_URL="postgres://$PG_APP_USER:$PG_APP_PASSWORD@127.0.0.1:$PG_PORT/$PG_APP_DB"
PG_READY_TIMEOUT="${DAGGER_PG_READY_TIMEOUT:-60}"

# The OS user that owns the cluster: `postgres` when we are root (PostgreSQL
# refuses to run as root), else whoever runs this script.
if svc_is_root; then PG_OS_USER=postgres; else PG_OS_USER="$(id -un)"; fi

as_pg() {
  if svc_is_root; then
    (cd / && runuser -u "$PG_OS_USER" -- "$@")
  else
    (cd / && "$@")
  fi
}

pg_find_bin() {
  if [ -n "${DAGGER_PG_BIN:-}" ]; then
    PG_BIN="$DAGGER_PG_BIN"
  else
    PG_BIN="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1 || true)"
  fi
  [ -n "$PG_BIN" ] && [ -x "$PG_BIN/pg_ctl" ]
}

pg_install() {
  pg_find_bin && return 0
  svc_apt_install postgresql
  pg_find_bin || svc_die "postgresql installed but no pg_ctl under /usr/lib/postgresql/*/bin"
}

# Choose the cluster's base directory. The repo's .services/pg is preferred, but
# the `postgres` user must be able to reach it; if any parent directory is
# closed to it (a clone under /root, say), fall back to /var/lib/dagger-pg/<port>.
pg_choose_dirs() {
  local preferred="${DAGGER_PG_DIR:-$SERVICES_STATE_DIR/pg}"
  PG_BASE="$preferred"
  if svc_is_root; then
    mkdir -p "$PG_BASE"
    chown "$PG_OS_USER:" "$PG_BASE"
    chmod 700 "$PG_BASE"
    if ! as_pg test -w "$PG_BASE" -a -x "$PG_BASE"; then
      [ -z "${DAGGER_PG_DIR:-}" ] || svc_die "user $PG_OS_USER cannot write DAGGER_PG_DIR=$PG_BASE"
      PG_BASE="/var/lib/dagger-pg/$PG_PORT"
      svc_log "user $PG_OS_USER cannot reach $preferred; using $PG_BASE instead"
      mkdir -p "$PG_BASE"
      chown "$PG_OS_USER:" /var/lib/dagger-pg "$PG_BASE"
      chmod 700 "$PG_BASE"
    fi
  else
    mkdir -p "$PG_BASE"
    chmod 700 "$PG_BASE"
  fi
  PG_DATA="$PG_BASE/data"
  PG_LOG="$PG_BASE/postgres.log"
  touch "$PG_LOG"
  if svc_is_root; then chown "$PG_OS_USER:" "$PG_LOG"; fi
  # Unix socket (used only for the superuser's peer login). Socket paths are
  # limited to 107 bytes, so a deep checkout uses a directory under /tmp.
  PG_SOCKDIR="$PG_BASE/run"
  if [ "${#PG_SOCKDIR}" -gt 80 ]; then PG_SOCKDIR="/tmp/dagger-pg-$PG_PORT"; fi
}

# Same as pg_choose_dirs but without creating anything (for stop/status).
pg_locate_dirs() {
  PG_BASE="${DAGGER_PG_DIR:-$SERVICES_STATE_DIR/pg}"
  if [ -z "${DAGGER_PG_DIR:-}" ] && [ ! -f "$PG_BASE/data/PG_VERSION" ] && [ -f "/var/lib/dagger-pg/$PG_PORT/data/PG_VERSION" ]; then
    PG_BASE="/var/lib/dagger-pg/$PG_PORT"
  fi
  PG_DATA="$PG_BASE/data"
  PG_LOG="$PG_BASE/postgres.log"
  PG_SOCKDIR="$PG_BASE/run"
  if [ "${#PG_SOCKDIR}" -gt 80 ]; then PG_SOCKDIR="/tmp/dagger-pg-$PG_PORT"; fi
}

pg_initdb() {
  if [ -f "$PG_DATA/PG_VERSION" ]; then
    local have want
    have="$(cat "$PG_DATA/PG_VERSION")"
    want="$("$PG_BIN/postgres" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/')"
    [ "$have" = "$want" ] || svc_die "$PG_DATA was made by PostgreSQL $have but the binaries are $want; delete $PG_DATA to start afresh"
    return 0
  fi
  # A data dir without PG_VERSION is a half-finished initdb: start it over.
  rm -rf "$PG_DATA"
  svc_log "initdb $PG_DATA"
  as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_OS_USER" --no-locale --encoding=UTF8 \
    --auth-local=peer --auth-host=scram-sha-256 >>"$PG_LOG" 2>&1 ||
    svc_die "initdb failed; see $PG_LOG"
  printf "\n# DAGGER test-cluster settings, rewritten by scripts/services/pg.sh on every start\ninclude_if_exists = 'dagger.conf'\n" |
    as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
}

pg_write_conf() {
  mkdir -p "$PG_SOCKDIR"
  if svc_is_root; then chown "$PG_OS_USER:" "$PG_SOCKDIR"; fi
  chmod 700 "$PG_SOCKDIR"
  as_pg tee "$PG_DATA/dagger.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKDIR'
max_connections = 200
# A throw-away test database: durability against an OS crash is not needed.
# (A crash of the server process alone loses nothing with these settings.)
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
EOF
}

# The pid in postmaster.pid, if that process is a live postgres; else empty.
pg_running_pid() {
  [ -f "$PG_DATA/postmaster.pid" ] || return 1
  local pid
  pid="$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
  svc_pid_alive "$pid" postgres || return 1
  echo "$pid"
}

pg_isready() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2
}

pg_provision() {
  # Idempotent: role and database are created once, the password is reset every time.
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKDIR" -p "$PG_PORT" -d postgres >/dev/null <<EOF
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_APP_USER') THEN
    CREATE ROLE $PG_APP_USER LOGIN CREATEDB;
  END IF;
END
\$\$;
ALTER ROLE $PG_APP_USER WITH LOGIN CREATEDB PASSWORD '$PG_APP_PASSWORD';
SELECT 'CREATE DATABASE $PG_APP_DB OWNER $PG_APP_USER'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_APP_DB')
\gexec
EOF
}

pg_start() {
  pg_install
  pg_choose_dirs
  pg_initdb
  pg_write_conf
  local pid
  if pid="$(pg_running_pid)"; then
    svc_log "already running (pid $pid, port $PG_PORT)"
  else
    if [ -f "$PG_DATA/postmaster.pid" ]; then
      svc_log "removing stale postmaster.pid (its process is gone)"
      rm -f "$PG_DATA/postmaster.pid"
    fi
    rm -f "$PG_SOCKDIR/.s.PGSQL.$PG_PORT" "$PG_SOCKDIR/.s.PGSQL.$PG_PORT.lock"
    if svc_port_open 127.0.0.1 "$PG_PORT"; then
      svc_die "port $PG_PORT is taken by another process; set DAGGER_PG_PORT"
    fi
    svc_log "starting on 127.0.0.1:$PG_PORT (data $PG_DATA, log $PG_LOG)"
    if ! as_pg "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t "$PG_READY_TIMEOUT" >/dev/null 9>&-; then
      tail -n 20 "$PG_LOG" >&2 || true
      svc_die "pg_ctl start failed; see $PG_LOG"
    fi
  fi
  svc_wait "$PG_READY_TIMEOUT" "pg_isready on port $PG_PORT" pg_isready ||
    svc_die "server not ready; see $PG_LOG"
  pg_provision || svc_die "could not create role/database $PG_APP_USER/$PG_APP_DB"
  if [ -x "$PG_BIN/psql" ]; then
    PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -q -At "$PG_URL" -c 'SELECT 1' >/dev/null ||
      svc_die "cannot log in with $PG_URL"
  fi
  svc_log "ready: $PG_URL"
}

pg_stop() {
  pg_find_bin || {
    svc_log "not installed; nothing to stop"
    return 0
  }
  pg_locate_dirs
  local pid
  if ! pid="$(pg_running_pid)"; then
    svc_log "not running"
    return 0
  fi
  svc_log "stopping (pid $pid)"
  if ! as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 >/dev/null; then
    svc_log "fast shutdown timed out; immediate shutdown"
    as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m immediate -w -t 30 >/dev/null || true
  fi
  if svc_pid_alive "$pid" postgres; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  svc_log "stopped"
}

pg_status() {
  if ! pg_find_bin; then
    echo "pg: not installed"
    return 1
  fi
  pg_locate_dirs
  local pid
  if pid="$(pg_running_pid)" && pg_isready; then
    echo "pg: running (pid $pid) $PG_URL data=$PG_DATA"
  elif [ -n "${pid:-}" ]; then
    echo "pg: process $pid up but not accepting connections on $PG_PORT"
    return 1
  else
    echo "pg: stopped (data=$PG_DATA)"
    return 1
  fi
}

case "${1:-}" in
  start | stop | restart) svc_lock pg ;;
esac
case "${1:-}" in
  start) pg_start ;;
  stop) pg_stop ;;
  restart) pg_stop && pg_start ;;
  status) pg_status ;;
  env) echo "export DAGGER_PG_URL=$PG_URL" ;;
  *)
    echo "usage: $0 start|stop|restart|status|env" >&2
    exit 2
    ;;
esac
