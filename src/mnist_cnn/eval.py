"""Test a checkpoint on the official test split: `python eval.py ckpt_path=PATH [overrides]`."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from mnist_cnn.checkpoint import load_model
from mnist_cnn.loggers.checks import check_loggers
from mnist_cnn.loggers.record import finish, log_config
from mnist_cnn.utils.config import CONFIG_DIR, instantiate_group, register_resolvers
from mnist_cnn.utils.io import write_json
from mnist_cnn.utils.preflight import check_trainer


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Rebuild the model from the checkpoint's own config, test it, write `metrics.json`."""
    # Batches come from in-memory tensors on purpose; worker processes would only add IPC.
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    check_trainer(cfg.trainer)
    check_loggers(cfg.get("logger"))
    model = load_model(cfg.ckpt_path)
    datamodule: L.LightningDataModule = instantiate(cfg.data)
    loggers = instantiate_group(cfg.get("logger"))
    trainer: L.Trainer = instantiate(
        cfg.trainer, callbacks=instantiate_group(cfg.get("callbacks")), logger=loggers or False
    )
    log_config(loggers, OmegaConf.to_container(cfg, resolve=True))
    (results,) = trainer.test(model, datamodule=datamodule)
    summary = {**results, "checkpoint": str(Path(cfg.ckpt_path).resolve())}
    if trainer.is_global_zero:
        write_json(Path(cfg.paths.output_dir) / "metrics.json", summary)
    finish(loggers)
    return summary


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="eval")
def _main(cfg: DictConfig) -> None:
    evaluate(cfg)


def main() -> None:
    """Console script `mnist-eval` and `python eval.py`."""
    register_resolvers()
    _main()
