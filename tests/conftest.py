"""Shared fixtures: small MNIST folders on disk and the composed Hydra config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_cnn.data.samples import real_digits, synthetic_digits, write_dataset
from mnist_cnn.utils.config import compose_config  # noqa: F401  (the tests' way in)

REPO = Path(__file__).resolve().parents[1]
# The official MNIST test set (t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, .gz or not): laid
# beside the checkout in CI and on the team's machines; a fork elsewhere points to it by setting.
T10K_DIR = REPO.parent / "shared" / "data" / "mnist-t10k"
REAL_DIGITS_ENV = "MNIST_CNN_REAL_DIGITS"
REAL_DIGITS_OPTION = "--real-digits"
NO_REAL_DIGITS = (
    f"real MNIST digits not found: set {REAL_DIGITS_ENV}=DIR or pytest {REAL_DIGITS_OPTION}=DIR "
    f"to a folder holding the t10k IDX files (default {T10K_DIR})"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        REAL_DIGITS_OPTION,
        default=None,
        help=f"folder of the MNIST t10k IDX files (else ${REAL_DIGITS_ENV}, else {T10K_DIR})",
    )


def real_digits_dir(config: pytest.Config) -> Path:
    """The real-digit folder: the pytest option, else the environment variable, else ../shared."""
    chosen = config.getoption(REAL_DIGITS_OPTION) or os.environ.get(REAL_DIGITS_ENV)
    return Path(chosen).expanduser() if chosen else T10K_DIR


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


def run_cli(script: str, *overrides: str, cwd: Path = REPO, timeout: float = 300):
    """Run `python <script> overrides...` as a user would; return the finished process."""
    return subprocess.run(
        [sys.executable, str(REPO / script), *overrides],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())
