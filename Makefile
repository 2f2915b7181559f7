# medcode — the door to every task. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
BUF := node_modules/.bin/buf
export MEDCODE_DATA_DIR ?= $(CURDIR)/var

.DEFAULT_GOAL := help
.PHONY: help setup tools protos catalog run test test-unit bench lint clean traces

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

setup: $(STAMP) ## Create .venv and install the pinned dependencies (idempotent)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

tools: $(BUF) ## Install the npm build tools (buf)

$(BUF): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

protos: setup ## Regenerate gen/ from protos/ (never edit gen/ by hand)
	$(PY) scripts/gen_protos.py

catalog: setup ## Build (or update) the code catalog into MEDCODE_DATA_DIR from the packaged data
	$(PY) -m services.lookup.catalog build

run: setup ## Build the catalog if needed and start the whole platform in the foreground (Ctrl-C stops it)
	$(PY) -m deploy.run_local

.PHONY: traces
traces: setup ## Print the latest traces that `make run` spooled, as trees (ARGS="--limit 20 --trace ID")
	$(PY) scripts/traces.py $(ARGS)

test: setup ## Run unit, integration and end-to-end tests (PostgreSQL tests need MEDCODE_TEST_POSTGRES_URL)
	$(PY) -m pytest tests/unit tests/integration tests/e2e

test-unit: setup ## Only the unit tests (no servers, seconds)
	$(PY) -m pytest tests/unit

bench: setup ## Run the benchmarks in tests/perf and print the figures for BENCHMARKS.md
	$(PY) -m pytest tests/perf -s -p no:cacheprovider

lint: setup tools ## ruff, buf lint, and buf's breaking-change check of every protos change in history
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(BUF) lint protos
	bash scripts/buf_breaking.sh $(BUF)

clean: ## Remove the data dir (the catalog and databases) and caches
	rm -rf var .pytest_cache .ruff_cache
