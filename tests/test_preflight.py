"""Invalid settings are refused before any work, naming the key and what it may be."""

import os
import re

import pytest
import torch
from hydra.errors import InstantiationException
from omegaconf import OmegaConf

from mnist_cnn.checkpoint import CONFIG_KEY
from mnist_cnn.eval import evaluate
from mnist_cnn.stored_config import stored_config
from mnist_cnn.train import train
from tests.fixtures import compose_config, overrides, run_cli

CORES = len(os.sched_getaffinity(0))


def _refused(data_dir, run_dir, *extra, error=ValueError, match):
    """train() must raise before reading data or writing anything into the run folder."""
    cfg = compose_config("train", overrides(data_dir, *extra), run_dir)
    with pytest.raises(error) as info:
        train(cfg)
    # Hydra wraps constructor errors; the message of the cause is what users see.
    message = str(info.value) + str(info.value.__cause__ or "")
    assert re.search(match, message), message
    assert not run_dir.exists() or not any(run_dir.iterdir())
    return message


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("data.batch_size=0", r"data\.batch_size=0: must be a positive integer"),
        ("data.batch_size=-5", r"data\.batch_size=-5: must be a positive integer"),
        ("data.val_fraction=0", r"data\.val_fraction=0(\.0)?: must lie in \(0, 1\)"),
        ("data.val_fraction=1.5", r"data\.val_fraction=1\.5: must lie in \(0, 1\)"),
        ("model.net.dropout=1.0", r"model\.net\.dropout=1\.0: must lie in \[0, 1\)"),
        ("model.net.dropout=-0.1", r"model\.net\.dropout=-0\.1: must lie in \[0, 1\)"),
    ],
)
def test_value_out_of_range(override, match, tiny_data_dir, tmp_path):
    _refused(tiny_data_dir, tmp_path / "run", override, error=InstantiationException, match=match)


@pytest.mark.parametrize(
    ("override", "match"),
    [
        (
            "+model.net.width=8",
            r"model\.net\.width=8: not an argument of MnistCNN \(it takes .*drop it",
        ),
        (
            "model.net._target_=torch.nn.Identity",
            r"torch\.nn\.Identity: not a registered network .* Add its class to NETWORKS",
        ),
    ],
)
def test_a_network_that_is_not_registered_or_an_argument_it_lacks(
    override, match, tiny_data_dir, tmp_path
):
    _refused(tiny_data_dir, tmp_path / "run", override, match=match)


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (
            ("trainer.accelerator=tpux",),
            r"trainer\.accelerator=tpux: unknown; choose one of auto, cpu",
        ),
        (
            (f"trainer.devices={CORES + 1}",),
            rf"trainer\.devices={CORES + 1}: must lie in 1\.\.{CORES}",
        ),
        (("trainer.devices=0",), r"trainer\.devices=0: must lie in 1\.\."),
        (("trainer.devices=[0,7]",), r"trainer\.devices=\[0, 7\]: indices \[7\] do not exist"),
    ],
)
def test_trainer_settings_this_machine_cannot_run(extra, match, tiny_data_dir, tmp_path):
    _refused(tiny_data_dir, tmp_path / "run", *extra, match=match)


def test_no_validation_while_a_callback_watches_a_validation_metric(tiny_data_dir, tmp_path):
    _refused(
        tiny_data_dir, tmp_path / "run", "trainer.limit_val_batches=0",
        match=r"trainer\.limit_val_batches=0 runs no validation, but callbacks\.model_checkpoint "
        r"watches val/acc: add callbacks\.model_checkpoint=null",
    )  # fmt: skip
    run_dir = tmp_path / "without"
    cfg = compose_config(
        "train",
        overrides(tiny_data_dir, "trainer.limit_val_batches=0", "trainer.limit_train_batches=1",
                  "trainer.max_epochs=1",
                  "callbacks.model_checkpoint=null", "callbacks.early_stopping=null", "test=false"),
        run_dir,
    )  # fmt: skip
    assert train(cfg)["global_step"] == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_gpu_asked_for_on_a_machine_without_one(tiny_data_dir, tmp_path):
    _refused(
        tiny_data_dir, tmp_path / "run", "trainer.accelerator=gpu",
        match=r"trainer\.accelerator=gpu: this machine has no CUDA GPU\(s\)\. Use trainer\.acc",
    )  # fmt: skip


def test_ckpt_path_that_does_not_exist(tiny_data_dir, tmp_path):
    missing = tmp_path / "nowhere.ckpt"
    _refused(
        tiny_data_dir, tmp_path / "run", f"ckpt_path={missing}", error=FileNotFoundError,
        match=rf"ckpt_path={re.escape(str(missing))}: no such file",
    )  # fmt: skip


def test_ckpt_path_that_is_not_a_checkpoint(tiny_data_dir, tmp_path):
    junk = tmp_path / "notes.ckpt"
    junk.write_text("not a checkpoint")
    _refused(
        tiny_data_dir, tmp_path / "run", f"ckpt_path={junk}",
        match=rf"ckpt_path={re.escape(str(junk))}: not a zip archive, so not a checkpoint",
    )  # fmt: skip
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {"weight": torch.zeros(2)}}, foreign)  # someone else's model
    _refused(
        tiny_data_dir, tmp_path / "run", f"ckpt_path={foreign}",
        match=r"not an mnist-cnn checkpoint",
    )  # fmt: skip


def test_ckpt_path_of_another_network(tiny_data_dir, tmp_path):
    cfg = compose_config("train", overrides(tiny_data_dir), tmp_path / "wide")
    config = stored_config(OmegaConf.to_container(cfg, resolve=True))
    config["model"]["net"]["channels"] = [64, 128]
    wide = tmp_path / "wide.ckpt"
    torch.save({CONFIG_KEY: config, "state_dict": {}}, wide)
    _refused(
        tiny_data_dir, tmp_path / "run", f"ckpt_path={wide}",
        match=r"a checkpoint of a different network \(model\.net differs in channels: checkpoint "
        r"has \[\[64, 128\]\], this run \[\[32, 64\]\]\)",
    )  # fmt: skip


@pytest.mark.slow
def test_the_command_line_refuses_within_seconds(tiny_data_dir, tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli(
        "train.py", *overrides(tiny_data_dir, f"trainer.devices={CORES + 1}"),
        f"hydra.run.dir={run_dir}", timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert f"trainer.devices={CORES + 1}: must lie in 1..{CORES}" in result.stderr
    assert not (run_dir / "checkpoints").exists() and not (run_dir / "metrics.json").exists()


def test_eval_refuses_the_same_trainer_settings(tmp_path):
    cfg = compose_config("eval", ["ckpt_path=any.ckpt", "trainer.accelerator=tpux"], tmp_path)
    with pytest.raises(ValueError, match=r"trainer\.accelerator=tpux: unknown"):
        evaluate(cfg)


def test_a_data_dir_that_names_the_raw_folder_is_told_to_go_two_up(tiny_data_dir, tmp_path):
    raw = tiny_data_dir / "MNIST" / "raw"
    cfg = compose_config("train", [f"data.data_dir={raw}", "data.download=false"], tmp_path)
    with pytest.raises(
        FileNotFoundError, match=rf"use data\.data_dir={re.escape(str(tiny_data_dir))}\.$"
    ):
        train(cfg)
    assert not tmp_path.exists() or not list(tmp_path.iterdir())  # refused before any work
