# The README's two commands are `make run` and `make test`; both work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 3100
DATA_DIR ?= ./flightlog-data
DEMO_ARGS ?=

.PHONY: run test bench lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[demo]'
	touch $@

$(VENV)/.installed-test: pyproject.toml tests/frameworks.txt | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]' -r tests/frameworks.txt
	touch $@ $(VENV)/.installed-run

$(VENV)/.installed-bench: $(VENV)/.installed-test pyproject.toml
	$(BIN)/pip install -q -e '.[test,bench]' -r tests/frameworks.txt
	touch $@

run: $(VENV)/.installed-run
	$(BIN)/flightlog demo --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR) $(DEMO_ARGS)

# --dist loadfile keeps a test module on one worker, so its module-scoped server starts once.
test: $(VENV)/.installed-test
	bash scripts/ensure-test-tools.sh || true
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run_all.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

clean:
	rm -rf $(VENV) $(DATA_DIR) .pytest_cache .ruff_cache
