# Developer commands. `make run` starts the example app, `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app example_app
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run install init serve test bench docs browser-deps screenshots clean

run: install init serve

$(STAMP): setup.cfg pyproject.toml example_app/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,docs,dev]" -r example_app/requirements.txt
	touch $(STAMP)

install: $(STAMP)

# Creates the database and seeds it; the seeded webhooks post to the app's
# own inbox, on 127.0.0.1 (the only address its outbound allowlist admits).
init: install
	$(FLASK) init-example --base-url http://127.0.0.1:$(PORT)

serve: install
	$(FLASK) run --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

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
