"""Resume into the run's own folder by hand (ckpt_path=last)."""

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from mnist_cnn.train import train
from tests.fixtures import compose_config, read_metrics

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
