# One command to try RecoMind (`make demo`), one to run every test (`make test`).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= ml,stream,eval,dev

.PHONY: setup demo test lint typecheck pytest base-install services browser bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

setup: $(BIN)/.installed  ## create .venv and install RecoMind with every extra

demo: setup  ## sample data + server on the embedded default (SQLite, in-process cache)
	$(BIN)/recomind demo

services:  ## start the local PostgreSQL, MariaDB and Redis if they are not running
	bash scripts/services.sh

browser:  ## Debian's Chromium for the browser tests (Playwright drives it; no download)
	bash scripts/browser.sh

lint: setup  ## ruff, and the layer rules (import-linter contracts in pyproject.toml)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports --no-logo

base-install:  ## a plain `pip install .` (no extras) in a fresh venv serves the embedded default
	PYTHON=$(PYTHON) bash scripts/check_base_install.sh

typecheck: setup
	$(BIN)/mypy

pytest: setup services browser
	$(BIN)/python -m pytest

test: lint typecheck pytest base-install  ## everything CI runs

bench: setup services
	$(BIN)/python -m bench.bench_api

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
