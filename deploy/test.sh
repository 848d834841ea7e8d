#!/usr/bin/env bash
# `make test`: start Kafka and PostgreSQL unless KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL
# point at existing ones, run the whole pytest suite (and ruff), stop what it started, and
# exit non-zero on any failure.
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
  echo "Starting Kafka and PostgreSQL (deploy/infra.sh)…"
  deploy/infra.sh start >/dev/null
  # shellcheck disable=SC1091
  source var/infra.env
fi
export KAFKA_BOOTSTRAP_SERVERS DATABASE_URL
echo "Kafka: $KAFKA_BOOTSTRAP_SERVERS   PostgreSQL: $DATABASE_URL"

.venv/bin/ruff check .
.venv/bin/pytest -p no:cacheprovider "$@"
