#!/usr/bin/env bash
# `make bench`: the benchmarks (a table on stdout and bench/results.json) against a real Kafka
# broker and PostgreSQL (deploy/with-infra.sh). `deploy/bench.sh --quick` is a short smoke run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec deploy/with-infra.sh .venv/bin/python -m bench.run "$@"
