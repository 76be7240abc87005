"""Shared fixtures: small MNIST folders on disk and the composed Hydra config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_cnn.data.samples import real_digits, synthetic_digits, write_dataset
from mnist_cnn.utils.config import compose_config  # noqa: F401  (the tests' way in)

REPO = Path(__file__).resolve().parents[1]
# The official MNIST test set, laid beside the checkout in CI and on the team's machines.
T10K_DIR = REPO.parent / "shared" / "data" / "mnist-t10k"
NO_REAL_DIGITS = f"real MNIST digits not found at {T10K_DIR} (a clone without ../shared)"


@pytest.fixture(scope="session")
def t10k():
    """The 10,000 real test digits, or None where ../shared is absent."""
    return real_digits(T10K_DIR) if T10K_DIR.is_dir() else None


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


@pytest.fixture(scope="session")
def slurm_partition():
    """A real one-node SLURM cluster's partition; scripts/local_slurm.sh starts one (as root) if
    none answers, and it is shut down after the session. Skips with the script's reason."""
    script = REPO / "scripts" / "local_slurm.sh"
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        pytest.skip(f"no SLURM cluster: {result.stderr.strip()}")
    yield "debug"
    if result.stdout.strip() == "started":  # one that ran before the session stays up
        subprocess.run(["scontrol", "shutdown"], capture_output=True, timeout=60)
