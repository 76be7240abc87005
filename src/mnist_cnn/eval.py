"""Test a checkpoint on its own test split: `python eval.py ckpt_path=PATH [overrides]`."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from mnist_cnn.checkpoint import build_model, read_checkpoint
from mnist_cnn.inference.data_settings import checkpoint_data, datamodule_for
from mnist_cnn.launch.config import CONFIG_DIR, instantiate_group
from mnist_cnn.launch.run_dirs import register_resolvers
from mnist_cnn.utils.failed_run import marked_if_failed
from mnist_cnn.utils.io import write_json
from mnist_cnn.utils.preflight import check_trainer


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Rebuild the model and its data settings from the checkpoint (`data.*` overrides on top),
    test it, write `metrics.json`."""
    # Batches come from in-memory tensors on purpose; worker processes would only add IPC.
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    check_trainer(cfg.trainer)
    checkpoint = read_checkpoint(cfg.ckpt_path)
    overrides = OmegaConf.to_container(cfg.get("data") or {}, resolve=True)
    settings, warning = checkpoint_data(
        checkpoint, cfg.ckpt_path, overrides, cfg.get("allow_other_data", False)
    )
    model = build_model(checkpoint)
    datamodule = datamodule_for(settings, overrides)
    loggers = instantiate_group(cfg.get("logger"))
    trainer: L.Trainer = instantiate(
        cfg.trainer, callbacks=instantiate_group(cfg.get("callbacks")), logger=loggers or False
    )
    for logger in loggers:
        logger.log_hyperparams({**OmegaConf.to_container(cfg, resolve=True), "data": settings})
    (results,) = trainer.test(model, datamodule=datamodule)
    summary = {
        **results,
        "checkpoint": str(Path(cfg.ckpt_path).resolve()),
        "dataset": settings["dataset"],
        "data_dir": str(Path(settings["data_dir"]).resolve()),
    }
    if warning:
        summary["warning"] = warning
        print(f"\n{'!' * 80}\n{warning}\n{'!' * 80}")
    if trainer.is_global_zero:
        write_json(Path(cfg.paths.output_dir) / "metrics.json", summary)
    return summary


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="eval")
def _main(cfg: DictConfig) -> None:
    with marked_if_failed(cfg.paths.output_dir):
        evaluate(cfg)


def main() -> None:
    """Console script `mnist-eval` and `python eval.py`."""
    register_resolvers()
    _main()
