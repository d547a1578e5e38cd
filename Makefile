# Solidarity: `make demo` to see it run, `make test` to check everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SOL := $(VENV)/bin/solidarity
export SOLIDARITY_HOME ?= $(CURDIR)/var
PG_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/postgres)
GIFTS ?= 350000

.PHONY: help install demo serve test lint types test-sqlite test-postgres test-browser bench bench-witnessed lock clean cluster-test

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.lock pyproject.toml $(wildcard src/solidarity/locale/*/LC_MESSAGES/*.po)
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m solidarity.web.compile_messages
	touch $@

install: $(VENV)/.installed ## create .venv and install the locked dependencies

demo: install ## install, create the SQLite database under ./var, load the demo campaign, serve it
	$(SOL) init
	$(SOL) demo --gifts $(GIFTS)
	@echo "open http://127.0.0.1:8000/c/cuba-2025/"
	SOLIDARITY_HTTPS=false $(SOL) serve --host 127.0.0.1 --port 8000

serve: install ## serve the app without loading anything
	SOLIDARITY_HTTPS=false $(SOL) serve

lint: install ## ruff (lint and format check) and the core-purity contract
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/lint-imports --no-cache

types: install ## mypy, strict on solidarity.core
	$(VENV)/bin/mypy

test-sqlite: install
	SOLIDARITY_HOME=$(CURDIR)/var/test SOLIDARITY_TESTING=1 $(PY) -m pytest -q -n 2 -m "not postgres and not browser" tests

test-postgres: install ## the integration tests again on PostgreSQL, and the functional tests that need it (required when CI=true)
	@if $(PY) -c 'import sys, psycopg; psycopg.connect(sys.argv[1], dbname="postgres", connect_timeout=3).close()' '$(PG_URL)' 2>/dev/null; then \
		SOLIDARITY_HOME=$(CURDIR)/var/test SOLIDARITY_TESTING=1 DATABASE_URL='$(PG_URL)' $(PY) -m pytest -q -p no:randomly -m "not browser" tests/integration && \
		SOLIDARITY_HOME=$(CURDIR)/var/test SOLIDARITY_TESTING=1 DATABASE_URL='$(PG_URL)' $(PY) -m pytest -q -p no:randomly -m "postgres and not browser" tests/functional; \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL is required in CI but $(PG_URL) is not reachable" >&2; exit 1; \
	else \
		echo "*** SKIPPED: PostgreSQL tests (no server at $(PG_URL); set DATABASE_URL) ***"; \
	fi

test-browser: install ## browser tests in Chromium (installed with apt-get when CI=true)
	@if ! command -v chromium >/dev/null; then \
		if [ "$$CI" = "true" ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
		else echo "*** SKIPPED: browser tests (no chromium; apt-get install chromium) ***"; exit 0; fi; \
	fi; \
	if ls tests/browser/test_*.py >/dev/null 2>&1; then \
		SOLIDARITY_HOME=$(CURDIR)/var/test SOLIDARITY_TESTING=1 $(PY) -m pytest -q -m browser tests/browser; fi

cluster-test: install ## three nodes, haproxy, PostgreSQL primary + replica; kills a node and the replica under load
	@if ! command -v haproxy >/dev/null; then \
		if [ "$$CI" = "true" ]; then apt-get update -qq && apt-get install -y -qq haproxy >/dev/null; \
		else echo "*** SKIPPED: cluster test (no haproxy; apt-get install haproxy) ***"; exit 0; fi; \
	fi; \
	$(PY) tests/cluster/run_cluster.py

test: lint types test-sqlite test-postgres test-browser ## every check: lint, types, tests on SQLite, PostgreSQL and in a browser
	@if [ "$$CI" = "true" ]; then $(MAKE) cluster-test; fi

bench: install ## run the benchmarks; JSON lands in bench/results/
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

bench-witnessed: install ## witnessing: add-checkpoint, webhook to cosigned checkpoint (vs none), verify vs Go
	$(PY) bench/bench_witness.py
	$(PY) bench/bench_feeds.py --seconds 5 --baseline
	$(PY) bench/bench_verify_go.py

lock: ## re-pin every dependency into requirements.lock
	$(PY) -m piptools compile --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links --extra dev --output-file requirements.lock pyproject.toml

clean: ## remove the virtualenv and local state
	rm -rf $(VENV) var
