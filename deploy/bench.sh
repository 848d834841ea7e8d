#!/usr/bin/env bash
# `make bench`: start Kafka and PostgreSQL unless KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL
# point at existing ones, run the benchmark (python -m bench.run "$@": a table on stdout and
# bench/results.json), and stop only what it started. Use `deploy/bench.sh --quick` for a
# short smoke run.
set -euo pipefail
REPO_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO_ROOT"

started=no
cleanup() {
  if [[ $started == yes ]]; then
    deploy/infra.sh stop >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

if [[ -z ${KAFKA_BOOTSTRAP_SERVERS:-} || -z ${DATABASE_URL:-} ]]; then
  if ! deploy/infra.sh status >/dev/null 2>&1; then
    started=yes
  fi
  echo "Starting Kafka and PostgreSQL (deploy/infra.sh)…" >&2
  deploy/infra.sh start >/dev/null
  # shellcheck disable=SC1091
  source var/infra.env
fi
export KAFKA_BOOTSTRAP_SERVERS DATABASE_URL
echo "Kafka: $KAFKA_BOOTSTRAP_SERVERS   PostgreSQL: $DATABASE_URL" >&2

.venv/bin/python -m bench.run "$@"
