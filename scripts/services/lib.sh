# Shared helpers for scripts/services/*.sh. Source it; do not run it.
# shellcheck shell=bash
# Everything here is bounded in time: no helper waits forever.

# The repository root, whatever the caller's working directory.
SERVICES_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Runtime state (data, logs, pid files, downloaded jars). Git-ignored.
SERVICES_STATE_DIR="${DAGGER_SERVICES_DIR:-$SERVICES_REPO_ROOT/.services}"

# Progress goes to stderr so that stdout carries only `export` lines (see up.sh).
svc_log() { printf '[services %s] %s\n' "${SVC_NAME:-}" "$*" >&2; }
svc_die() {
  printf '[services %s] ERROR: %s\n' "${SVC_NAME:-}" "$*" >&2
  exit 1
}

# svc_wait SECONDS DESCRIPTION COMMAND...: run COMMAND every 0.5 s until it
# succeeds; fail after SECONDS.
svc_wait() {
  local seconds="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  while ! "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      svc_log "timed out after ${seconds}s waiting for $what"
      return 1
    fi
    sleep 0.5
  done
}

# svc_pid_alive PID [PATTERN]: the process exists (and is no zombie) and, when
# PATTERN is given, its command line contains PATTERN (guards against a
# recycled pid after a crash or a reboot).
svc_pid_alive() {
  local pid="$1" pattern="${2:-}"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -d "/proc/$pid" ] || return 1
  local state
  state=$(awk '/^State:/{print $2}' "/proc/$pid/status" 2>/dev/null || true)
  [ "$state" != "Z" ] || return 1
  if [ -n "$pattern" ]; then
    tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$pattern" || return 1
  fi
  return 0
}

# svc_port_open HOST PORT: something accepts TCP connections there.
# svc_signal_and_wait PID PATTERN SIGNAL SECONDS: sends SIGNAL, then 0 once the process is gone,
# 1 if it still runs after SECONDS.
svc_signal_and_wait() {
  local pid="$1" pattern="$2" sig="$3" seconds="$4"
  kill "-$sig" "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + seconds))
  while svc_pid_alive "$pid" "$pattern"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

svc_port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# svc_is_root: true when running as root (CI, this machine).
svc_is_root() { [ "$(id -u)" = 0 ]; }

# svc_apt_install PACKAGE...: install Debian packages that are missing.
# Runs `apt-get update` only when the package lists are empty or the first
# install attempt fails (for instance on stale lists).
svc_apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -gt 0 ] || return 0
  svc_is_root || svc_die "missing Debian packages: ${missing[*]}; install them as root (apt-get install -y ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  local apt=(timeout 900 apt-get -y -q -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    svc_log "apt-get update (no package lists yet)"
    timeout 600 apt-get -q -o DPkg::Lock::Timeout=120 update >&2
  fi
  svc_log "apt-get install ${missing[*]}"
  if ! "${apt[@]}" install --no-install-recommends "${missing[@]}" </dev/null >&2; then
    svc_log "install failed; refreshing the package lists and retrying"
    timeout 600 apt-get -q -o DPkg::Lock::Timeout=120 update >&2
    "${apt[@]}" install --no-install-recommends "${missing[@]}" </dev/null >&2
  fi
}

# svc_lock NAME: serialize start/stop of one service between concurrent callers
# (say, two test runners). Holds file descriptor 9 until the script exits;
# long-lived children must be started with `9>&-` so they do not keep it.
svc_lock() {
  mkdir -p "$SERVICES_STATE_DIR"
  exec 9>"$SERVICES_STATE_DIR/.$1.lock"
  flock -w 300 9 || svc_die "another scripts/services call held the $1 lock for 300 s"
}
