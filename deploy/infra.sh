#!/usr/bin/env bash
# Local infrastructure for development and integration tests: Kafka (KRaft, single node) + PostgreSQL.
#
# Usage: deploy/infra.sh start|stop|status|env
#
#   start   start PostgreSQL and Kafka (each a no-op if already running) and write var/infra.env:
#             export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:<KAFKA_PORT>
#             export DATABASE_URL=postgresql://postgres@127.0.0.1:<PG_PORT>/postgres
#           then print var/infra.env
#   stop    stop both and remove var/infra.env
#   status  exit 0 if both are running
#   env     print var/infra.env (fails if infra was not started); use: eval "$(deploy/infra.sh env)"
#
# Environment: KAFKA_PORT, KAFKA_CONTROLLER_PORT, PG_PORT (see deploy/kafka/kafka.sh, deploy/postgres/pg.sh).
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd -P)
ENV_FILE=$REPO_ROOT/var/infra.env
KAFKA_SH=$SCRIPT_DIR/kafka/kafka.sh
PG_SH=$SCRIPT_DIR/postgres/pg.sh

die() { echo "infra.sh: error: $*" >&2; exit 1; }

# Runs "$@", passes its stderr through, and prints the value of the KEY=value last stdout line.
last_value() {
  local key=$1 out line
  shift
  out=$("$@") || die "'$*' failed"
  line=$(printf '%s\n' "$out" | tail -n1)
  [[ $line == "$key="?* ]] || die "'$*' did not print $key=... as its last line (got: '$line')"
  printf '%s\n' "${line#"$key="}"
}

cmd_start() {
  local db_url bootstrap
  db_url=$(last_value DATABASE_URL "$PG_SH" start)
  bootstrap=$(last_value KAFKA_BOOTSTRAP_SERVERS "$KAFKA_SH" start)
  mkdir -p "$(dirname "$ENV_FILE")"
  printf 'export KAFKA_BOOTSTRAP_SERVERS=%s\nexport DATABASE_URL=%s\n' "$bootstrap" "$db_url" >"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
  cat "$ENV_FILE"
}

cmd_stop() {
  local rc=0
  "$KAFKA_SH" stop || rc=1
  "$PG_SH" stop || rc=1
  rm -f "$ENV_FILE"
  return "$rc"
}

cmd_status() {
  local rc=0
  "$KAFKA_SH" status || rc=1
  "$PG_SH" status || rc=1
  return "$rc"
}

cmd_env() {
  [[ -f $ENV_FILE ]] || die "$ENV_FILE does not exist; run deploy/infra.sh start first"
  cat "$ENV_FILE"
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
