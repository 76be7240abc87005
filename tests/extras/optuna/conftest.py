"""Fixtures of the optuna extra's tests: tiny in-process sweeps of the real train.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures import run_in_process

# One short epoch of 5 batches of real digits per trial, no test pass, nothing drawn: ~1 s.
TINY = [
    "data.download=false", "data.batch_size=64", "trainer.max_epochs=1",
    "trainer.limit_train_batches=5", "trainer.limit_val_batches=2", "test=false", "logger=none",
    "callbacks.progress_bar=null", "callbacks.learning_report=null",
    "callbacks.model_summary=null", "trainer.accelerator=cpu",
]  # fmt: skip


@pytest.fixture
def sweep(tiny_data_dir, tmp_path) -> Callable[..., int]:
    """`sweep(name, *overrides)`: `python train.py -m` in this process on the tiny digits, its
    folder `sweep.root / name`, its studies in `sweep.root / "optuna"`; the exit status."""

    def run(name: str, *overrides: str) -> int:
        return run_in_process(
            "train.py", "-m", f"data.data_dir={tiny_data_dir}", *TINY, f"paths.log_dir={tmp_path}",
            f"hydra.sweep.dir={tmp_path / name}", *overrides,
        )  # fmt: skip

    run.root = tmp_path
    return run


@pytest.fixture(scope="session")
def front_sweep(tiny_data_dir, tmp_path_factory) -> Path:
    """The sweep folder of hparams_search=accuracy_vs_size (docs/sweeps.md's example), 6 trials
    drawn by a seeded random sampler, on tiny real digits."""
    root = tmp_path_factory.mktemp("front")
    status = run_in_process(
        "train.py", "-m", "hparams_search=accuracy_vs_size", "hydra.sweeper.n_trials=6",
        "hydra/sweeper/sampler=random", "hydra.sweeper.sampler.seed=6",
        f"data.data_dir={tiny_data_dir}", *TINY, f"paths.log_dir={root}",
        f"hydra.sweep.dir={root / 'sweep'}",
    )  # fmt: skip
    assert status == 0
    return root / "sweep"
