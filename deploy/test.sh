#!/usr/bin/env bash
# `make test`: ruff, then the whole pytest suite against a real Kafka broker and PostgreSQL
# (started and stopped by deploy/with-infra.sh) and a headless Chromium for the browser tests
# (Debian's package, installed by deploy/chromium.sh if missing); non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
.venv/bin/ruff check .
CHROMIUM_PATH=$(deploy/chromium.sh)
export CHROMIUM_PATH
exec deploy/with-infra.sh .venv/bin/pytest -p no:cacheprovider "$@"
