"""SIGTERM, Ctrl-C and SIGKILL during fit: nothing is lost, and the resumed run ends exactly where
the uninterrupted one does (CPU, trainer.deterministic=true, same seed)."""

import signal

import pytest
import torch

from tests.fixtures import (
    STEPS_PER_EPOCH,
    assert_same_weights,
    outcome,
    run_cli,
    start_train,
    train_args,
    wait_for,
)

pytestmark = pytest.mark.slow


def _resume(data_dir, run_dir):
    result = run_cli("train.py", *train_args(data_dir, run_dir, "ckpt_path=last"))
    assert result.returncode == 0, result.stderr[-3000:]


def _interrupt(signum, data_dir, run_dir, log) -> int:
    """Start a run, signal it once training is under way; return the step it saved."""
    proc = start_train(train_args(data_dir, run_dir), log)
    wait_for(run_dir / "checkpoints" / "last.ckpt", proc)  # the first periodic save: step 2
    proc.send_signal(signum)
    assert proc.wait(timeout=60) == 128 + signum
    output = log.read_text()
    assert f"Received {signal.Signals(signum).name}" in output
    assert "Training interrupted at epoch" in output
    assert f"ckpt_path=last hydra.run.dir={run_dir}" in output  # how to resume
    assert not (run_dir / "metrics.json").exists()
    step = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
    assert 2 <= step < 51, "the signal must land during training"
    return step


def test_sigterm_saves_a_checkpoint_and_resume_ends_like_no_interruption(
    tiny_data_dir, reference_run, tmp_path
):
    run_dir = tmp_path / "run"
    _interrupt(signal.SIGTERM, tiny_data_dir, run_dir, tmp_path / "log")
    _resume(tiny_data_dir, run_dir)
    assert outcome(run_dir) == outcome(reference_run)
    assert_same_weights(
        run_dir / "checkpoints" / "last.ckpt", reference_run / "checkpoints" / "last.ckpt"
    )


def test_ctrl_c_saves_a_checkpoint_the_same_way(tiny_data_dir, tmp_path):
    # SIGINT goes through the same handler as SIGTERM, whose resume the test above checks.
    _interrupt(signal.SIGINT, tiny_data_dir, tmp_path / "run", tmp_path / "log")


def test_sigkill_loses_at_most_the_steps_since_the_periodic_checkpoint(
    tiny_data_dir, reference_run, tmp_path
):
    run_dir = tmp_path / "run"
    last = run_dir / "checkpoints" / "last.ckpt"
    proc = start_train(train_args(tiny_data_dir, run_dir), tmp_path / "log")
    wait_for(last, proc)
    while (step := torch.load(last, weights_only=True)["global_step"]) < 10:  # well under way
        assert proc.poll() is None, "the run ended before it could be killed"
    proc.kill()
    assert proc.wait(timeout=60) == -signal.SIGKILL
    saved = torch.load(last, weights_only=True)
    assert saved["global_step"] >= step
    # Saved every 2 steps and at each epoch's end: at most 2 steps were lost.
    assert saved["global_step"] % 2 == 0 or saved["global_step"] % STEPS_PER_EPOCH == 0

    _resume(tiny_data_dir, run_dir)
    assert outcome(run_dir) == outcome(reference_run)
    assert_same_weights(
        run_dir / "checkpoints" / "last.ckpt", reference_run / "checkpoints" / "last.ckpt"
    )
