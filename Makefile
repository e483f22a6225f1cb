# Two entry points for a fresh machine with only python3 and make:
#   make lab   - set up .venv and run the main job (a simulator demo until the notebooks land)
#   make test  - set up .venv and run lint, format check and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/chatconn presets
	$(BIN)/chatconn schedule --policy seed --samples 20000 --seed 1
	$(BIN)/chatconn simulate --policy seed --profile global-users --sessions 1000000 --seed 1
	$(BIN)/chatconn storm --policy seed --clients 20000 --outage-s 30 --capacity 2000 --seed 1

lint: $(STAMP)
	$(BIN)/ruff check chatconn tests benchmarks
	$(BIN)/ruff format --check chatconn tests benchmarks

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_simulate.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
