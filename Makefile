# Two commands: `make run` serves the app with demo data, `make test` runs every test.
# Both set everything up first (virtual environment, dependencies, database).

PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 5000
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
CATALOGUES := $(wildcard carevisits/translations/*/LC_MESSAGES/messages.po)

.PHONY: run test setup system-deps translations db lint clean

run: setup db
	@echo "Open http://$(HOST):$(PORT) — demo sign-ins: admin, coordinator, worker, worker2,"
	@echo "volunteer, family; password carevisits-demo (demo data only)."
	$(FLASK) run --host $(HOST) --port $(PORT)

test: setup system-deps
	$(BIN)/pytest $(PYTEST_ARGS)

setup: $(VENV)/.installed translations

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Compiled catalogues are build output: made from the .po files on every setup.
translations: $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -q -d carevisits/translations

db: setup
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty

# Debian's chromium for the browser tests and a CJK font for printing, when missing.
system-deps:
	@scripts/system-deps.sh

lint: setup
	$(BIN)/ruff check carevisits tests bench

clean:
	rm -rf $(VENV) instance/*.sqlite3*
