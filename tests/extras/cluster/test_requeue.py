"""Resume into the run's own folder after a real SLURM requeue."""

import subprocess
import sys
import time

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.fixtures import REPO, read_metrics


def _val_acc_events(run_dir):
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    return events.Scalars("val/acc")


def _job_state(job_id):
    result = subprocess.run(
        ["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True, text=True, timeout=30
    )
    return result.stdout.strip() or "GONE"  # no accounting: a finished job leaves squeue


@pytest.mark.slow
def test_slurm_requeue_signal_saves_requeues_and_resumes_in_the_same_folder(
    slurm_partition, tiny_data_dir, tmp_path
):
    """A real SLURM job sent SIGUSR1 (what SLURM sends before the time limit): Lightning saves
    hpc_ckpt_1.ckpt in the run folder and runs the real `scontrol requeue`; SLURM restarts the
    job, which finds its folder (slurm-<job id>.0), restores and finishes all epochs."""
    command = [
        sys.executable, str(REPO / "train.py"), f"data.data_dir={tiny_data_dir}",
        "trainer.accelerator=cpu", "trainer.devices=1", "data.batch_size=1",
        "trainer.limit_val_batches=1", "trainer.max_epochs=3", f"paths.log_dir={tmp_path / 'out'}",
    ]  # fmt: skip
    script = tmp_path / "job.sh"
    script.write_text(f"#!/bin/bash\nsrun {' '.join(command)}\n")
    submitted = subprocess.run(
        ["sbatch", "--parsable", "-p", slurm_partition, "-J", "train", "-n", "1", "-c", "1",
         f"--chdir={REPO}", f"--output={tmp_path / 'slurm-%j.out'}", str(script)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    job_id = submitted.stdout.strip().split(";")[0]
    run_dir = tmp_path / "out" / "train" / "runs" / f"slurm-{job_id}.0"
    try:
        deadline = time.monotonic() + 600  # generous: a loaded CI machine starts torch slowly
        while not (run_dir / "checkpoints" / "last.ckpt").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        # Into epoch 1's 540 training steps, away from the epoch-end writes; at ~160 steps/s,
        # epochs 1 and 2 leave the signal about 7 s to arrive while training still runs.
        time.sleep(0.5)
        subprocess.run(["scancel", "-s", "USR1", job_id], check=True, timeout=30)
        while (state := _job_state(job_id)) != "GONE" and time.monotonic() < deadline + 300:
            if state == "PENDING":  # requeued: SLURM holds it 2 minutes; start it now instead
                subprocess.run(["scontrol", "update", f"jobid={job_id}", "starttime=now"],
                               capture_output=True, timeout=30)  # fmt: skip
            time.sleep(1)
    finally:
        subprocess.run(["scancel", job_id], timeout=30)
    log = (tmp_path / f"slurm-{job_id}.out").read_text()
    assert (run_dir / "hpc_ckpt_1.ckpt").is_file(), log[-3000:]
    assert "hpc_ckpt_1.ckpt" in log  # the requeued run restored from it
    assert [p.name for p in run_dir.parent.iterdir()] == [run_dir.name]
    assert read_metrics(run_dir)["epochs"] == 3
    steps = [event.step for event in _val_acc_events(run_dir)]
    assert len(steps) == 3 and steps == sorted(set(steps))  # each epoch validated once
