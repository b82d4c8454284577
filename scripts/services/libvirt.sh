#!/usr/bin/env bash
# libvirtd + virtlogd + QEMU from Debian's packages for DAGGER's libvirt applier
# and its integration tests, without systemd: the daemons run with -d and pid
# files under .services/libvirt; a dir storage pool and a VM network are set up.
#
#   scripts/services/libvirt.sh start|stop|restart|status|env
#
# Environment (all optional; src/provisioning/libvirt-defaults.ts has the same defaults):
#   DAGGER_LIBVIRT_URI        connection URI               (default qemu:///system)
#   DAGGER_LIBVIRT_POOL       storage pool name            (default dagger)
#   DAGGER_LIBVIRT_POOL_PATH  the pool's target directory  (default .services/libvirt/pool)
#   DAGGER_LIBVIRT_NETWORK    VM network                   (default `default`, libvirt's NAT network)
#   DAGGER_LIBVIRT_DOMAIN_TYPE kvm|qemu                    (default kvm when /dev/kvm exists)
#   DAGGER_LIBVIRT_READY_TIMEOUT seconds to wait for libvirtd (default 60)
#   DAGGER_SERVICES_DIR       root of all runtime state    (default <repo>/.services)
set -euo pipefail
SVC_NAME=libvirt
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LV_DIR="$SERVICES_STATE_DIR/libvirt"
LV_URI="${DAGGER_LIBVIRT_URI:-qemu:///system}"
LV_POOL="${DAGGER_LIBVIRT_POOL:-dagger}"
# Written only when libvirt-qemu cannot reach .services/libvirt/pool and a system path is used.
LV_POOL_PATH_FILE="$LV_DIR/pool-path"
LV_FALLBACK_POOL_PATH=/var/lib/dagger-libvirt/pool
if [ -n "${DAGGER_LIBVIRT_POOL_PATH:-}" ]; then
  LV_POOL_PATH="$DAGGER_LIBVIRT_POOL_PATH"
elif [ -s "$LV_POOL_PATH_FILE" ]; then
  LV_POOL_PATH="$(cat "$LV_POOL_PATH_FILE")"
else
  LV_POOL_PATH="$LV_DIR/pool"
fi
LV_READY_TIMEOUT="${DAGGER_LIBVIRT_READY_TIMEOUT:-60}"
LV_LIBVIRTD_PID="$LV_DIR/libvirtd.pid"
LV_VIRTLOGD_PID="$LV_DIR/virtlogd.pid"
LV_LOG="$LV_DIR/libvirtd.log"
# Written only when libvirt's NAT network cannot run here and an isolated one is used instead.
LV_NETWORK_FILE="$LV_DIR/network"
LV_ISOLATED_NETWORK=dagger-isolated
LV_PACKAGES=(libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu qemu-system-x86
  qemu-utils genisoimage cloud-image-utils dnsmasq-base)

lv_virsh() { timeout 30 virsh -q -c "$LV_URI" "$@"; }

lv_network() {
  if [ -n "${DAGGER_LIBVIRT_NETWORK:-}" ]; then
    echo "$DAGGER_LIBVIRT_NETWORK"
  elif [ -s "$LV_NETWORK_FILE" ]; then
    cat "$LV_NETWORK_FILE"
  else
    echo default
  fi
}

# The same rule as libvirtDefaults(): kvm when /dev/kvm exists (start makes it usable).
lv_domain_type() {
  if [ -n "${DAGGER_LIBVIRT_DOMAIN_TYPE:-}" ]; then
    echo "$DAGGER_LIBVIRT_DOMAIN_TYPE"
  elif [ -e /dev/kvm ]; then
    echo kvm
  else
    echo qemu
  fi
}

lv_ready() { lv_virsh version >/dev/null 2>&1; }

# lv_own_pid FILE NAME: the pid in FILE if it is a live NAME process.
lv_own_pid() {
  [ -f "$1" ] || return 1
  local pid
  pid="$(cat "$1" 2>/dev/null || true)"
  svc_pid_alive "$pid" "$2" || return 1
  echo "$pid"
}

# lv_any_alive NAME: some NAME process runs (zombies do not count: nothing may reap them here).
lv_any_alive() {
  local pid
  for pid in $(pgrep -x "$1" || true); do
    svc_pid_alive "$pid" && return 0
  done
  return 1
}

lv_kvm() {
  if [ ! -e /dev/kvm ]; then
    svc_log "no /dev/kvm: VMs run under TCG (domain type qemu)"
    return 0
  fi
  # What udev's rule would do on a systemd machine: group kvm, mode 0660.
  if ! { chgrp kvm /dev/kvm && chmod 0660 /dev/kvm; }; then
    svc_log "could not set group kvm, mode 0660 on /dev/kvm"
  fi
}

lv_start_daemons() {
  mkdir -p "$LV_DIR"
  local pid
  if pid="$(lv_own_pid "$LV_VIRTLOGD_PID" virtlogd)"; then
    svc_log "virtlogd already running (pid $pid)"
  elif lv_any_alive virtlogd; then
    svc_log "a virtlogd not started by this script is running; using it"
  else
    rm -f "$LV_VIRTLOGD_PID"
    svc_log "starting virtlogd"
    virtlogd -d -p "$LV_VIRTLOGD_PID" 9>&- || svc_die "virtlogd -d failed"
  fi
  if pid="$(lv_own_pid "$LV_LIBVIRTD_PID" libvirtd)"; then
    svc_log "libvirtd already running (pid $pid)"
  elif lv_ready; then
    svc_log "a libvirtd not started by this script answers on $LV_URI; using it"
  else
    rm -f "$LV_LIBVIRTD_PID"
    svc_log "starting libvirtd (log $LV_LOG)"
    LIBVIRT_LOG_OUTPUTS="3:file:$LV_LOG" libvirtd -d -p "$LV_LIBVIRTD_PID" 9>&- ||
      svc_die "libvirtd -d failed; see $LV_LOG"
  fi
  if ! svc_wait "$LV_READY_TIMEOUT" "virsh -c $LV_URI version" lv_ready; then
    tail -n 20 "$LV_LOG" >&2 2>/dev/null || true
    svc_die "libvirtd does not answer on $LV_URI; see $LV_LOG"
  fi
}

lv_pool() {
  local xml target
  mkdir -p "$LV_POOL_PATH"
  # QEMU runs as libvirt-qemu: it must reach the volumes. A clone under a closed directory
  # (/root, say) gets a system path instead, recorded for libvirtDefaults() and `env`.
  if id libvirt-qemu >/dev/null 2>&1 && ! runuser -u libvirt-qemu -- test -x "$LV_POOL_PATH"; then
    [ -z "${DAGGER_LIBVIRT_POOL_PATH:-}" ] ||
      svc_die "user libvirt-qemu cannot reach DAGGER_LIBVIRT_POOL_PATH=$LV_POOL_PATH (a parent directory is closed)"
    svc_log "user libvirt-qemu cannot reach $LV_POOL_PATH; using $LV_FALLBACK_POOL_PATH instead"
    LV_POOL_PATH="$LV_FALLBACK_POOL_PATH"
    mkdir -p "$LV_POOL_PATH"
    echo "$LV_POOL_PATH" >"$LV_POOL_PATH_FILE"
  fi
  if xml="$(lv_virsh pool-dumpxml "$LV_POOL" 2>/dev/null)"; then
    target="$(sed -n 's:.*<path>\(.*\)</path>.*:\1:p' <<<"$xml" | head -n 1)"
    if [ "$target" != "$LV_POOL_PATH" ]; then
      # The pool is the system's, the path a clone's: a pool left by a clone that is gone (or
      # that holds nothing) moves here; one still in use elsewhere is not taken over.
      local vols=""
      [ ! -d "$target" ] || vols="$(lv_virsh vol-list "$LV_POOL" 2>/dev/null || true)"
      if [ -n "$vols" ]; then
        svc_die "storage pool $LV_POOL exists with target $target (holding volumes), not $LV_POOL_PATH. Set DAGGER_LIBVIRT_POOL_PATH=$target, or remove that pool: virsh pool-destroy $LV_POOL; virsh pool-undefine $LV_POOL"
      fi
      svc_log "storage pool $LV_POOL had target $target (gone or empty); moving it to $LV_POOL_PATH"
      lv_virsh pool-destroy "$LV_POOL" >/dev/null 2>&1 || true
      lv_virsh pool-undefine "$LV_POOL" >/dev/null || svc_die "pool-undefine $LV_POOL failed"
      lv_virsh pool-define-as "$LV_POOL" dir --target "$LV_POOL_PATH" >/dev/null ||
        svc_die "pool-define-as $LV_POOL failed"
    fi
  else
    svc_log "defining dir pool $LV_POOL at $LV_POOL_PATH"
    lv_virsh pool-define-as "$LV_POOL" dir --target "$LV_POOL_PATH" >/dev/null ||
      svc_die "pool-define-as $LV_POOL failed"
  fi
  lv_virsh pool-build "$LV_POOL" >/dev/null 2>&1 || true
  if ! lv_pool_active "$LV_POOL"; then
    lv_virsh pool-start "$LV_POOL" >/dev/null || svc_die "pool-start $LV_POOL failed"
  fi
  lv_virsh pool-autostart "$LV_POOL" >/dev/null || true
}

# Output is captured before grep: with pipefail, grep -q closing the pipe early fails the pipeline.
lv_net_active() {
  local out
  out="$(lv_virsh net-info "$1" 2>/dev/null)" && grep -q '^Active:.*yes' <<<"$out"
}
lv_pool_active() {
  local out
  out="$(lv_virsh pool-info "$1" 2>/dev/null)" && grep -q '^State:.*running' <<<"$out"
}

lv_network_up() {
  local net
  net="$(lv_network)"
  if [ "$net" = default ]; then
    if ! lv_virsh net-info default >/dev/null 2>&1; then
      [ -f /usr/share/libvirt/networks/default.xml ] || svc_die "no network default and no /usr/share/libvirt/networks/default.xml"
      lv_virsh net-define /usr/share/libvirt/networks/default.xml >/dev/null || svc_die "net-define default failed"
    fi
    if lv_net_active default || lv_virsh net-start default >/dev/null 2>&1; then
      lv_virsh net-autostart default >/dev/null || true
      rm -f "$LV_NETWORK_FILE"
      return 0
    fi
    svc_log "libvirt's NAT network default cannot start here; using isolated network $LV_ISOLATED_NETWORK (no forward, no DHCP)"
    net="$LV_ISOLATED_NETWORK"
    echo "$net" >"$LV_NETWORK_FILE"
    svc_log "WARNING: code that does not eval '$0 env' assumes network default; export DAGGER_LIBVIRT_NETWORK=$net"
  fi
  if ! lv_virsh net-info "$net" >/dev/null 2>&1; then
    [ "$net" = "$LV_ISOLATED_NETWORK" ] || svc_die "network $net is not defined in $LV_URI"
    local xml="$LV_DIR/$net.xml"
    printf "<network>\n  <name>%s</name>\n  <bridge name='virbr-dagger' stp='off'/>\n</network>\n" "$net" >"$xml"
    lv_virsh net-define "$xml" >/dev/null || svc_die "net-define $net failed"
  fi
  lv_net_active "$net" || lv_virsh net-start "$net" >/dev/null || svc_die "net-start $net failed"
  lv_virsh net-autostart "$net" >/dev/null || true
}

lv_start() {
  svc_is_root || svc_die "$LV_URI needs root (libvirtd and the pool are the system's)"
  svc_apt_install "${LV_PACKAGES[@]}"
  lv_kvm
  lv_start_daemons
  lv_pool
  lv_network_up
  local type
  type="$(lv_domain_type)"
  if [ "$type" = kvm ] && ! lv_virsh domcapabilities --virttype kvm >/dev/null 2>&1; then
    svc_log "WARNING: /dev/kvm exists but libvirt cannot use KVM; export DAGGER_LIBVIRT_DOMAIN_TYPE=qemu"
  fi
  svc_log "ready: $LV_URI pool $LV_POOL ($LV_POOL_PATH) network $(lv_network) domain type $type"
}

# lv_stop_pid FILE NAME: SIGTERM, wait up to 30 s, then SIGKILL.
lv_stop_pid() {
  local pid
  if ! pid="$(lv_own_pid "$1" "$2")"; then
    svc_log "$2 not running (or not started by this script)"
    rm -f "$1"
    return 0
  fi
  svc_log "stopping $2 (pid $pid)"
  if ! svc_signal_and_wait "$pid" "$2" TERM 30; then
    svc_log "$2 did not stop in 30 s; SIGKILL"
    svc_signal_and_wait "$pid" "$2" KILL 10 || svc_log "$2 (pid $pid) survived SIGKILL"
  fi
  rm -f "$1"
}

# Only the daemons: VMs, the pool and the network stay (tests remove their own domains).
lv_stop() {
  lv_stop_pid "$LV_LIBVIRTD_PID" libvirtd
  lv_stop_pid "$LV_VIRTLOGD_PID" virtlogd
}

lv_status() {
  if ! command -v virsh >/dev/null; then
    echo "libvirt: not installed"
    return 1
  fi
  if ! lv_ready; then
    echo "libvirt: libvirtd not answering on $LV_URI"
    return 1
  fi
  if ! lv_any_alive virtlogd; then
    echo "libvirt: virtlogd not running (QEMU cannot start without it)"
    return 1
  fi
  local net pid
  net="$(lv_network)"
  pid="$(lv_own_pid "$LV_LIBVIRTD_PID" libvirtd || echo 'not ours')"
  if ! lv_pool_active "$LV_POOL"; then
    echo "libvirt: libvirtd up (pid $pid) but pool $LV_POOL is not running"
    return 1
  fi
  if ! lv_net_active "$net"; then
    echo "libvirt: libvirtd up (pid $pid) but network $net is not active"
    return 1
  fi
  echo "libvirt: running (libvirtd pid $pid) $LV_URI pool=$LV_POOL ($LV_POOL_PATH) network=$net type=$(lv_domain_type)"
}

lv_env() {
  echo "export DAGGER_LIBVIRT_URI=$LV_URI"
  echo "export DAGGER_LIBVIRT_POOL=$LV_POOL"
  echo "export DAGGER_LIBVIRT_POOL_PATH=$LV_POOL_PATH"
  echo "export DAGGER_LIBVIRT_NETWORK=$(lv_network)"
  echo "export DAGGER_LIBVIRT_DOMAIN_TYPE=$(lv_domain_type)"
}

case "${1:-}" in
  start | stop | restart) svc_lock libvirt ;;
esac
case "${1:-}" in
  start) lv_start ;;
  stop) lv_stop ;;
  restart) lv_stop && lv_start ;;
  status) lv_status ;;
  env) lv_env ;;
  *)
    echo "usage: $0 start|stop|restart|status|env" >&2
    exit 2
    ;;
esac
