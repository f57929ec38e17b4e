# The two ways in: `make run` and `make test` (README.md). Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest-xdist workers: unit tests over two per core, each test to whichever worker is free
# (`--dist worksteal`): a third of the unit suite's time is spent waiting on a socket, a subprocess
# or a deadline, so two workers a core keep the cores busy (79 s at one a core, 63 s at two, here).
# E2E modules over two workers (each module keeps its one server: `--dist loadfile`). 0: no xdist.
UNIT_WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))
E2E_WORKERS ?= 2
STAGES := lint typecheck unit e2e

.PHONY: run test lint typecheck unit e2e browser lock bench clean

run: $(VENV)/.app
	$(BIN)/ppsync db upgrade
	$(BIN)/ppsync seed-demo
	$(BIN)/ppsync serve --host $(HOST) --port $(PORT)

# Every stage runs even when one before it failed; then each one's time, and exit 1 if any failed.
test: $(VENV)/.test browser
	@failed=""; times=""; \
	for stage in $(STAGES); do \
		start=$$(date +%s); \
		$(MAKE) --no-print-directory $$stage || failed="$$failed $$stage"; \
		times="$$times$$(printf '  %-10s %5d s' $$stage $$(( $$(date +%s) - start )))\n"; \
	done; \
	printf '\nTime per stage (docs/testing.md):\n%b' "$$times"; \
	if [ -n "$$failed" ]; then echo "Failed:$$failed"; exit 1; fi

lint: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.test
	$(BIN)/mypy

# Where PYTHONDONTWRITEBYTECODE is set, pytest would rewrite and compile every test module again
# in each worker, each run (5 s of CPU a worker here): the tests keep their .pyc (git ignores them).
unit e2e: export PYTHONDONTWRITEBYTECODE :=

unit: $(VENV)/.test
	$(BIN)/pytest tests/unit -n $(UNIT_WORKERS) --dist worksteal

# Two passes: the modules over the workers, then the attack modules alone (their promises are
# in milliseconds of the server's own time: another worker's Chromium would blur them).
e2e: $(VENV)/.test browser
	@$(BIN)/pytest tests/e2e -m "not attack" -n $(E2E_WORKERS) --dist loadfile; spread=$$?; \
	$(BIN)/pytest tests/e2e -m attack; alone=$$?; \
	exit $$(( spread || alone ))

# Debian's chromium where we can install it (Playwright's own download is not always reachable);
# anywhere else, Playwright's bundled Chromium.
browser: $(VENV)/.test
	@if command -v chromium >/dev/null || [ -n "$$PLAYWRIGHT_CHROMIUM" ]; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else $(BIN)/playwright install chromium; fi

$(VENV)/bin/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)

# --compile-bytecode: every process (each `ppsync`, server and test worker) loads .pyc files
# instead of compiling SQLAlchemy, Litestar & co. again where PYTHONDONTWRITEBYTECODE is set.
$(VENV)/.app: pyproject.toml uv.lock | $(VENV)/bin/uv
	$(BIN)/uv sync --frozen --inexact --quiet --compile-bytecode
	@touch $@

$(VENV)/.test: pyproject.toml uv.lock | $(VENV)/bin/uv
	$(BIN)/uv sync --frozen --inexact --quiet --compile-bytecode --extra test
	@touch $@ $(VENV)/.app

lock: | $(VENV)/bin/uv
	$(BIN)/uv lock

bench: $(VENV)/.test
	$(BIN)/python bench/pipeline.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
