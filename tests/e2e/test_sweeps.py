"""A multirun: one folder per job, and a failing job recorded while the others still run."""

import pytest

from tests.fixtures import QUICK_JOB, run_cli, summary_rows


@pytest.mark.slow
def test_a_failing_job_is_recorded_and_the_others_still_run(tiny_data_dir, tmp_path):
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        "train.py", "-m", "model.optimizer.lr=-1,1e-3",
        f"data.data_dir={tiny_data_dir}", *QUICK_JOB, f"hydra.sweep.dir={sweep_dir}",
        f"paths.log_dir={tmp_path}",
    )  # fmt: skip
    assert result.returncode != 0  # the sweep still reports the failure...
    assert (sweep_dir / "summary.csv").is_file(), result.stdout[-2000:] + result.stderr[-4000:]
    failed, completed = summary_rows(sweep_dir)  # ...after running the job after it
    assert failed["status"] == "failed" and "Invalid learning rate" in failed["error"]
    assert failed["test/acc"] == "" and "model.optimizer.lr=-1" in failed["overrides"]
    assert completed["status"] == "completed" and completed["epochs"] == "1"
    assert float(completed["test/acc"]) > 0.1 and float(completed["wall_time_s"]) > 0
    assert "| failed |" in (sweep_dir / "summary.md").read_text()
