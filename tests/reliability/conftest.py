"""Real `python train.py` processes for the reliability suite: start, watch, signal, compare."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ..conftest import REPO, read_metrics, run_cli

# 540 training images in batches of 32: 17 steps an epoch, 51 in all; last.ckpt every 2 steps.
STEPS_PER_EPOCH = 17


def overrides(data_dir: Path, *extra: str) -> list[str]:
    """A small, deterministic CPU run."""
    return [
        f"data.data_dir={data_dir}", "data.download=false", "data.batch_size=32",
        "trainer.accelerator=cpu", "trainer.max_epochs=3", "trainer.deterministic=true",
        "seed=7", "logger=none", "callbacks.periodic_checkpoint.every_n_train_steps=2", *extra,
    ]  # fmt: skip


def train_args(data_dir: Path, run_dir: Path, *extra: str) -> list[str]:
    """Command-line overrides for the same run into `run_dir`."""
    return [*overrides(data_dir, *extra), f"hydra.run.dir={run_dir}"]


def start_train(args: list[str], log: Path) -> subprocess.Popen:
    """`python train.py args...` in the background, its stdout and stderr into `log`."""
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, str(REPO / "train.py"), *args], cwd=REPO, stdout=out, stderr=out
        )


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until `path` exists: proof that training is under way."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended (status {proc.returncode}) before {path} appeared")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"{path} did not appear within {timeout} s")
        time.sleep(0.02)


def outcome(run_dir: Path) -> dict:
    """metrics.json less what differs between two folders (paths, timings)."""
    metrics = read_metrics(run_dir)
    return {
        k: v for k, v in metrics.items() if k != "best_checkpoint" and not k.endswith("_time_s")
    }


def weights(ckpt: Path) -> dict[str, torch.Tensor]:
    return torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    different = [k for k in wa if not torch.equal(wa[k], wb[k])]
    assert not different, f"weights differ in {different}"


@pytest.fixture(scope="session")
def reference_run(tiny_data_dir, tmp_path_factory) -> Path:
    """The uninterrupted run every resumed or repeated run must match."""
    run_dir = tmp_path_factory.mktemp("reference")
    result = run_cli("train.py", *train_args(tiny_data_dir, run_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir
