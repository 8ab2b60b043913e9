# The README's commands. Only python3 (3.11+) and make are needed on the machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/.dagster

.PHONY: install run test test-fast dev api workers bench lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

run: install $(DAGSTER_HOME)/dagster.yaml  ## set up, then materialise master data, recent days and summaries
	$(BIN)/dataplatform run

# The whole suite on a pytest-xdist worker per core (PYTEST_WORKERS=0: in one process): tests that
# share a module's setup or the Celery broker's queue run together on one worker (xdist groups,
# set in platform_tests/conftest.py), every other test goes to whichever worker is free.
PYTEST_WORKERS ?= auto
test: install  ## set up, then run the whole test suite, as CI does (prints the ten slowest tests)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=10

# The tests a developer runs between edits: every package's unit tests and the quick integration
# tests, under a minute; slow (measured), e2e and PostgreSQL tests are left to `make test`.
test-fast: install  ## the quick tiers only: unit and quick integration tests, under a minute
	$(BIN)/pytest -q -p no:cacheprovider -m "not slow and not e2e and not postgres"

dev: install $(DAGSTER_HOME)/dagster.yaml  ## the Dagster UI at http://127.0.0.1:3000
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

api: install $(DAGSTER_HOME)/dagster.yaml  ## the REST API at http://127.0.0.1:8000 (OpenAPI docs at /docs)
	$(BIN)/dataplatform serve

# Celery workers for DATAPLATFORM_EXECUTOR=celery: N of them (`make workers N=4`), each taking one
# step at a time from DATAPLATFORM_CELERY_BROKER, named worker-<i>@<host>; in the foreground until
# Ctrl-C, which stops them all (each finishing its step). Workers need the runs' DATAPLATFORM_*
# settings (the .env file) and a PostgreSQL instance (DAGSTER_HOME) to be of use.
N ?= 2
workers: install  ## N Celery workers (default 2) taking the steps of runs
	@trap 'kill -TERM $$pids 2>/dev/null; wait' INT TERM; pids=""; \
	for i in $$(seq 1 $(N)); do \
	  $(BIN)/celery --app dataplatform.defs.celery_worker worker --concurrency 1 --hostname worker-$$i@%h \
	    --queues dagster --without-gossip --without-mingle --loglevel INFO & pids="$$pids $$!"; \
	done; wait

bench: install  ## every benchmark, each printing the platform beside its anchors
	@for script in bench/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

lint: install  ## ruff, then the type gate (mypy over platform/, strict on the core packages)
	$(BIN)/ruff check platform platform_tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .dagster data
