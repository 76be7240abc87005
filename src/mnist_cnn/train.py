"""Fit, then test the best checkpoint on the official test split: `python train.py [overrides]`."""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from mnist_cnn.checkpoint import SafeCheckpointIO, StoreConfig
from mnist_cnn.loggers.record import finish, log_config, set_tags
from mnist_cnn.utils.config import CONFIG_DIR, instantiate_group, register_resolvers
from mnist_cnn.utils.io import write_json
from mnist_cnn.utils.multirun_ddp import (
    one_process_group_per_job,
    relaunch_ddp_processes_as_single_runs,
)
from mnist_cnn.utils.preflight import check_run_config

log = logging.getLogger(__name__)


def _scalars(metrics: dict[str, Any]) -> dict[str, float]:
    return {key: float(value) for key, value in metrics.items()}


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit and test as `cfg` says; write `metrics.json` into the run folder; return the metrics."""
    # Batches come from in-memory tensors on purpose; worker processes would only add IPC.
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    started = time.perf_counter()
    check_run_config(cfg)
    L.seed_everything(cfg.seed, workers=True)
    datamodule: L.LightningDataModule = instantiate(cfg.data)
    model: L.LightningModule = instantiate(cfg.model)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("%s: %s trainable parameters", type(model.net).__name__, f"{trainable:,}")
    config = OmegaConf.to_container(cfg, resolve=True)
    callbacks = [*instantiate_group(cfg.get("callbacks")), StoreConfig(config)]
    loggers = instantiate_group(cfg.get("logger"))
    # SafeCheckpointIO: checkpoints are read weights_only and written atomically.
    trainer: L.Trainer = instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers or False, plugins=[SafeCheckpointIO()]
    )
    log_config(loggers, config)

    fit_started = time.perf_counter()
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    fit_seconds = time.perf_counter() - fit_started
    metrics = _scalars(trainer.callback_metrics)
    best_path = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    if best_path and trainer.is_global_zero:
        set_tags(loggers, {"best_checkpoint": str(Path(best_path).resolve())})
    if cfg.get("test"):
        # Test the best weights, not the last ones; fast_dev_run saves no checkpoint.
        trainer.test(model, datamodule=datamodule, ckpt_path=best_path or None)
        metrics.update(_scalars(trainer.callback_metrics))

    summary = {
        **{key: metrics[key] for key in sorted(metrics) if key.startswith(("val/", "test/"))},
        "epochs": trainer.current_epoch,
        "global_step": trainer.global_step,
        "best_checkpoint": str(Path(best_path).resolve()) if best_path else None,
        "fit_time_s": round(fit_seconds, 3),
        "wall_time_s": round(time.perf_counter() - started, 2),
    }
    if trainer.is_global_zero:
        write_json(Path(cfg.paths.output_dir) / "metrics.json", summary)
    finish(loggers)
    return summary


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _main(cfg: DictConfig) -> float | None:
    with one_process_group_per_job():  # a multirun runs its jobs one after another here
        summary = train(cfg)
    # The sweepers (grid, Optuna) read the optimised metric from this return value.
    return summary.get(cfg.get("optimized_metric"))


def main() -> None:
    """Console script `mnist-train` and `python train.py`."""
    register_resolvers()
    relaunch_ddp_processes_as_single_runs()
    _main()
