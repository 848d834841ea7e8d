#!/usr/bin/env bash
# Run a command with Kafka and PostgreSQL available: start them (deploy/infra.sh) unless
# KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL point at existing ones, export both, run the
# command, and stop only what this script started. Used by `make test` and `make bench`.
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
"$@"
