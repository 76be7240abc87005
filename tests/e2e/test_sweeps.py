"""A multirun: one folder per job, and a failing job recorded while the others still run."""

import csv

import pytest

from tests.fixtures import run_cli

# One short epoch per job: the sweep machinery is under test, not the model.
QUICK = [
    "trainer.accelerator=cpu", "trainer.max_epochs=1", "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1", "trainer.limit_test_batches=1", "logger=none",
]  # fmt: skip


def _summary(sweep_dir):
    with open(sweep_dir / "summary.csv") as f:
        return list(csv.DictReader(f))


def _job_dirs(sweep_dir):
    return sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


@pytest.mark.slow
def test_a_failing_job_is_recorded_and_the_others_still_run(tiny_data_dir, tmp_path):
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        "train.py", "-m", "model.optimizer.lr=-1,1e-3",
        f"data.data_dir={tiny_data_dir}", *QUICK, f"hydra.sweep.dir={sweep_dir}",
        f"paths.log_dir={tmp_path}",
    )  # fmt: skip
    assert result.returncode != 0  # the sweep still reports the failure...
    assert (sweep_dir / "summary.csv").is_file(), result.stdout[-2000:] + result.stderr[-4000:]
    failed, completed = _summary(sweep_dir)  # ...after running the job after it
    assert failed["status"] == "failed" and "Invalid learning rate" in failed["error"]
    assert failed["test/acc"] == "" and "model.optimizer.lr=-1" in failed["overrides"]
    assert completed["status"] == "completed" and completed["epochs"] == "1"
    assert float(completed["test/acc"]) > 0.1 and float(completed["wall_time_s"]) > 0
    assert "| failed |" in (sweep_dir / "summary.md").read_text()
