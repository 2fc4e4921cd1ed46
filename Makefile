# Everything runs from a local .venv that the first target creates; a fresh machine
# needs only Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo serve test check lint typecheck pytest pytest-all bench bench-env evals fmt clean vllm-env mutation

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/lotsen demo

# The demo world served on http://127.0.0.1:8080/ (runs the demo first if needed; prints
# the demo logins once). PORT=8081 to change the port.
PORT ?= 8080
serve: $(STAMP)
	$(BIN)/python -m lotsen.service.demo --port $(PORT)

# The fast lane developers run many times a day: every test not marked slow.
test: lint typecheck pytest

# Everything, slow tests included (browser, real MLflow/PostgreSQL servers, crash kills,
# eval suite runs, the loop's failover): what CI runs (.ci/run).
check: lint typecheck pytest-all

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q -n auto --dist loadgroup --hypothesis-profile=ci -m "not slow"

pytest-all: $(STAMP)
	$(BIN)/pytest -q -n auto --dist loadgroup --hypothesis-profile=ci

# Mutation testing of the safety-critical modules (~1-2 h on 2 cores); writes
# tests/mutation/REPORT.md. MODULES="tools/policy/gate.py" runs one.
mutation: $(STAMP)
	$(BIN)/python -m tests.mutation.run $(MODULES)

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) .venv-bench/.installed
	$(BIN)/lotsen bench fleet
	$(BIN)/lotsen bench drift
	$(BIN)/lotsen bench scan --models 1000,10000,100000
	if $(BIN)/python -c "import ray" 2>/dev/null; then $(BIN)/lotsen bench scan --engine ray --models 10000,100000; \
	else echo "bench scan --engine ray skipped: ray is not installed (pip install -e '.[ray]')"; fi
	$(BIN)/lotsen bench packing --deployments 1000 --nodes 64
	$(BIN)/lotsen bench startup
	test -d .lotsen/world || $(BIN)/lotsen demo
	$(BIN)/lotsen bench serve
	$(BIN)/lotsen bench remediation --kill-sweep 12
	$(BIN)/lotsen bench router --jobs 2

# Evidently 0.7 and NannyML 0.13 need pandas < 3, so the drift benchmark's baselines get their own venv.
bench-env: .venv-bench/.installed
.venv-bench/.installed:
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet "evidently>=0.7,<0.8" "nannyml==0.13.1" "pandas<3" pyarrow
	touch $@

# The agent evaluation suite at tier 0 (EVAL_ARGS="--tier auto" adds configured LLM tiers).
EVAL_ARGS ?= --trials 4 --jobs 2
evals: $(STAMP)
	$(BIN)/lotsen eval check
	$(BIN)/lotsen eval run $(EVAL_ARGS)

# vLLM pins its own torch and FastAPI, so it gets its own environment (GPU machines only).
vllm-env:
	$(PYTHON) -m venv .venv-vllm
	.venv-vllm/bin/python -m pip install --upgrade pip vllm

clean:
	rm -rf $(VENV) .lotsen .mypy_cache .ruff_cache .pytest_cache
