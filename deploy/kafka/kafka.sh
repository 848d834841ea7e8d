#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker+controller) built from Maven Central jars.
#
# Usage: deploy/kafka/kafka.sh fetch|start|stop|status|restart|kill
#
#   fetch    copy the broker jars (deploy/kafka/pom.xml) into <repo>/var/kafka/libs (once;
#            marker file)
#   start    fetch if needed, render <state>/server.properties, format storage once,
#            start the broker in the background and wait until it serves on KAFKA_PORT;
#            no-op if running.
#            Last stdout line: KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:<port>, where <port> is the
#            broker's real listener port (KAFKA_PORT, or the running broker's), never the
#            advertised one: a client bootstraps there directly, then the metadata sends it to
#            127.0.0.1:<advertised port> for everything else.
#   stop     SIGTERM, wait up to 30 s, then SIGKILL
#   restart  stop, then start
#   kill     SIGKILL the broker at once (fault injection; an unclean shutdown that the next
#            start recovers from) and remove the pid file; no-op if not running
#   status   exit 0 if the broker is running
#
# Environment: KAFKA_PORT (default 19092), KAFKA_CONTROLLER_PORT (default 19093),
#              KAFKA_ADVERTISED_PORT (default KAFKA_PORT): the port written in
#                advertised.listeners, e.g. a TCP proxy in front of the broker (bench/chaos);
#                the proxy must forward to KAFKA_PORT, and need not be up for the broker to start,
#              KAFKA_NUM_PARTITIONS (default 3), JAVA_HOME (optional; otherwise java on PATH),
#              KAFKA_STATE_DIR (default <repo>/var/kafka): one broker's state: data/, logs/,
#                server.properties, cluster.id, kafka.pid, .lock. Several brokers with distinct
#                state dirs and ports can run side by side; they share the jars in
#                <repo>/var/kafka/libs (fetched once, under <repo>/var/kafka/.fetch.lock).
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd -P)
VAR_DIR=$REPO_ROOT/var
SHARED_DIR=$VAR_DIR/kafka  # the jars, shared by every state dir
LIBS_DIR=$SHARED_DIR/libs
LIBS_MARKER=$LIBS_DIR/.fetch-complete
KAFKA_VAR=${KAFKA_STATE_DIR:-$SHARED_DIR}
[[ $KAFKA_VAR == /* ]] || KAFKA_VAR=$PWD/$KAFKA_VAR
KAFKA_VAR=${KAFKA_VAR%/}
DATA_DIR=$KAFKA_VAR/data
LOG_DIR=$KAFKA_VAR/logs
PROPS=$KAFKA_VAR/server.properties
CLUSTER_ID_FILE=$KAFKA_VAR/cluster.id
PID_FILE=$KAFKA_VAR/kafka.pid
CONSOLE_LOG=$LOG_DIR/kafka.out
POM=$SCRIPT_DIR/pom.xml
TEMPLATE=$SCRIPT_DIR/server.properties.template
LOG4J_CONF=$SCRIPT_DIR/log4j2.properties

KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-19093}
KAFKA_ADVERTISED_PORT=${KAFKA_ADVERTISED_PORT:-$KAFKA_PORT}
KAFKA_NUM_PARTITIONS=${KAFKA_NUM_PARTITIONS:-3}
START_TIMEOUT=90
STOP_TIMEOUT=30
KILL_TIMEOUT=10
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

die() { echo "kafka.sh: error: $*" >&2; exit 1; }
warn() { echo "kafka.sh: warning: $*" >&2; }

ensure_var() {
  mkdir -p "$KAFKA_VAR" "$LOG_DIR"
}

# Serialise concurrent invocations on one state dir (e.g. parallel test sessions).
# fd 9 must not leak into the broker.
LOCKED=""
lock() {
  [[ -z $LOCKED ]] || return 0
  exec 9>"$KAFKA_VAR/.lock"
  flock -w 180 9 || die "timed out waiting for the lock $KAFKA_VAR/.lock"
  LOCKED=1
}

# Serialise fetches into the shared libs dir across all state dirs (fd 8, released after the
# fetch). Always taken after lock(), never before it, so the two locks cannot deadlock.
fetch_lock() {
  mkdir -p "$SHARED_DIR"
  exec 8>"$SHARED_DIR/.fetch.lock"
  flock -w 600 8 || die "timed out waiting for the lock $SHARED_DIR/.fetch.lock"
}
fetch_unlock() { exec 8>&-; }

check_port_number() {
  if ! [[ $2 =~ ^[1-9][0-9]{0,4}$ ]] || (($2 > 65535)); then
    die "$1 must be a TCP port number, got '$2'"
  fi
}

find_java() {
  if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
    JAVA=$JAVA_HOME/bin/java
  elif command -v java >/dev/null 2>&1; then
    JAVA=$(command -v java)
  else
    die "java not found (need OpenJDK 17+; e.g. apt-get install -y openjdk-17-jre-headless)"
  fi
  local spec
  spec=$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')
  if ! [[ ${spec%%.*} =~ ^[0-9]+$ ]] || ((${spec%%.*} < 17)); then
    die "Kafka 4.x needs Java 17+, but $JAVA is Java '${spec:-unknown}'"
  fi
}

# ---------------------------------------------------------------- fetch

pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }

libs_complete() {
  [[ -f $LIBS_MARKER ]] || return 1
  [[ $(head -n1 "$LIBS_MARKER") == "pom-sha256 $(pom_hash)" ]] || return 1
  local jar
  while IFS= read -r jar; do
    [[ -s $LIBS_DIR/$jar ]] || return 1
  done < <(tail -n +2 "$LIBS_MARKER")
}

cmd_fetch() {
  ensure_var
  fetch_lock
  if libs_complete; then
    fetch_unlock
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found (install Maven: apt-get install -y maven)"
  local tmp=$SHARED_DIR/libs.tmp.$$ fetch_log=$LOG_DIR/fetch.log
  rm -rf "$SHARED_DIR"/libs.tmp.*  # leftovers of interrupted fetches (we hold the fetch lock)
  # Maven 3.8 prints stray ANSI reset codes even with -B -q, so keep its output in a log.
  if ! mvn -B -q -f "$POM" "$DEPENDENCY_PLUGIN:copy-dependencies" \
      -DoutputDirectory="$tmp" -DincludeScope=runtime >"$fetch_log" 2>&1; then
    rm -rf "$tmp"
    sed 's/\x1b\[[0-9;]*m//g' "$fetch_log" | tail -n 40 >&2
    die "fetching the Kafka jars with Maven failed (full output: $fetch_log)"
  fi
  compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || { rm -rf "$tmp"; die "Maven ran but no kafka_2.13 jar appeared in $tmp"; }
  {
    echo "pom-sha256 $(pom_hash)"
    (cd "$tmp" && ls -1 -- *.jar)
  } >"$tmp/.fetch-complete"
  rm -rf "$LIBS_DIR"
  mv -T "$tmp" "$LIBS_DIR"
  fetch_unlock
}

# ---------------------------------------------------------------- process helpers

# 0 if the process exists and is not a zombie (an orphan may linger unreaped under some inits).
pid_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

# Prints the pid and returns 0 if the pid file names a live Kafka broker of this repo.
running_pid() {
  [[ -f $PID_FILE ]] || return 1
  local pid
  pid=$(<"$PID_FILE")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  pid_alive "$pid" || return 1
  # Guard against pid reuse: the command line must be our broker with our config.
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$PROPS" || return 1
  echo "$pid"
}

# 0 if something accepts TCP connections on 127.0.0.1:$1
port_answers() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

port_in_use() {
  if command -v ss >/dev/null 2>&1; then
    ss -Hltn "( sport = :$1 )" 2>/dev/null | grep -q . && return 0
  fi
  port_answers "$1"
}

port_owner() {
  command -v ss >/dev/null 2>&1 || return 0
  ss -Hltnp "( sport = :$1 )" 2>/dev/null | head -n 3
}

# The running broker's real PLAINTEXT listener port, and the port it advertises to clients.
running_port() { sed -n 's|^listeners=PLAINTEXT://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$PROPS" 2>/dev/null; }
running_advertised_port() {
  sed -n 's|^advertised\.listeners=PLAINTEXT://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$PROPS" 2>/dev/null
}

# ---------------------------------------------------------------- start

sed_escape() { printf '%s' "$1" | sed 's/[\\|&]/\\&/g'; }

render_config() {
  local tmp=$PROPS.tmp.$$
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
      -e "s|@KAFKA_ADVERTISED_PORT@|$KAFKA_ADVERTISED_PORT|g" \
      -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
      -e "s|@KAFKA_NUM_PARTITIONS@|$KAFKA_NUM_PARTITIONS|g" \
      -e "s|@KAFKA_DATA_DIR@|$(sed_escape "$DATA_DIR")|g" \
      "$TEMPLATE" >"$tmp"
  if grep -q '@[A-Z_]*@' "$tmp"; then
    rm -f "$tmp"
    die "unrendered placeholder left in $TEMPLATE"
  fi
  mv "$tmp" "$PROPS"
}

java_base() {
  JAVA_CMD=("$JAVA" -Dkafka.logs.dir="$LOG_DIR" -Dlog4j2.configurationFile="$LOG4J_CONF"
            -Djava.awt.headless=true -cp "$LIBS_DIR/*")
}

format_storage() {
  if [[ -f $DATA_DIR/meta.properties ]]; then
    [[ -s $CLUSTER_ID_FILE ]] || sed -n 's/^cluster\.id=//p' "$DATA_DIR/meta.properties" >"$CLUSTER_ID_FILE"
    return 0
  fi
  local cid out=$LOG_DIR/format.out
  if [[ ! -s $CLUSTER_ID_FILE ]]; then
    cid=$("${JAVA_CMD[@]}" -Xmx128m kafka.tools.StorageTool random-uuid 2>"$out" | tail -n1) ||
      { cat "$out" >&2; die "kafka.tools.StorageTool random-uuid failed"; }
    [[ $cid =~ ^[A-Za-z0-9_-]{22}$ ]] || die "unexpected cluster id from StorageTool: '$cid'"
    printf '%s\n' "$cid" >"$CLUSTER_ID_FILE"
  fi
  cid=$(<"$CLUSTER_ID_FILE")
  mkdir -p "$DATA_DIR"
  if ! "${JAVA_CMD[@]}" -Xmx256m kafka.tools.StorageTool format -g -t "$cid" -c "$PROPS" >"$out" 2>&1; then
    cat "$out" >&2
    die "formatting the Kafka storage in $DATA_DIR failed (cluster id $cid)"
  fi
}

cmd_start() {
  check_port_number KAFKA_PORT "$KAFKA_PORT"
  check_port_number KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
  check_port_number KAFKA_ADVERTISED_PORT "$KAFKA_ADVERTISED_PORT"
  [[ $KAFKA_PORT != "$KAFKA_CONTROLLER_PORT" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ"
  [[ $KAFKA_ADVERTISED_PORT != "$KAFKA_CONTROLLER_PORT" ]] ||
    die "KAFKA_ADVERTISED_PORT and KAFKA_CONTROLLER_PORT must differ"
  [[ $KAFKA_NUM_PARTITIONS =~ ^[1-9][0-9]*$ ]] || die "KAFKA_NUM_PARTITIONS must be a positive integer, got '$KAFKA_NUM_PARTITIONS'"
  ensure_var
  lock

  local pid port advertised
  if pid=$(running_pid); then
    port=$(running_port)
    advertised=$(running_advertised_port)
    [[ -n $port ]] || die "broker is running (pid $pid) but $PROPS has no PLAINTEXT listener"
    [[ -n $advertised ]] || die "broker is running (pid $pid) but $PROPS has no advertised listener"
    [[ $port == "$KAFKA_PORT" ]] ||
      warn "broker already running on port $port (pid $pid); KAFKA_PORT=$KAFKA_PORT ignored, stop it first to change"
    [[ $advertised == "$KAFKA_ADVERTISED_PORT" || $port != "$KAFKA_PORT" ]] ||
      warn "broker already running and advertising port $advertised (pid $pid); KAFKA_ADVERTISED_PORT=$KAFKA_ADVERTISED_PORT ignored, stop it first to change"
    echo "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$port"
    return 0
  fi
  rm -f "$PID_FILE"

  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_in_use "$port"; then
      echo "kafka.sh: error: port $port on 127.0.0.1 is already in use by another process;" \
           "set KAFKA_PORT / KAFKA_CONTROLLER_PORT to free ports" >&2
      port_owner "$port" >&2
      exit 1
    fi
  done

  find_java
  cmd_fetch
  render_config
  java_base
  format_storage

  : >"$CONSOLE_LOG"
  (
    cd "$KAFKA_VAR"
    exec 9>&- 8>&-
    exec setsid "${JAVA_CMD[@]}" -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
      kafka.Kafka "$PROPS" </dev/null >>"$CONSOLE_LOG" 2>&1
  ) &
  pid=$!
  echo "$pid" >"$PID_FILE"

  local deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if ! pid_alive "$pid"; then
      rm -f "$PID_FILE"
      tail -n 40 "$CONSOLE_LOG" >&2
      die "Kafka broker exited during startup (see $CONSOLE_LOG and $LOG_DIR/server.log)"
    fi
    if grep -qF 'Kafka Server started' "$CONSOLE_LOG" &&
       port_answers "$KAFKA_PORT"; then
      break
    fi
    if ((SECONDS >= deadline)); then
      tail -n 40 "$CONSOLE_LOG" >&2
      kill -TERM "$pid" 2>/dev/null || true
      die "Kafka broker did not become ready within ${START_TIMEOUT}s (pid $pid; see $CONSOLE_LOG); sent SIGTERM"
    fi
    sleep 0.5
  done
  echo "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT"
}

# ---------------------------------------------------------------- stop / status

cmd_stop() {
  ensure_var
  lock
  local pid
  if ! pid=$(running_pid); then
    rm -f "$PID_FILE"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while pid_alive "$pid" && ((SECONDS < deadline)); do
    sleep 0.5
  done
  if pid_alive "$pid"; then
    warn "broker (pid $pid) did not stop within ${STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do pid_alive "$pid" || break; sleep 0.25; done
  fi
  rm -f "$PID_FILE"
}

# SIGKILL, no grace period: the broker dies mid-write like on a power cut (fault injection).
cmd_kill() {
  ensure_var
  lock
  local pid
  if ! pid=$(running_pid); then
    rm -f "$PID_FILE"
    return 0
  fi
  kill -KILL "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + KILL_TIMEOUT))
  while pid_alive "$pid"; do
    ((SECONDS < deadline)) || die "broker (pid $pid) still alive ${KILL_TIMEOUT}s after SIGKILL"
    sleep 0.1
  done
  rm -f "$PID_FILE"
}

cmd_status() {
  local pid port advertised
  if pid=$(running_pid); then
    port=$(running_port)
    advertised=$(running_advertised_port)
    if [[ $advertised == "$port" ]]; then
      echo "kafka: running (pid $pid) on 127.0.0.1:$port"
    else
      echo "kafka: running (pid $pid) on 127.0.0.1:$port, advertising 127.0.0.1:$advertised"
    fi
    return 0
  fi
  echo "kafka: not running"
  return 1
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit 2
}

case ${1:-} in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  kill) cmd_kill ;;
  status) cmd_status ;;
  *) usage ;;
esac
