"""Fit, then test the best checkpoint on the official test split: `python train.py [overrides]`."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from mnist_cnn.checkpoint import SafeCheckpointIO, StoreConfig, check_resumable, init_weights
from mnist_cnn.launch.config import instantiate_group
from mnist_cnn.launch.entry_point import entry_point, print_results
from mnist_cnn.launch.multirun_ddp import (
    one_process_group_per_job,
    relaunch_ddp_processes_as_single_runs,
)
from mnist_cnn.loggers.checks import check_loggers
from mnist_cnn.loggers.record import finish, log_config, set_tags
from mnist_cnn.stored_config import StoredConfigError, check_registered_network
from mnist_cnn.utils.batches import scalars
from mnist_cnn.utils.io import write_json
from mnist_cnn.utils.lightning_warnings import expected_lightning_warnings
from mnist_cnn.utils.preflight import check_trainer

log = logging.getLogger(__name__)
# ckpt_path values Lightning resolves itself (from the run folder), not file paths.
CKPT_KEYWORDS = ("last", "best", "hpc")


def check_network(net: DictConfig) -> None:
    """Refuse, before any work, a network that is not registered, or an argument it does not take
    (typically an experiment/ overlay written for another network)."""
    try:
        check_registered_network(OmegaConf.to_container(net, resolve=True))
    except StoredConfigError as err:
        hint = (
            ""
            if err.key_path.endswith("_target_")  # its message already says how to register
            else ". An experiment/ overlay or override written for another network sets it: drop "
            "it, or choose that network (model=<its config>)."
        )
        raise ValueError(f"{err}{hint}") from None


def check_run_config(cfg: DictConfig) -> None:
    """Everything a run's config can get wrong that is cheap to check before data or models load."""
    check_trainer(cfg.trainer)
    check_network(cfg.model.net)
    check_loggers(cfg.get("logger"))
    # "last" may find no checkpoint on a first run: Lightning then starts afresh, so a job
    # script can always pass it (SLURM requeue). A file it finds is still read weights_only.
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path is not None and cfg.get("init_from"):
        raise ValueError(
            f"ckpt_path={ckpt_path} and init_from={cfg.init_from}: choose one; ckpt_path resumes "
            f"a run (its own weights and optimizer), init_from starts a new one from weights."
        )
    if ckpt_path is not None and ckpt_path not in CKPT_KEYWORDS:
        check_resumable(ckpt_path, OmegaConf.to_container(cfg.model.net, resolve=True))


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit and test as `cfg` says; write `metrics.json` into the run folder; return the metrics."""
    started = time.perf_counter()
    check_run_config(cfg)
    L.seed_everything(cfg.seed, workers=True, verbose=False)  # the config shows the seed
    datamodule: L.LightningDataModule = instantiate(cfg.data)
    model: L.LightningModule = instantiate(cfg.model)
    if cfg.get("init_from"):
        init_weights(model, cfg.init_from, OmegaConf.to_container(cfg.model.net, resolve=True))
        log.info("starting from the network weights of %s", cfg.init_from)
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
    relaunch_ddp_processes_as_single_runs(trainer)  # only a multirun job on several devices

    with expected_lightning_warnings():
        fit_started = time.perf_counter()
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
        fit_seconds = time.perf_counter() - fit_started
        metrics = scalars(trainer.callback_metrics)
        best_path = (
            trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        )
        if best_path and trainer.is_global_zero:
            set_tags(loggers, {"best_checkpoint": str(Path(best_path).resolve())})
        if cfg.get("test"):
            # Test the best weights, not the last ones; fast_dev_run saves no checkpoint.
            trainer.test(model, datamodule=datamodule, ckpt_path=best_path or None)
            metrics.update(scalars(trainer.callback_metrics))

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


@entry_point("train")
def main(cfg: DictConfig) -> float | None:
    """fit, test, print the results and the run folder."""
    with one_process_group_per_job():  # a multirun runs its jobs one after another here
        summary = train(cfg)
    print_results(summary, cfg.paths.output_dir)
    # The sweepers (grid, Optuna) read the optimised metric from this return value.
    return summary.get(cfg.get("optimized_metric"))
