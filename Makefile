# Customer Journey Optimizer: `make run` serves the dashboard, `make test` runs the whole suite.
# Both set up everything on a fresh machine (Python 3.11, pip, gcc, make): the virtual
# environment, the pinned packages, the synthetic demo population and (for tests) Chromium.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
DEMO   := data/demo/customers.parquet
DEMO_FEEDBACK := data/demo/customers.feedback.parquet
DEMO_ROWS ?= 7043
DEMO_SEED ?= 42
PYTEST_ARGS ?=

.PHONY: run test setup setup-dev demo models browser postgres lint format typecheck bench clean help

help:
	@echo "make run    - serve the dashboard on http://localhost:$(PORT) (sets everything up)"
	@echo "make test   - run the whole test suite (sets everything up, incl. Chromium)"
	@echo "make lint   - ruff + mypy"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.stamp-run: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(VENV)/.stamp-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $(VENV)/.stamp-run $@

setup: $(VENV)/.stamp-run
setup-dev: $(VENV)/.stamp-dev

$(DEMO): | $(VENV)/.stamp-run
	$(BIN)/python -m core demo-data --rows $(DEMO_ROWS) --seed $(DEMO_SEED) --out $(DEMO) --feedback

# The demo's feedback texts (the Customer and Segments pages show them). A checkout whose demo
# predates them gets them without rewriting the customers (and so without retraining): the same
# seed gives the same population, written aside, of which only the texts are kept.
$(DEMO_FEEDBACK): | $(DEMO)
	rm -rf data/demo/.feedback.tmp
	$(BIN)/python -m core demo-data --rows $(DEMO_ROWS) --seed $(DEMO_SEED) --quiet --no-campaigns \
	  --out data/demo/.feedback.tmp/customers.parquet --feedback
	mv data/demo/.feedback.tmp/customers.feedback.parquet $(DEMO_FEEDBACK)
	rm -rf data/demo/.feedback.tmp

demo: $(DEMO) $(DEMO_FEEDBACK)

# The dashboard's models for the demo population (trained once, loaded from models/ after).
MODELS_STAMP := models/.demo-$(DEMO_ROWS)-$(DEMO_SEED).stamp
$(MODELS_STAMP): $(DEMO)
	$(BIN)/python -c "import ui; print('models:', ui.prepare_models())"
	mkdir -p models && touch $@

models: $(MODELS_STAMP)

# Headless Chromium for the end-to-end tests (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# PostgreSQL server binaries for the store tests (a throwaway cluster is started by the tests).
postgres:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "installing Debian's postgresql for the store tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }

run: setup demo models
	$(BIN)/python app.py --server.port $(PORT) --server.headless true

test: setup-dev demo models browser postgres
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

format: setup-dev
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

typecheck: setup-dev
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data/demo artifacts .pytest_cache .ruff_cache .mypy_cache
