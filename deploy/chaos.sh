#!/usr/bin/env bash
# `make chaos`: fault injection and load on the distributed topology (bench/chaos/run.py).
# Starts its own Kafka broker and PostgreSQL cluster under var/chaos/ (next to, never instead
# of, the ones of deploy/infra.sh), runs the workload, injects the faults, checks the
# invariants, prints a table and writes bench/chaos.json; exit 1 on any invariant violation.
#
#   deploy/chaos.sh [--profile full|small] [--seed N] [--output FILE]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
deploy/kafka/kafka.sh fetch
exec .venv/bin/python -m bench.chaos.run "$@"
