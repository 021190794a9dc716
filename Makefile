# The two commands a newcomer needs: `make run` and `make test`. See README.md.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test test-fast test-shifted-clock lint format lock bench clean audit

$(INSTALLED): requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	touch $@

## run: install, migrate, load the demo clinic and start web, worker and beat (Ctrl-C stops all)
run: export DEBUG ?= true
run: export SITE_URL ?= http://localhost:$(PORT)
run: $(INSTALLED)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  The clinic is at http://localhost:$(PORT)/  (admin: /admin/, API docs: /api/docs/)"
	@echo "  Log in with one of the demo staff logins printed above. Ctrl-C stops everything."
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" PORT=$(PORT) $(BIN)/honcho start --procfile Procfile

## test: install and run the whole suite (PostgreSQL and Redis tests need DATABASE_URL / REDIS_URL)
test: $(INSTALLED)
	$(BIN)/pytest $(PYTEST_ARGS)

## test-fast: the suite without the tests marked slow (browser, faults, load, properties)
test-fast: $(INSTALLED)
	$(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

## test-shifted-clock: the date-sensitive tests again on a clock started far from today
## (tests/conftest.py's --clock). CI runs it.
# Saturday 10:30 PM in New York, hours before the clocks go forward: a weekend, a DST eve.
SHIFTED_CLOCK ?= 2031-03-08T22:30:00-05:00
SHIFTED_TESTS ?= tests/booking tests/followup tests/access tests/config tests/test_pages.py
test-shifted-clock: $(INSTALLED)
	$(BIN)/pytest --clock=$(SHIFTED_CLOCK) $(PYTEST_ARGS) $(SHIFTED_TESTS)

## lint: what CI checks besides the tests
lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/bandit -c bandit.yaml -r config booking followup -q
	$(BIN)/python -m tests.config.compose_spec docker-compose.yml

## audit: known vulnerabilities of the pinned dependencies (needs PyPI's advisory service;
## --strict fails, instead of passing, when a package could not be checked)
audit: $(INSTALLED)
	timeout 300 $(BIN)/pip-audit --strict --no-deps --disable-pip --progress-spinner off -r requirements.lock

## bench: run every benchmark on the local PostgreSQL and Redis and rewrite docs/performance.md's figures
bench: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
bench: export REDIS_URL ?= redis://127.0.0.1:6379/0
bench: $(INSTALLED)
	$(BIN)/python -m bench.run_all $(BENCH_ARGS)

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## lock: re-pin every dependency after editing pyproject.toml
lock: $(INSTALLED)
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links --extra dev -o requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .mypy_cache .ruff_cache
