"""Test a checkpoint on the official test split: `python eval.py ckpt_path=PATH [overrides]`."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from mnist_cnn.checkpoint import load_model
from mnist_cnn.launch.entry_point import entry_point, print_results
from mnist_cnn.utils.config import instantiate_group
from mnist_cnn.utils.io import write_json
from mnist_cnn.utils.preflight import check_trainer


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Rebuild the model from the checkpoint's own config, test it, write `metrics.json`."""
    # Batches come from in-memory tensors on purpose; worker processes would only add IPC.
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    check_trainer(cfg.trainer)
    model = load_model(cfg.ckpt_path)
    datamodule: L.LightningDataModule = instantiate(cfg.data)
    loggers = instantiate_group(cfg.get("logger"))
    trainer: L.Trainer = instantiate(
        cfg.trainer, callbacks=instantiate_group(cfg.get("callbacks")), logger=loggers or False
    )
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    (results,) = trainer.test(model, datamodule=datamodule)
    summary = {**results, "checkpoint": str(Path(cfg.ckpt_path).resolve())}
    if trainer.is_global_zero:
        write_json(Path(cfg.paths.output_dir) / "metrics.json", summary)
    return summary


@entry_point("eval")
def main(cfg: DictConfig) -> None:
    """test a checkpoint, print the results and the run folder."""
    print_results(evaluate(cfg), cfg.paths.output_dir)
