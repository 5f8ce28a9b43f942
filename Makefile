# Developer commands. `make run` starts the example app, `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# `make run` needs the package and the example app's requirements only;
# the tests, docs, linters and benchmarks need the extras too.
EXAMPLE_STAMP := $(VENV)/.installed-example
DEV_STAMP := $(VENV)/.installed-dev
FLASK := $(BIN)/flask --app example_app
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run install install-example init serve test lint bench docs browser-deps screenshots clean

run: install-example init serve

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(EXAMPLE_STAMP): setup.cfg pyproject.toml example_app/requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e . -r example_app/requirements.txt
	touch $@

# Everything: the package, the example app, the test, docs and dev extras.
$(DEV_STAMP): setup.cfg pyproject.toml example_app/requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,docs,dev]" -r example_app/requirements.txt
	touch $(EXAMPLE_STAMP) $@

install-example: $(EXAMPLE_STAMP)

install: $(DEV_STAMP)

# Creates the database and seeds it; the seeded webhooks post to the app's
# own inbox, on 127.0.0.1 (the only address its outbound allowlist admits).
init: install-example
	$(FLASK) init-example --base-url http://127.0.0.1:$(PORT)

serve: install-example
	$(FLASK) run --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# What CI checks before the tests: lint, formatting, strict typing of the
# package (mypy reads its strict settings from setup.cfg).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Every figure of docs/performance.rst, side by side with its baseline; writes
# benchmarks/results/<date>-<commit>.json. The PostgreSQL figures use
# BENCH_DATABASE_URL (its flask_integrations_* tables are dropped); set it
# empty to skip them. BENCH_ARGS="--quick" or "--only 3" for a shorter run.
BENCH_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
bench: install
	$(BIN)/python -m benchmarks --database-url "$(BENCH_DATABASE_URL)" $(BENCH_ARGS)

# axe-core for the accessibility checks of the browser tests.
browser-deps: build/node/node_modules/axe-core/axe.min.js

build/node/node_modules/axe-core/axe.min.js:
	mkdir -p build/node
	npm install --silent --no-audit --no-fund --prefix build/node axe-core@4

# Refresh the screenshots the docs and README use (needs Debian's chromium).
screenshots: install browser-deps
	INTEGRATIONS_TEST_BROWSER=1 $(BIN)/python -m pytest -q tests/browser
	mkdir -p docs/_static/screenshots
	cp build/screenshots/*.png docs/_static/screenshots/

# Nitpicky: every reference must resolve; all warnings are reported, then fail.
docs: install
	$(BIN)/sphinx-build -W -n --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) build dist *.egg-info docs/_build instance
