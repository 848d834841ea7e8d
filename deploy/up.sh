#!/usr/bin/env bash
# The distributed topology on one machine, without Docker (`make up`):
# Kafka + PostgreSQL (deploy/infra.sh), then one process per service API, per relay, per
# consumer group, and the portal API. Logs and pids under $RUN_DIR (default var/run).
#
# Environment: PORT (portal API, default 8000), POLICY_PORT (8101), BILLING_PORT (8102),
# IDENTITY_PORT (8103), DOCUMENTS_PORT (8104), CLAIMS_PORT (8105), SMTP_HOST/SMTP_PORT (identity's mail, default 127.0.0.1:8025),
# RUN_DIR, and anything shared/settings.py reads (DATABASE_SUFFIX, TOPIC_PREFIX, …).
# KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL, when set, point at existing infrastructure.
set -euo pipefail

REPO_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
RUN_DIR=${RUN_DIR:-$REPO_ROOT/var/run}
PY=$REPO_ROOT/.venv/bin/python
PORT=${PORT:-8000}
POLICY_PORT=${POLICY_PORT:-8101}
BILLING_PORT=${BILLING_PORT:-8102}
IDENTITY_PORT=${IDENTITY_PORT:-8103}
DOCUMENTS_PORT=${DOCUMENTS_PORT:-8104}
CLAIMS_PORT=${CLAIMS_PORT:-8105}

die() { echo "up.sh: error: $*" >&2; exit 1; }
[[ -x $PY ]] || die "no virtualenv: run 'make venv' first"

if [[ -z ${KAFKA_BOOTSTRAP_SERVERS:-} || -z ${DATABASE_URL:-} ]]; then
  "$REPO_ROOT/deploy/infra.sh" start >/dev/null
  # shellcheck disable=SC1091
  source "$REPO_ROOT/var/infra.env"
fi
export KAFKA_BOOTSTRAP_SERVERS DATABASE_URL PORTAL_MODE=distributed
export POLICY_URL=http://127.0.0.1:$POLICY_PORT IDENTITY_URL=http://127.0.0.1:$IDENTITY_PORT
export DOCUMENTS_URL=http://127.0.0.1:$DOCUMENTS_PORT
# One keyed-hash secret for every service of this installation (matching needs the same one).
if [[ -z ${PII_HMAC_SECRET:-} ]]; then
  secret_file=$REPO_ROOT/var/secrets/pii-hmac.key
  if [[ ! -f $secret_file ]]; then
    mkdir -p "$(dirname "$secret_file")"
    (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$secret_file")
  fi
  PII_HMAC_SECRET=$(cat "$secret_file")
fi
export PII_HMAC_SECRET
if [[ -n ${DATABASE_SUFFIX:-} ]]; then
  for db in policy billing portal identity keystore documents claims; do
    "$REPO_ROOT/deploy/postgres/pg.sh" createdb "$db$DATABASE_SUFFIX" >/dev/null
  done
fi

mkdir -p "$RUN_DIR"
start() {  # name, port (or -), module, role
  local name=$1 port=$2 module=$3 role=$4 pidfile=$RUN_DIR/$1.pid
  if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "  $name already running (pid $(cat "$pidfile"))"
    return
  fi
  (
    cd "$REPO_ROOT"
    [[ $port != - ]] && export SERVICE_PORT=$port
    exec "$PY" -m "$module" "$role"
  ) >"$RUN_DIR/$name.log" 2>&1 &
  echo $! >"$pidfile"
  echo "  $name started (pid $!, log $RUN_DIR/$name.log)"
}

echo "Starting the distributed topology (Kafka $KAFKA_BOOTSTRAP_SERVERS):"
start policy-api "$POLICY_PORT" services.policy.main api
start policy-relay - services.policy.main relay
start policy-consumer - services.policy.main consumer
start billing-api "$BILLING_PORT" services.billing.main api
start billing-relay - services.billing.main relay
start billing-consumer - services.billing.main consumer
start identity-api "$IDENTITY_PORT" services.identity.main api
start identity-relay - services.identity.main relay
start identity-consumer - services.identity.main consumer
start identity-mailer - services.identity.main mailer
start identity-sweeper - services.identity.main sweeper
start claims-api "$CLAIMS_PORT" services.claims.main api
start claims-relay - services.claims.main relay
start claims-consumer - services.claims.main consumer
start documents-api "$DOCUMENTS_PORT" services.documents.main api
start documents-relay - services.documents.main relay
start documents-consumer - services.documents.main consumer
start documents-mailer - services.documents.main mailer
start portal-consumer - services.portal.main consumer
start portal-api "$PORT" services.portal.main api

for url in "http://127.0.0.1:$POLICY_PORT/health" "http://127.0.0.1:$BILLING_PORT/health" \
           "http://127.0.0.1:$IDENTITY_PORT/health" "http://127.0.0.1:$DOCUMENTS_PORT/health" \
           "http://127.0.0.1:$CLAIMS_PORT/health" \
           "http://127.0.0.1:$PORT/health"; do
  for _ in $(seq 1 150); do
    curl -fsS "$url" >/dev/null 2>&1 && continue 2
    sleep 0.2
  done
  die "$url did not answer; see the logs in $RUN_DIR"
done
echo "Portal API:      http://127.0.0.1:$PORT/api/…"
echo "Policy commands: http://127.0.0.1:$POLICY_PORT/certificates"
echo "Billing commands: http://127.0.0.1:$BILLING_PORT/accounts/{number}/payments"
echo "Identity:        http://127.0.0.1:$IDENTITY_PORT (the portal forwards owners' commands)"
echo "Claims commands: http://127.0.0.1:$CLAIMS_PORT/claims"
echo "Stop with: make down"
