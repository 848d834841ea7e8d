#!/usr/bin/env bash
# Stops what deploy/up.sh started (`make down`); with --infra (the default from make down)
# also stops Kafka and PostgreSQL.
set -euo pipefail
REPO_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
RUN_DIR=${RUN_DIR:-$REPO_ROOT/var/run}

shopt -s nullglob
for pidfile in "$RUN_DIR"/*.pid; do
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
done
for pidfile in "$RUN_DIR"/*.pid; do
  pid=$(cat "$pidfile")
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  echo "  $(basename "$pidfile" .pid) stopped"
  rm -f "$pidfile"
done
if [[ ${1:-} == --infra ]]; then
  "$REPO_ROOT/deploy/infra.sh" stop
fi
