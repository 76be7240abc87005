"""pytest fixtures shared by the whole suite: small MNIST folders on disk, and real runs that
several tests look at (helpers are in tests/fixtures.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mnist_cnn import provenance
from mnist_cnn.train import train
from tests.fixtures import (
    NO_REAL_DIGITS,
    REAL_DIGITS_ENV,
    REAL_DIGITS_OPTION,
    T10K_DIR,
    compose_config,
    real_digits,
    run_cli,
    synthetic_digits,
    train_args,
    write_dataset,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        REAL_DIGITS_OPTION,
        default=None,
        help=f"folder of the MNIST t10k IDX files (else ${REAL_DIGITS_ENV}, else {T10K_DIR})",
    )


# With pytest-xdist (make test runs `pytest -n auto`), the tests of one folder here share one
# worker: their session fixtures start a real server (MLflow, optuna-dashboard, SLURM) or build a
# model file, and do it once.
ONE_WORKER = ("extras/trackers", "extras/optuna", "extras/keras", "extras/cluster")


# tryfirst: xdist reads the marks in its own collection hook, which must come after this one.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        folder = item.path.parent.relative_to(tests).as_posix()
        if folder in ONE_WORKER:
            item.add_marker(pytest.mark.xdist_group(folder))


def real_digits_dir(config: pytest.Config) -> Path:
    """The real-digit folder: the pytest option, else the environment variable, else ../shared."""
    chosen = config.getoption(REAL_DIGITS_OPTION) or os.environ.get(REAL_DIGITS_ENV)
    return Path(chosen).expanduser() if chosen else T10K_DIR


@pytest.fixture(scope="session", autouse=True)
def _fingerprint_cache(tmp_path_factory):
    """Runs in this process cache data fingerprints in a temporary folder, not in the checkout's
    outputs/ (an absolute CACHE_FILE replaces `<paths.log_dir>/`, as pathlib joins paths)."""
    with pytest.MonkeyPatch.context() as patch:
        cache = tmp_path_factory.mktemp("fingerprints") / provenance.CACHE_FILE
        patch.setattr(provenance, "CACHE_FILE", str(cache))
        yield


@pytest.fixture(scope="session")
def t10k(request):
    """The 10,000 real test digits, or None where the real-digit folder is absent."""
    folder = real_digits_dir(request.config)
    if folder != T10K_DIR and not folder.is_dir():
        # A folder named on purpose that is not there is a mistake, not a reason to skip.
        raise pytest.UsageError(f"{REAL_DIGITS_ENV} or {REAL_DIGITS_OPTION}: no folder {folder}")
    return real_digits(folder) if folder.is_dir() else None


@pytest.fixture(scope="session")
def real_data_dir(t10k, tmp_path_factory) -> Path:
    """Real digits as a small MNIST: the first 8,000 as training files, the last 2,000 as test."""
    if t10k is None:
        pytest.skip(NO_REAL_DIGITS)
    images, labels = t10k
    root = tmp_path_factory.mktemp("mnist_real")
    return write_dataset(root, (images[:8000], labels[:8000]), (images[8000:], labels[8000:]))


@pytest.fixture(scope="session")
def tiny_data_dir(t10k, tmp_path_factory) -> Path:
    """600 training and 300 test images: real digits when present, else synthetic ones."""
    images, labels = t10k if t10k is not None else synthetic_digits(900)
    root = tmp_path_factory.mktemp("mnist_tiny")
    return write_dataset(root, (images[:600], labels[:600]), (images[600:900], labels[600:900]))


@pytest.fixture(scope="session")
def reference_run(tiny_data_dir, tmp_path_factory) -> Path:
    """The uninterrupted run every resumed or repeated run must match."""
    run_dir = tmp_path_factory.mktemp("reference")
    result = run_cli("train.py", *train_args(tiny_data_dir, run_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


@pytest.fixture(scope="session")
def trained_run(tiny_data_dir, tmp_path_factory) -> tuple[Path, dict]:
    """2 epochs of 540 tiny-data images (batches of 32), tested, with TensorBoard."""
    run_dir = tmp_path_factory.mktemp("trained_run")
    overrides = [
        f"data.data_dir={tiny_data_dir}",
        "data.download=false",
        "trainer.accelerator=cpu",
        "data.batch_size=32",  # 17 steps an epoch: enough to learn, so predictions mean something
        "trainer.max_epochs=2",
        "logger=tensorboard",
    ]
    return run_dir, train(compose_config("train", overrides, run_dir))


@pytest.fixture(scope="session")
def checkpoint(trained_run) -> Path:
    return Path(trained_run[1]["best_checkpoint"])
