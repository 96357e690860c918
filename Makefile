# The habits: `make run` to try it, `make test` to prove it, `make check` before a commit.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: setup run test check format lint types bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: setup
	$(BIN)/devflowfix demo --if-empty
	$(BIN)/devflowfix serve --host 127.0.0.1 --port 8000

test: setup
	$(BIN)/pytest -n $(PYTEST_WORKERS)

format: setup
	$(BIN)/ruff format src tests bench

lint: setup
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

types: setup
	$(BIN)/mypy

check: lint types test

bench: setup
	$(BIN)/python bench/demo_load.py
	$(BIN)/python bench/analysis.py
	$(BIN)/python bench/analysis_jobs.py
	$(BIN)/python bench/exports.py
	$(BIN)/python bench/pr_creation.py
	$(BIN)/python bench/jobs.py
	$(BIN)/python bench/search.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
