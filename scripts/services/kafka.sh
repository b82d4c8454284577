#!/usr/bin/env bash
# A single-node Apache Kafka broker (KRaft, combined broker + controller) for
# DAGGER's integration tests, run from Maven Central jars on Java 17+.
#
#   scripts/services/kafka.sh start|stop|restart|kill|status|env
#   scripts/services/kafka.sh tool MAIN-CLASS [ARGS...]   run a Kafka tool class on the broker's classpath
#
# `kill` sends SIGKILL (a crash, for failure tests); `stop` shuts down cleanly.
#
# Environment (all optional):
#   DAGGER_KAFKA_PORT             PLAINTEXT listener on 127.0.0.1   (default 59092)
#   DAGGER_KAFKA_CONTROLLER_PORT  KRaft controller listener         (default 59093)
#   DAGGER_KAFKA_DIR              state: libs/, data/, kafka.log    (default .services/kafka)
#   DAGGER_KAFKA_HEAP             JVM heap flags                    (default "-Xms256m -Xmx512m")
#   DAGGER_KAFKA_READY_TIMEOUT    seconds to wait for readiness     (default 90)
#   DAGGER_KAFKA_STOP_TIMEOUT     seconds between SIGTERM and SIGKILL (default 30)
#   DAGGER_KAFKA_TOOL_TIMEOUT     time limit of `tool`, in seconds  (default 300)
#   DAGGER_SERVICES_DIR           root of all runtime state         (default <repo>/.services)
set -euo pipefail
SVC_NAME=kafka
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_PORT="${DAGGER_KAFKA_PORT:-59092}"
KAFKA_CONTROLLER_PORT="${DAGGER_KAFKA_CONTROLLER_PORT:-59093}"
KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
KAFKA_DIR="${DAGGER_KAFKA_DIR:-$SERVICES_STATE_DIR/kafka}"
KAFKA_LIBS="$KAFKA_DIR/libs"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_LOG="$KAFKA_DIR/kafka.log"
KAFKA_PIDFILE="$KAFKA_DIR/kafka.pid"
KAFKA_CONF="$KAFKA_DIR/server.properties"
KAFKA_CLUSTER_ID_FILE="$KAFKA_DIR/cluster-id"
KAFKA_SRC="$SERVICES_REPO_ROOT/services/kafka"
KAFKA_POM="$KAFKA_SRC/pom.xml"
KAFKA_READY_TIMEOUT="${DAGGER_KAFKA_READY_TIMEOUT:-90}"
KAFKA_STOP_TIMEOUT="${DAGGER_KAFKA_STOP_TIMEOUT:-30}"
# Identifies our broker process (and no other broker) on its command line.
KAFKA_PROC_MARK="kafka.Kafka $KAFKA_CONF"

java_major() {
  java -version 2>&1 | sed -nE '1s/.*version "([0-9]+)(\.[0-9]+)*.*/\1/p; 1s/.*version "1\.([0-9]+).*/\1/p' | head -n 1
}

kafka_prereqs() {
  if ! command -v java >/dev/null 2>&1; then svc_apt_install openjdk-17-jre-headless; fi
  local major
  major="$(java_major)"
  if [ -z "$major" ] || [ "$major" -lt 17 ]; then
    svc_die "the Kafka broker needs Java 17 or newer; java -version says ${major:-nothing}"
  fi
  if ! command -v mvn >/dev/null 2>&1; then svc_apt_install maven; fi
}

# Fetch the jars listed in services/kafka/pom.xml into .services/kafka/libs
# (Maven caches them in ~/.m2). Re-fetched only when the pom changes.
kafka_fetch_libs() {
  local want have=""
  want="$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)"
  [ -f "$KAFKA_LIBS/.pom.sha256" ] && have="$(cat "$KAFKA_LIBS/.pom.sha256")"
  if [ "$want" = "$have" ] && compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null; then return 0; fi
  svc_log "fetching the broker's jars with Maven (pom $KAFKA_POM)"
  local tmp="$KAFKA_DIR/libs.tmp" out
  rm -rf "$tmp"
  mkdir -p "$KAFKA_DIR"
  if ! out="$(timeout 900 mvn -q -B -f "$KAFKA_POM" dependency:copy-dependencies -DoutputDirectory="$tmp" </dev/null 2>&1)"; then
    printf '%s\n' "$out" | tail -n 40 >&2
    svc_die "mvn dependency:copy-dependencies failed"
  fi
  echo "$want" >"$tmp/.pom.sha256"
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
}

kafka_java() { # SECONDS MAIN-CLASS [ARGS...]: run a Kafka main class with the tools' logging (warnings to stderr)
  local seconds="$1"
  shift
  timeout "$seconds" java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_SRC/tools-log4j2.xml" -cp "$KAFKA_LIBS/*" "$@"
}

kafka_render_conf() {
  mkdir -p "$KAFKA_DATA"
  sed -e "s|@BROKER_PORT@|$KAFKA_PORT|g" \
    -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@LOG_DIRS@|$KAFKA_DATA|g" \
    "$KAFKA_SRC/server.properties.template" >"$KAFKA_CONF.tmp"
  mv "$KAFKA_CONF.tmp" "$KAFKA_CONF"
}

# Format the KRaft storage once, with a cluster id generated once and kept in
# .services/kafka/cluster-id.
kafka_format() {
  local id=""
  if [ -f "$KAFKA_DATA/meta.properties" ]; then
    id="$(sed -n 's/^cluster.id=//p' "$KAFKA_DATA/meta.properties")"
    [ -n "$id" ] || svc_die "$KAFKA_DATA/meta.properties has no cluster.id; delete $KAFKA_DATA to start afresh"
    [ -f "$KAFKA_CLUSTER_ID_FILE" ] || echo "$id" >"$KAFKA_CLUSTER_ID_FILE"
    return 0
  fi
  # No meta.properties: nothing usable in data/ (a first start or a format that
  # was interrupted), so begin with an empty directory.
  rm -rf "$KAFKA_DATA"
  mkdir -p "$KAFKA_DATA"
  if [ -s "$KAFKA_CLUSTER_ID_FILE" ]; then
    id="$(cat "$KAFKA_CLUSTER_ID_FILE")"
  else
    id="$(kafka_java 60 kafka.tools.StorageTool random-uuid | tail -n 1)"
    [[ "$id" =~ ^[A-Za-z0-9_-]{22}$ ]] || svc_die "StorageTool random-uuid printed '$id'"
    echo "$id" >"$KAFKA_CLUSTER_ID_FILE"
  fi
  svc_log "formatting $KAFKA_DATA (cluster id $id)"
  local out
  if ! out="$(kafka_java 120 kafka.tools.StorageTool format -t "$id" -c "$KAFKA_CONF" --ignore-formatted 2>&1)"; then
    printf '%s\n' "$out" >&2
    svc_die "kafka-storage format failed"
  fi
}

# The pid of our broker: from the pid file if it is live, else found by the
# exact command line (a lost pid file); empty when none runs.
kafka_pid() {
  local pid=""
  if [ -f "$KAFKA_PIDFILE" ]; then
    pid="$(cat "$KAFKA_PIDFILE" 2>/dev/null || true)"
    if svc_pid_alive "$pid" "$KAFKA_PROC_MARK"; then
      echo "$pid"
      return 0
    fi
  fi
  local p
  for p in /proc/[0-9]*; do
    p="${p#/proc/}"
    if svc_pid_alive "$p" "$KAFKA_PROC_MARK"; then
      echo "$p" >"$KAFKA_PIDFILE"
      echo "$p"
      return 0
    fi
  done
  return 1
}

# A real Kafka request: ApiVersions v0 (api key 18) with correlation id 1.
# Succeeds when the broker answers it with error code 0.
kafka_probe() {
  local resp
  # shellcheck disable=SC2016 # expanded by the inner bash
  resp="$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x01\xff\xff" >&3
    head -c 10 <&3 | od -An -tx1 | tr -d " \n"' _ "$KAFKA_PORT" 2>/dev/null)" || return 1
  # size (4 bytes), correlation id 1 (4 bytes), error code 0 (2 bytes)
  [[ "$resp" =~ ^[0-9a-f]{8}000000010000$ ]]
}

# Ready: our process is alive, it logged that it started (after byte offset $1
# of the log), and it answers a Kafka request.
kafka_ready() {
  local pid="$1" offset="$2"
  svc_pid_alive "$pid" "$KAFKA_PROC_MARK" || return 2
  tail -c +"$((offset + 1))" "$KAFKA_LOG" | grep -q 'Kafka Server started' || return 1
  kafka_probe
}

kafka_wait_ready() {
  local pid="$1" offset="$2" deadline=$((SECONDS + KAFKA_READY_TIMEOUT)) rc
  while :; do
    rc=0
    kafka_ready "$pid" "$offset" || rc=$?
    [ "$rc" != 0 ] || return 0
    if [ "$rc" = 2 ]; then
      tail -n 30 "$KAFKA_LOG" >&2 || true
      svc_die "the broker (pid $pid) exited during startup; see $KAFKA_LOG"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$KAFKA_LOG" >&2 || true
      svc_die "the broker (pid $pid) was not ready after ${KAFKA_READY_TIMEOUT}s; see $KAFKA_LOG"
    fi
    sleep 0.5
  done
}

kafka_start() {
  kafka_prereqs
  mkdir -p "$KAFKA_DIR"
  kafka_fetch_libs
  local pid
  if pid="$(kafka_pid)"; then
    if kafka_probe; then
      svc_log "already running (pid $pid) on $KAFKA_BROKERS"
      return 0
    fi
    svc_log "pid $pid is running but not answering yet; waiting"
    kafka_wait_ready "$pid" 0
    svc_log "ready: $KAFKA_BROKERS (pid $pid)"
    return 0
  fi
  if [ -f "$KAFKA_PIDFILE" ]; then
    svc_log "removing stale pid file (its process is gone)"
    rm -f "$KAFKA_PIDFILE"
  fi
  local port
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if svc_port_open 127.0.0.1 "$port"; then
      svc_die "port $port is taken by another process; set DAGGER_KAFKA_PORT / DAGGER_KAFKA_CONTROLLER_PORT"
    fi
  done
  kafka_render_conf
  kafka_format

  # Keep the log from growing without bound across many restarts.
  if [ -f "$KAFKA_LOG" ] && [ "$(stat -c %s "$KAFKA_LOG")" -gt $((50 * 1024 * 1024)) ]; then
    mv -f "$KAFKA_LOG" "$KAFKA_LOG.1"
  fi
  touch "$KAFKA_LOG"
  local offset
  offset="$(stat -c %s "$KAFKA_LOG")"
  printf '\n===== %s scripts/services/kafka.sh start =====\n' "$(date -u +%FT%TZ)" >>"$KAFKA_LOG"

  # What bin/kafka-server-start.sh would run. A new session, no terminal and
  # no inherited stdio: the broker outlives this script and its caller.
  # shellcheck disable=SC2086,SC2016 # word-split heap flags; $$ and $@ belong to the inner bash
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$KAFKA_PIDFILE" \
    java ${DAGGER_KAFKA_HEAP:--Xms256m -Xmx512m} \
    -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_SRC/log4j2.xml" -Dkafka.logs.dir="$KAFKA_DIR" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_CONF" \
    </dev/null >>"$KAFKA_LOG" 2>&1 9>&- &
  local _
  for _ in $(seq 1 50); do
    pid="$(cat "$KAFKA_PIDFILE" 2>/dev/null || true)"
    if svc_pid_alive "$pid" "$KAFKA_PROC_MARK"; then break; fi
    sleep 0.1
  done
  svc_pid_alive "$pid" "$KAFKA_PROC_MARK" || {
    tail -n 30 "$KAFKA_LOG" >&2 || true
    svc_die "the broker did not start; see $KAFKA_LOG"
  }
  svc_log "started pid $pid on $KAFKA_BROKERS (controller 127.0.0.1:$KAFKA_CONTROLLER_PORT, log $KAFKA_LOG); waiting up to ${KAFKA_READY_TIMEOUT}s"
  kafka_wait_ready "$pid" "$offset"
  svc_log "ready: $KAFKA_BROKERS (pid $pid)"
}

kafka_stop() {
  local pid
  if ! pid="$(kafka_pid)"; then
    rm -f "$KAFKA_PIDFILE"
    svc_log "not running"
    return 0
  fi
  svc_log "stopping pid $pid (SIGTERM, up to ${KAFKA_STOP_TIMEOUT}s)"
  if ! svc_signal_and_wait "$pid" "$KAFKA_PROC_MARK" TERM "$KAFKA_STOP_TIMEOUT"; then
    svc_log "still running after ${KAFKA_STOP_TIMEOUT}s; SIGKILL"
    svc_signal_and_wait "$pid" "$KAFKA_PROC_MARK" KILL 10 || svc_die "pid $pid survived SIGKILL"
  fi
  rm -f "$KAFKA_PIDFILE"
  svc_log "stopped"
}

kafka_kill() {
  local pid
  if ! pid="$(kafka_pid)"; then
    svc_log "not running"
    return 0
  fi
  svc_log "killing pid $pid (SIGKILL)"
  svc_signal_and_wait "$pid" "$KAFKA_PROC_MARK" KILL 10 || svc_die "pid $pid survived SIGKILL"
  # The pid file stays behind, as after a real crash; start handles it.
}

kafka_status() {
  local pid
  if pid="$(kafka_pid)"; then
    if kafka_probe; then
      echo "kafka: running (pid $pid) $KAFKA_BROKERS data=$KAFKA_DATA"
      return 0
    fi
    echo "kafka: process $pid up but not answering on $KAFKA_BROKERS"
    return 1
  fi
  echo "kafka: stopped (data=$KAFKA_DATA)"
  return 1
}

case "${1:-}" in
  start | stop | restart | kill) svc_lock kafka ;;
esac
case "${1:-}" in
  start) kafka_start ;;
  stop) kafka_stop ;;
  restart) kafka_stop && kafka_start ;;
  kill) kafka_kill ;;
  status) kafka_status ;;
  env) echo "export DAGGER_KAFKA_BROKERS=$KAFKA_BROKERS" ;;
  tool)
    shift
    [ "$#" -ge 1 ] || svc_die "usage: $0 tool MAIN-CLASS [ARGS...]"
    compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null || svc_die "no jars in $KAFKA_LIBS yet; run $0 start first"
    kafka_java "${DAGGER_KAFKA_TOOL_TIMEOUT:-300}" "$@"
    ;;
  *)
    echo "usage: $0 start|stop|restart|kill|status|env|tool MAIN-CLASS [ARGS...]" >&2
    exit 2
    ;;
esac
