# Developer commands. `make run` starts the example app, `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app example_app
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run install init serve test docs screenshots clean

run: install init serve

$(STAMP): setup.cfg pyproject.toml example_app/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,docs,dev]" -r example_app/requirements.txt
	touch $(STAMP)

install: $(STAMP)

init: install
	$(FLASK) init-example

serve: install
	$(FLASK) run --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

docs: install
	$(BIN)/sphinx-build -W -b html docs docs/_build/html

clean:
	rm -rf $(VENV) build dist *.egg-info docs/_build instance
