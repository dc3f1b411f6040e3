# Developer and CI entry points. `make test` works from a fresh clone on a
# fresh Debian machine: it installs the system packages the integration and
# browser tests need, builds the virtualenv, lints, type-checks and tests; then it
# runs the suites that need no bitmapist again at both ends of the dependency
# ranges (docs/compatibility.md), and prints how long each part took.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed.stamp
PORT ?= 5000

# The newest releases of every dependency, and the lowest supported ones
# (constraints/lowest.txt). Each virtualenv is rebuilt when pyproject.toml (or its
# constraints) changes; the newest one also once a week, to meet new releases.
NEWEST := .venv-newest
LOWEST := .venv-lowest
NEWEST_STAMP := $(NEWEST)/.installed.stamp
LOWEST_STAMP := $(LOWEST)/.installed.stamp
$(shell find $(NEWEST_STAMP) -mtime +6 -delete 2>/dev/null)

# What runs at both ends: unit, contract and integration suites on a real
# redis-server and Redis Cluster. Left out: tests/*/bitmapist (they compare with
# bitmapist, which pins redis<6 and is a dev-only dependency) and the browser
# tests (they check the dashboard's own JavaScript in Chromium, not the Python
# dependencies, and would add Playwright to both virtualenvs).
RANGE_TESTS := tests/unit tests/integration \
	--ignore=tests/unit/bitmapist --ignore=tests/integration/bitmapist -m "not browser"
# The releases worth naming in the timings' version lines.
SHOWN := flask|werkzeug|click|redis|hiredis|numpy|attrs|flask-login|sqlalchemy|bitmapist

TIMED := $(PYTHON) tools/timed.py

# apt-get needs root; use sudo only when we are not root already.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.DEFAULT_GOAL := help
.PHONY: help venv venvs system-deps lint typecheck test test-main test-newest test-lowest \
	dist demo bench clean

help:
	@echo "make venv         create .venv and install the package with [dev] extras"
	@echo "make system-deps  install Debian's redis-server and chromium when missing"
	@echo "make lint         ruff check + ruff format --check"
	@echo "make typecheck    mypy --strict"
	@echo "make test         everything above, then pytest (unit + integration + packaging),"
	@echo "                  then the suites without bitmapist on the newest and lowest releases"
	@echo "make test-newest  those suites in .venv-newest (the newest releases)"
	@echo "make test-lowest  those suites in .venv-lowest (constraints/lowest.txt)"
	@echo "make dist         build the sdist and the wheel into dist/ and check their metadata"
	@echo "make demo         serve the demo shop with generated data at http://127.0.0.1:$(PORT)"
	@echo "make bench        run the benchmarks under benchmarks/"
	@echo "make clean        remove the virtualenv and caches"

venv: $(STAMP)

# Rebuilt whenever pyproject.toml changes; otherwise a no-op.
$(STAMP): pyproject.toml
	@$(TIMED) "build $(VENV)" sh -c '\
		{ test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); } && \
		$(BIN)/python -m pip install --quiet --upgrade pip && \
		$(BIN)/python -m pip install --quiet -e ".[dev]"'
	touch $@

venvs: $(NEWEST_STAMP) $(LOWEST_STAMP)

# Every dependency upgraded to its newest release (the package's own ranges allow).
$(NEWEST_STAMP): pyproject.toml
	@$(TIMED) "build $(NEWEST)" sh -c '\
		{ test -x $(NEWEST)/bin/python || $(PYTHON) -m venv $(NEWEST); } && \
		$(NEWEST)/bin/python -m pip install --quiet --upgrade pip && \
		$(NEWEST)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager \
			-e ".[test]"'
	touch $@

# Built from scratch: pip never downgrades what a previous build left behind.
$(LOWEST_STAMP): pyproject.toml constraints/lowest.txt
	@$(TIMED) "build $(LOWEST)" sh -c '\
		rm -rf $(LOWEST) && $(PYTHON) -m venv $(LOWEST) && \
		$(LOWEST)/bin/python -m pip install --quiet --upgrade pip && \
		$(LOWEST)/bin/python -m pip install --quiet -c constraints/lowest.txt -e ".[test]"'
	touch $@

system-deps:
	@missing=""; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v redis-cli >/dev/null 2>&1 || missing="$$missing redis-tools"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	else \
		echo "System packages present: redis-server, redis-cli, chromium"; \
	fi

# Both checks run even when the first fails; either failing fails the target.
lint: venv
	@status=0; \
	$(TIMED) "ruff check" $(BIN)/ruff check . || status=1; \
	$(TIMED) "ruff format --check" $(BIN)/ruff format --check . || status=1; \
	exit $$status

# What mypy checks (flask_bitmapist, tests, benchmarks, examples, tools) is listed in
# pyproject.toml.
typecheck: venv
	@$(TIMED) "mypy" $(BIN)/mypy

# Parts run one after another (the timings are per part). Every part runs even when an
# earlier one failed (lint, typecheck, pytest, newest, lowest), so one run shows every
# failure; any failure fails the target, after the summary, which names the failed parts.
# Only a .venv that cannot be built skips what runs in it (lint, typecheck, pytest).
TEST_PARTS := lint typecheck test-main
RANGE_PARTS := test-newest test-lowest

test:
	@$(TIMED) --reset
	@failed=""; \
	if $(MAKE) --no-print-directory system-deps venv; then \
		for part in $(TEST_PARTS); do \
			$(MAKE) --no-print-directory $$part || failed="$$failed $$part"; \
		done; \
	else \
		failed="$$failed venv (so: $(TEST_PARTS))"; \
	fi; \
	for part in $(RANGE_PARTS); do \
		$(MAKE) --no-print-directory $$part || failed="$$failed $$part"; \
	done; \
	$(TIMED) --summary; \
	if [ -n "$$failed" ]; then echo "== make test failed:$$failed"; exit 1; fi

test-main: venv
	@echo "== $(VENV): $$($(BIN)/python -m pip list --format=freeze 2>/dev/null \
		| grep -iE '^($(SHOWN))==' | tr '\n' ' ')"
	@$(TIMED) "pytest in $(VENV) (everything)" $(BIN)/pytest

test-newest: $(NEWEST_STAMP)
	@echo "== $(NEWEST): $$($(NEWEST)/bin/python -m pip list --format=freeze 2>/dev/null \
		| grep -iE '^($(SHOWN))==' | tr '\n' ' ')"
	@$(TIMED) "pytest in $(NEWEST) (no bitmapist)" $(NEWEST)/bin/pytest -q $(RANGE_TESTS)

test-lowest: $(LOWEST_STAMP)
	@echo "== $(LOWEST): $$($(LOWEST)/bin/python -m pip list --format=freeze 2>/dev/null \
		| grep -iE '^($(SHOWN))==' | tr '\n' ' ')"
	@$(TIMED) "pytest in $(LOWEST) (no bitmapist)" $(LOWEST)/bin/pytest -q $(RANGE_TESTS)

# The sdist, and the wheel built from it (so the sdist is proven complete), then
# their metadata checked as PyPI would.
dist: venv
	rm -rf dist
	@$(TIMED) "build sdist and wheel" $(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*

# The demo keeps its data in instance/demo.db (the embedded SQLite store, generated on the
# first start, kept across restarts and read by its CLI) unless BITMAPIST_REDIS_URL names
# another store; it listens on 127.0.0.1 only. `make demo PORT=8000` picks another port.
demo: venv
	@BITMAPIST_REDIS_URL="$${BITMAPIST_REDIS_URL:-sqlite:///demo.db}" PORT="$(PORT)" \
		$(BIN)/python -m examples.demo_app

bench: venv
	@set -e; found=0; \
	for f in benchmarks/*.py; do \
		[ -e "$$f" ] || continue; \
		case "$$(basename "$$f")" in _*|conftest.py) continue;; esac; \
		found=1; echo "== $$f"; $(BIN)/python "$$f"; \
	done; \
	[ "$$found" = 1 ] || echo "No benchmarks yet (benchmarks/*.py)."

clean:
	rm -rf $(VENV) $(NEWEST) $(LOWEST) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
