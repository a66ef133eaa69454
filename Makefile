# Two entry points for a new user (see README): `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test install install-dev services lint typecheck pytest xtts-test clean

# Install everything (embedded offline models included), migrate, seed the demo data, serve
# (with a Celery worker + beat as a child process; jobs wait in the outbox if Redis is down).
run: install
	$(BIN)/callcenter db upgrade
	$(BIN)/callcenter db seed-demo
	$(BIN)/callcenter serve --host $(HOST) --port $(PORT) --with-worker

# Install everything the tests need and run the whole suite (lint, types, tests, XTTS env).
test: install-dev services lint typecheck pytest xtts-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel setuptools

install: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[embedded]"

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[embedded,dev,bench]"
	bash .ci/system-packages.sh

services:
	bash .ci/services.sh

lint:
	$(BIN)/ruff check callcenter tests migrations
	$(BIN)/ruff format --check callcenter tests migrations

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

xtts-test:
	bash tests/tts/xtts_env.sh test

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
