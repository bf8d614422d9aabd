# make run   — set everything up and serve the app on http://127.0.0.1:5000
# make test  — set everything up and run the whole test suite (lint included)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app booking
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint format translations extract-messages system-deps serve bench clean

$(BIN)/python:
	@echo "Creating the virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	@echo "Installing runtime dependencies"
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	@echo "Installing test dependencies"
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

translations: $(VENV)/.runtime
	$(BIN)/pybabel compile -d booking/translations --statistics

run: $(VENV)/.runtime translations
	@mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	@echo "Serving on http://$(HOST):$(PORT) — demo accounts are listed in README.md"
	$(FLASK) run --host $(HOST) --port $(PORT)

system-deps:
	@bash scripts/install-test-deps.sh

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# One test process per core (pytest-xdist); the tests compile the translations themselves.
# make test PYTEST_ARGS=--durations=30 passes options on to pytest.
TEST_WORKERS ?= auto
PYTEST_ARGS ?=

test: $(VENV)/.dev system-deps lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

extract-messages: $(VENV)/.runtime
	@# --ignore-dirs: the default also skips folders starting with "_" (templates/_macros).
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --ignore-dirs '.*' \
		--project=tiers-lieux --copyright-holder="Tiers-lieux contributors" \
		-o booking/translations/messages.pot .
	$(BIN)/pybabel update -i booking/translations/messages.pot -d booking/translations --no-fuzzy-matching --ignore-obsolete

bench: $(VENV)/.dev system-deps
	$(BIN)/python benchmarks/booking.py
	$(BIN)/python benchmarks/feeds.py
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/outbox.py
	$(BIN)/python benchmarks/pages.py
	$(BIN)/python benchmarks/reports.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
