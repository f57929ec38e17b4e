# The two ways in: `make run` and `make test` (README.md). Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck unit e2e browser lock bench clean

run: $(VENV)/.app
	$(BIN)/ppsync db upgrade
	$(BIN)/ppsync seed-demo
	$(BIN)/ppsync serve --host $(HOST) --port $(PORT)

test: $(VENV)/.test browser lint typecheck
	$(BIN)/pytest

lint: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.test
	$(BIN)/mypy

unit: $(VENV)/.test
	$(BIN)/pytest tests/unit

e2e: $(VENV)/.test browser
	$(BIN)/pytest tests/e2e

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

$(VENV)/.app: pyproject.toml uv.lock | $(VENV)/bin/uv
	$(BIN)/uv sync --frozen --inexact --quiet
	@touch $@

$(VENV)/.test: pyproject.toml uv.lock | $(VENV)/bin/uv
	$(BIN)/uv sync --frozen --inexact --quiet --extra test
	@touch $@ $(VENV)/.app

lock: | $(VENV)/bin/uv
	$(BIN)/uv lock

bench: $(VENV)/.test
	$(BIN)/python bench/pipeline.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
