"""Resume into the run's own folder: by hand (ckpt_path=last), and after a SLURM requeue."""

import os
import signal
import stat
import subprocess
import sys
import time

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from mnist_cnn.train import train
from tests.fixtures import REPO, compose_config, read_metrics

QUICK = ["trainer.accelerator=cpu", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1"]


def _val_acc_events(run_dir):
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    return events.Scalars("val/acc")


def test_ckpt_path_last_continues_the_run_without_repeating_epochs(tiny_data_dir, tmp_path):
    data = f"data.data_dir={tiny_data_dir}"
    first = train(compose_config("train", [data, *QUICK, "trainer.max_epochs=1"], tmp_path))
    saved = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert saved["state_dict"]["val_acc_best.max_value"] == pytest.approx(first["val/acc_best"])

    overrides = [data, *QUICK, "trainer.max_epochs=3", "ckpt_path=last"]
    resumed = train(compose_config("train", overrides, tmp_path))
    assert resumed["epochs"] == 3 and resumed["global_step"] == 3 * first["global_step"]
    # One TensorBoard run: each epoch's validation logged once, at increasing steps.
    steps = [event.step for event in _val_acc_events(tmp_path)]
    assert steps == [1, 3, 5]  # the last step of epochs 0, 1, 2 (2 steps each)
    # metrics.json speaks for the whole run: the best epoch may be one from before the resume.
    best = max(event.value for event in _val_acc_events(tmp_path))
    assert read_metrics(tmp_path)["val/acc_best"] == pytest.approx(best)


@pytest.mark.slow
def test_slurm_requeue_signal_saves_requeues_and_resumes_in_the_same_folder(
    tiny_data_dir, tmp_path
):
    """SIGUSR1 as SLURM sends it before the time limit: Lightning saves hpc_ckpt_1.ckpt in the
    run folder and calls `scontrol requeue`; the requeued job finds its folder and continues."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "scontrol_calls"
    bin_dir.mkdir()
    scontrol = bin_dir / "scontrol"
    # A stand-in for scontrol: note the call, then end the job as SLURM's requeue does.
    scontrol.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nkill -9 $PPID\n')
    scontrol.chmod(scontrol.stat().st_mode | stat.S_IXUSR)
    slurm = {
        "SLURM_NTASKS": "1", "SLURM_JOB_NAME": "train", "SLURM_JOB_ID": "4242",
        "SLURM_STEP_ID": "0", "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NODEID": "0",
        "SLURM_NODELIST": "localhost",
    }  # fmt: skip
    env = {**os.environ, **slurm, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    command = [
        sys.executable, str(REPO / "train.py"), f"data.data_dir={tiny_data_dir}",
        "trainer.accelerator=cpu", "data.batch_size=2", "trainer.limit_train_batches=250",
        "trainer.limit_val_batches=1", "trainer.max_epochs=3", f"paths.log_dir={tmp_path / 'out'}",
    ]  # fmt: skip
    run_dir = tmp_path / "out" / "train" / "runs" / "slurm-4242.0"

    job = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not (run_dir / "checkpoints" / "last.ckpt").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        # Into epoch 1's training steps (250 of them, well over 0.1 s), away from the epoch-end
        # writes: Lightning's handler flushes TensorBoard, whose writer lock is not reentrant.
        time.sleep(0.1)
        job.send_signal(signal.SIGUSR1)
        job.wait(timeout=60)
    finally:
        job.kill()
    assert job.returncode == -signal.SIGKILL  # ended by the requeue, not finished
    assert calls.read_text().split() == ["requeue", "4242"]
    assert (run_dir / "hpc_ckpt_1.ckpt").is_file() and not (run_dir / "metrics.json").exists()
    epochs_before = len(_val_acc_events(run_dir))

    requeued = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    assert requeued.returncode == 0, requeued.stderr[-3000:]
    assert [p.name for p in run_dir.parent.iterdir()] == [run_dir.name]
    assert "hpc_ckpt_1.ckpt" in requeued.stderr  # restored from it
    assert read_metrics(run_dir)["epochs"] == 3
    steps = [event.step for event in _val_acc_events(run_dir)]
    assert 0 < epochs_before < 3 and len(steps) == 3 and steps == sorted(set(steps))
