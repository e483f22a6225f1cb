# Two entry points for a fresh machine with only python3 and make:
#   make lab   - set up .venv, lay the notebooks and sample out in work/ (chatconn notebooks)
#                and open the main notebook there in JupyterLab on 127.0.0.1;
#                options: PORT=8888 (the port), NO_BROWSER=1 (print the URL, open nothing),
#                LAB_DIR=work (the working folder: JupyterLab autosaves there, never into
#                notebooks/, and Save run writes to LAB_DIR/data/runs/mine)
#   make test  - set up .venv and run lint (ruff, format check, mypy) and the whole test suite
# Also: make demo (the command-line tour), make bench (the benchmarks), make report (the
# stakeholder report of the sample runs in data/runs), make sample (regenerate that sample).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab demo test lint bench notebooks report sample clean

ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
PORT ?= 8888
NO_BROWSER ?=
LAB_DIR ?= work

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --quiet --upgrade pip
	$(BIN)/pip install --quiet --quiet -e '.[dev]'
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/chatconn notebooks $(LAB_DIR)
	cd $(LAB_DIR) && $(CURDIR)/$(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) \
		$(if $(NO_BROWSER),--no-browser,) $(ALLOW_ROOT) 01_tune_policy.ipynb

demo: $(STAMP)
	@echo "== What is available"
	@$(BIN)/chatconn presets
	@echo; echo "== The seed policy, attempt by attempt (20,000 drawn schedules)"
	@$(BIN)/chatconn schedule --policy seed --samples 20000 --seed 1
	@echo; echo "== One million users worldwide connect with it"
	@$(BIN)/chatconn simulate --policy seed --profile global-users --sessions 1000000 --seed 1
	@echo; echo "== ... and the same users behind a corporate proxy that blocks WebSocket"
	@$(BIN)/chatconn simulate --policy seed --profile corporate-firewall --sessions 100000 --seed 1
	@echo; echo "== 20,000 clients reconnect after a 30 s outage to a server taking 2,000 handshakes/s"
	@$(BIN)/chatconn storm --policy seed --clients 20000 --outage-s 30 --capacity 2000 --seed 1
	@$(BIN)/chatconn storm --policy socketio --clients 20000 --outage-s 30 --capacity 2000 --seed 1
	@echo; echo "== Live: 20 real clients against the local lab server behind a WebSocket-blocking proxy"
	@echo "   (time scale 0.02: the policy's 15 s timeouts last 0.3 s; times reported in profile time)"
	@$(BIN)/chatconn run --lab --profile corporate-firewall --policy seed --sessions 20 --concurrency 20 --time-scale 0.02 --seed 1
	@echo; echo "Try: .venv/bin/chatconn simulate --policy grpc --profile 3g --json   (see README.md)"

lint: $(STAMP)
	$(BIN)/ruff check chatconn tests benchmarks tools hatch_build.py
	$(BIN)/ruff format --check chatconn tests benchmarks tools hatch_build.py
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_simulate.py
	$(BIN)/python benchmarks/bench_storm.py
	$(BIN)/python benchmarks/bench_live.py
	$(BIN)/python benchmarks/bench_widgets.py
	$(BIN)/python benchmarks/bench_runs.py
	$(BIN)/python benchmarks/bench_tune.py
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_agreement.py

report: $(STAMP)
	$(BIN)/chatconn report data/runs --out build/report.html --force --title "chatconn sample runs"
	@echo "open build/report.html in a browser (works offline)"

sample: $(STAMP)
	$(BIN)/python tools/make_sample.py --force

notebooks: $(STAMP)
	$(BIN)/python tools/make_notebooks.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
