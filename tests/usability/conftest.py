"""One small real training run shared by the predict, export and report tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnist_cnn.train import train

from ..conftest import compose_config


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
