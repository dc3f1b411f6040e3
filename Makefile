# Developer and CI entry points. `make test` works from a fresh clone on a
# fresh Debian machine: it installs the system packages the integration and
# browser tests need, builds the virtualenv, lints, type-checks and tests.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed.stamp
PORT ?= 5000

# apt-get needs root; use sudo only when we are not root already.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.DEFAULT_GOAL := help
.PHONY: help venv system-deps lint typecheck test demo bench clean

help:
	@echo "make venv         create .venv and install the package with [dev] extras"
	@echo "make system-deps  install Debian's redis-server and chromium when missing"
	@echo "make lint         ruff check + ruff format --check"
	@echo "make typecheck    mypy --strict"
	@echo "make test         everything above, then pytest (unit + integration)"
	@echo "make demo         serve the demo shop with generated data at http://127.0.0.1:$(PORT)"
	@echo "make bench        run the benchmarks under benchmarks/"
	@echo "make clean        remove the virtualenv and caches"

venv: $(STAMP)

# Rebuilt whenever pyproject.toml changes; otherwise a no-op.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
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

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# What mypy checks (flask_bitmapist, tests, benchmarks, examples) is listed in pyproject.toml.
typecheck: venv
	$(BIN)/mypy

test: system-deps venv lint typecheck
	$(BIN)/pytest

# The demo keeps its data in the in-process store unless BITMAPIST_REDIS_URL names a
# Redis; it listens on 127.0.0.1 only. `make demo PORT=8000` picks another port.
demo: venv
	@BITMAPIST_REDIS_URL="$${BITMAPIST_REDIS_URL:-memory://}" PORT="$(PORT)" \
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
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
