# One command sets everything up and runs the tests: `make test`.
# PYTHON picks the interpreter for .venv (3.11+); the Lambda runtime itself is python3.13.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup demo emulator bench test lint format check template-check dist clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,cli]'
	@touch $(STAMP)

setup: $(STAMP)  ## create .venv and install the project with its dev dependencies

demo: setup  ## two whole deployments on the embedded emulator (no AWS account), shown step by step
	$(BIN)/bluegreen demo

emulator: setup  ## leave the emulator running, seeded; prints the endpoint and plan to use
	$(BIN)/bluegreen emulator

bench: setup  ## hook wall time, AWS calls, cold starts and layer size -> docs/performance.md (about two and a half minutes)
	$(BIN)/python -m bench

# The reliability sweeps (faults at every call, throttling, duplicates: minutes of the same paths again)
# run alongside, without coverage; the rest runs with branch coverage and fails under its floor.
test: setup  ## the whole suite: branch coverage (floor in pyproject.toml), the reliability sweeps alongside
	@mkdir -p build
	@$(BIN)/pytest -p no:cov tests/reliability > build/reliability-tests.log 2>&1 & sweeps=$$!; \
	$(BIN)/pytest --cov --cov-report=term --ignore=tests/reliability; suite=$$?; \
	wait $$sweeps; reliability=$$?; \
	echo "--- tests/reliability, run alongside without coverage (build/reliability-tests.log):"; \
	cat build/reliability-tests.log; \
	test $$suite -eq 0 && test $$reliability -eq 0

lint: setup  ## ruff (lint + format check) and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

template-check:  ## sam validate --lint, sam build (no Docker), checkov; sam and checkov each in their own venv
	bash scripts/template-check.sh

check: test lint template-check  ## what CI runs

dist: setup  ## the wheel and the sdist in dist/ (pip install "dist/bluegreen-<version>-py3-none-any.whl[cli]")
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

clean:  ## remove the venv and caches
	rm -rf $(VENV) .venv-sam .venv-checkov .venv-bench .pytest_cache .mypy_cache .ruff_cache .aws-sam
