# Two commands: `make run` serves the app with demo data, `make test` runs every test.
# Both set everything up first (virtual environment, dependencies, database).

PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 5000
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
CATALOGUES := $(wildcard carevisits/translations/*/LC_MESSAGES/messages.po)

.PHONY: run codes test setup system-deps translations messages db lint audit wheel clean

# The address door cards carry (the QR codes, `codes`): where `make run` serves, unless
# CAREVISITS_BASE_URL is set already (behind a proxy, or HOST=0.0.0.0 for phones on the LAN).
run codes: export CAREVISITS_BASE_URL ?= http://$(HOST):$(PORT)

# Printing needs a CJK font: `make run` installs it when missing, as `make test` does.
run: SYSTEM_DEPS = font
run: setup system-deps db
	@echo "Open http://$(HOST):$(PORT) — demo sign-ins: admin, coordinator, worker, worker2,"
	@echo "volunteer, newvolunteer, family; password carevisits-demo (demo data only)."
	$(FLASK) run --host $(HOST) --port $(PORT)

# The door URL of every household (GRID="芙蓉街社区 第一网格" for one grid), with the
# address `make run` serves on, the same HOST and PORT.
codes: db
	$(FLASK) codes list $(if $(GRID),--grid "$(GRID)")

# One test process per core (pytest-xdist; each has its own PostgreSQL database);
# TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= auto

test: setup system-deps
	$(BIN)/ruff check carevisits tests bench migrations wsgi.py hatch_build.py
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

setup: $(VENV)/.installed translations

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Compiled catalogues are build output: made from the .po files on every setup.
translations: $(VENV)/.installed
	$(BIN)/pybabel -q compile --use-fuzzy -d carevisits/translations

# After changing UI text: collect the msgids into the template and merge them into every
# catalogue, then translate the new entries. Run from the repository root with "." as the
# input: babel.cfg's patterns (carevisits/**.py, templates/**.html) are relative to the
# input directory and pick only those two folders; --ignore-dirs keeps dot and underscore
# folders (.venv, __pycache__) out of the walk.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--ignore-dirs='.* _*' --project=carevisits --version=0.1.0 \
		-o carevisits/translations/messages.pot .
	$(BIN)/pybabel update -i carevisits/translations/messages.pot -d carevisits/translations \
		--no-fuzzy-matching --ignore-obsolete

db: setup
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty

# Debian packages, when missing: a CJK font for printing, and for the tests Debian's chromium
# (browser tests), nginx (`nginx -t` of deploy/nginx/) and systemd (`systemd-analyze verify`
# of deploy/'s units). `make run` asks for the font only.
SYSTEM_DEPS ?= font chromium nginx systemd
system-deps:
	@scripts/system-deps.sh $(SYSTEM_DEPS)

lint: setup
	$(BIN)/ruff check carevisits tests bench migrations wsgi.py hatch_build.py

# Known vulnerabilities in the installed dependencies (pip-audit; it needs its vulnerability
# service, and says so and fails when that cannot be reached — AUDIT_OPTIONS='-s osv' asks
# OSV instead of PyPI), then bandit's security lint of the package. Both always run; any
# finding, or no answer, is a non-zero exit. Not part of `make test`: it needs the network.
audit: setup
	@status=0; \
	$(BIN)/python scripts/audit.py $(AUDIT_OPTIONS) || status=$$?; \
	$(BIN)/bandit --quiet --recursive carevisits || status=$$?; \
	exit $$status

# The installable wheel in dist/: the package with templates, static files, print layouts,
# migrations and compiled catalogues inside it (pyproject.toml, hatch_build.py). Install it
# anywhere with `pip install dist/carevisits-*.whl`; then `flask --app carevisits db upgrade`.
wheel: $(VENV)/.installed
	$(BIN)/pip wheel --no-deps --quiet -w dist .

clean:
	rm -rf $(VENV) dist instance/*.sqlite3*
