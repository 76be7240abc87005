"""Shared fixtures: small MNIST folders on disk and the composed Hydra config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict, read_write

from mnist_cnn.data.samples import real_digits, synthetic_digits, write_dataset
from mnist_cnn.utils.config import CONFIG_DIR, register_resolvers

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


def compose_config(config_name: str, overrides: list[str], output_dir: Path) -> DictConfig:
    """Compose a config exactly as the entry point would, with its run folder at `output_dir`."""
    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        cfg = compose(config_name, overrides=overrides, return_hydra_config=True)
    with read_write(cfg), open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
        cfg.hydra.runtime.output_dir = str(output_dir)
    HydraConfig().set_config(cfg)
    with read_write(cfg), open_dict(cfg):
        del cfg["hydra"]  # as in a real run: the task sees its config without the hydra node
    return cfg


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
