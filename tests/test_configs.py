from pathlib import Path

import lightning as L
import pytest
import torch
from hydra.errors import ConfigCompositionException
from hydra.utils import instantiate

from mnist_cnn.cli import CONFIG_DIR, instantiate_group
from tests.fixtures import compose_config


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def test_defaults_are_the_keras_recipe(tmp_path):
    cfg = compose_config("train", [], tmp_path)
    assert cfg.data.batch_size == 128 and cfg.data.val_fraction == 0.1
    assert cfg.trainer.max_epochs == 15
    assert cfg.model.optimizer._target_ == "torch.optim.Adam" and cfg.model.optimizer.lr == 1e-3
    assert cfg.model.net.dropout == 0.5


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory):
    """One paths.log_dir for the module: logger=mlflow opens (and first makes) its store
    `<log_dir>/mlflow.db` when built; not in outputs/ of the checkout, and made only once."""
    return tmp_path_factory.mktemp("log_dir")


@pytest.mark.parametrize(
    "override",
    [f"{group}={name}" for group in ("trainer", "callbacks", "logger") for name in _options(group)]
    + [f"experiment={name}" for name in _options("experiment")]
    + [f"debug={name}" for name in _options("debug")]
    + ["model/scheduler=plateau"],
)
def test_every_option_composes_and_instantiates(override, log_dir, tmp_path):
    cfg = compose_config("train", [override, f"paths.log_dir={log_dir}"], tmp_path)
    assert isinstance(instantiate(cfg.model), L.LightningModule)
    assert isinstance(instantiate(cfg.data), L.LightningDataModule)
    for callback in instantiate_group(cfg.get("callbacks")):
        assert isinstance(callback, L.Callback)
    instantiate_group(cfg.get("logger"))
    if cfg.trainer.accelerator != "gpu" or torch.cuda.is_available():
        assert isinstance(instantiate(cfg.trainer), L.Trainer)


def test_public_keys_override(tmp_path):
    overrides = [
        "seed=7", "data.data_dir=/x", "data.batch_size=64", "data.val_fraction=0.2",
        "data.download=false", "trainer.max_epochs=2", "trainer.accelerator=cpu",
        "trainer.devices=1", "trainer.limit_train_batches=3", "model.optimizer.lr=0.01",
        "ckpt_path=last", "logger=csv",
    ]  # fmt: skip
    cfg = compose_config("train", overrides, tmp_path)
    assert (cfg.seed, cfg.data.data_dir, cfg.data.batch_size) == (7, "/x", 64)
    assert cfg.model.optimizer.lr == 0.01 and cfg.trainer.limit_train_batches == 3
    assert list(cfg.logger) == ["csv"] and cfg.ckpt_path == "last"


def test_a_typo_fails_with_hydras_message(tmp_path):
    with pytest.raises(ConfigCompositionException, match=r"data\.batchsize"):
        compose_config("train", ["data.batchsize=64"], tmp_path)


def test_eval_config_needs_a_checkpoint(tmp_path):
    cfg = compose_config("eval", ["ckpt_path=model.ckpt"], tmp_path)
    assert cfg.ckpt_path == "model.ckpt" and not cfg.get("logger")
    assert Path(cfg.paths.output_dir) == tmp_path
