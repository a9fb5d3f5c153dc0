# The README's two commands: `make run` and `make test`.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format fuzz faults bench bench-floor bench-areas bench-push install clean ts-client

$(STAMP): pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || { echo "Python 3.11+ is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Serve the demo on http://127.0.0.1:8000 (SQLite under var/, in-process worker, demo data)
run: $(STAMP)
	$(BIN)/linli demo

## Run the whole test suite (SQLite; PostgreSQL + Redis when LINLI_TEST_* are set)
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## schemathesis over every operation, once per role, against a live server (FUZZ_ARGS: --database-url …)
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz.run $(FUZZ_ARGS)

## Kill and stop workers, Redis and PostgreSQL under load; print lost / duplicated / 5xx (private servers)
faults: $(STAMP)
	$(BIN)/python -m bench.faults $(FAULTS_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy api services workers

## TypeScript types from the live /openapi.json (openapi-typescript) and the example app program under
## tsc --strict (clients/typescript); node_modules is installed once from package-lock.json
TS_DIR := clients/typescript
$(TS_DIR)/node_modules/.installed: $(TS_DIR)/package.json $(TS_DIR)/package-lock.json
	cd $(TS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

ts-client: $(STAMP) $(TS_DIR)/node_modules/.installed
	$(BIN)/linli openapi --out $(TS_DIR)/openapi.json
	cd $(TS_DIR) && npm run -s generate && npm run -s check
	@echo "TypeScript client: 0 type errors"

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## S1–S8 beside the bare-FastAPI ceiling, the asyncpg floor and django-helpdesk, then the request floor
## (CPU per request: Linli, the lean same-work app, bare FastAPI) (needs PostgreSQL + Redis)
bench: $(STAMP)
	$(BIN)/python bench/harness.py $(BENCH_ARGS)

## The request floor alone (bench/floor_bench.py; FLOOR_ARGS: --quick, --seconds 4, --rounds 3, --db …)
bench-floor: $(STAMP)
	$(BIN)/python bench/floor_bench.py $(FLOOR_ARGS)

## S6's push workers only, one per provider (FCM, APNs, JPush) against the 50 ms stand-in, one table
PUSH_N ?= 5000
bench-push: $(STAMP)
	$(BIN)/python bench/push_bench.py --n $(PUSH_N) --h2c --skip-ceiling --provider fcm --provider apns --provider jpush

## The per-area deep dives (bench/*_bench.py), each writing its own section of docs/benchmarks.md
bench-areas: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
