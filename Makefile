# passline: `make run` serves the product with demo data; `make test` runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)
# With DEBUG off the settings refuse to start without SECRET_KEY; a laptop without one
# runs the worker with DEBUG=1 (its built-in key is for local use only).
LOCAL_ENV := $(if $(SECRET_KEY),,DEBUG=1)

# One pytest worker per CPU (up to 4); tests that start servers or workers of their own
# share one of them (tests/conftest.py). PYTEST_PARALLEL= runs everything in one process.
PYTEST_PARALLEL ?= -n auto --maxprocesses 4 --dist loadgroup

.PHONY: run test lint format venv worker clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

run: venv
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py loaddemo
	DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:8000

test: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SECRET_KEY="$${SECRET_KEY:-migrations-check-only}" $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# One worker on all three queues (passline/queues.py); production runs one per queue.
worker: venv
	$(LOCAL_ENV) $(BIN)/celery -A passline worker -Q ingest,derive,maintenance,notify --loglevel=INFO

clean:
	rm -rf $(VENV) var
