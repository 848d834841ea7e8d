# The two set-up commands on a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run seed test test-unit up down bench chaos lint format clean venv docs

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Python 3.11 is required")'
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -r requirements.lock
	$(VENV)/bin/python -m pip install -q --no-deps -e .
	@touch $(STAMP)

## The portal on the embedded default (one process, SQLite under var/, demo data).
run: venv
	PORTAL_PORT=$(PORT) $(VENV)/bin/portal run --port $(PORT)

seed: venv
	$(VENV)/bin/portal seed

## Everything: installs, starts Kafka and PostgreSQL, runs the whole suite, stops them.
test: venv
	deploy/test.sh

test-unit: venv
	$(VENV)/bin/pytest -q tests/unit

## The distributed topology without Docker (Kafka + PostgreSQL + one process per role).
up: venv
	PORT=$(PORT) deploy/up.sh

down:
	deploy/down.sh --infra

bench: venv
	deploy/bench.sh

## Faults (kill -9, broker and database restarts, dropped connections, redelivery, poison) under
## a workload, then the invariants and a load test: bench/chaos.json (about 40 minutes).
chaos: venv
	deploy/chaos.sh --profile full

## The AsyncAPI document of the integration events (docs/asyncapi.json and .yaml).
docs: venv
	$(VENV)/bin/python -m shared.contracts.asyncapi docs/

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	-deploy/down.sh --infra
	rm -rf var
