"""Fit, then test the best checkpoint on the official test split: `python train.py [overrides]`.

train() reads top to bottom: checks → seed → build → fit → test → summary. Lightning, torch and
the rest are imported inside it, so that `--help`, `--cfg job` and a config error answer at once.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from mnist_cnn.cli import (
    entry_point,
    expected_lightning_warnings,
    instantiate_group,
    log_config,
    print_results,
)
from mnist_cnn.preflight import check_train
from mnist_cnn.tracking import tell_trackers

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit and test as `cfg` says; write `metrics.json` into the run folder; return the metrics."""
    started = time.perf_counter()
    check_train(cfg)  # every check that needs no data and no model, before any work

    import lightning as L

    from mnist_cnn.atomic import write_json
    from mnist_cnn.checkpoint import SafeCheckpointIO, StoreConfig, init_weights
    from mnist_cnn.models.module import scalars
    from mnist_cnn.provenance import RecordProvenance

    L.seed_everything(cfg.seed, workers=True, verbose=False)  # the config shows the seed

    datamodule: L.LightningDataModule = instantiate(cfg.data)
    model: L.LightningModule = instantiate(cfg.model)
    # The network's size, in metrics.json (hparams_search=accuracy_vs_size minimises it).
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if cfg.get("init_from"):  # a new run from a checkpoint's network weights
        init_weights(model, cfg.init_from, OmegaConf.to_container(cfg.model.net, resolve=True))
        log.info("starting from the network weights of %s", cfg.init_from)
    config = OmegaConf.to_container(cfg, resolve=True)
    # Every checkpoint carries the model and data config (nothing else is needed to load it) and
    # the record of what made it (code, command, environment, data files), as the run folder does.
    provenance = RecordProvenance(
        cfg.paths.output_dir, cfg.paths.log_dir, cfg.get("rerun"), cfg.get("allow_code_change")
    )
    callbacks = [*instantiate_group(cfg.get("callbacks")), StoreConfig(config), provenance]
    loggers = instantiate_group(cfg.get("logger"))  # trackers check their servers here
    # SafeCheckpointIO: checkpoints are checked before they are read, and written atomically.
    trainer: L.Trainer = instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers or False, plugins=[SafeCheckpointIO()]
    )
    log_config(loggers, config)

    with expected_lightning_warnings():
        fit_started = time.perf_counter()
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
        fit_seconds = time.perf_counter() - fit_started
        metrics = scalars(trainer.callback_metrics)
        best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        if cfg.get("test"):
            # Test the best weights, not the last ones; fast_dev_run saves no checkpoint.
            trainer.test(model, datamodule=datamodule, ckpt_path=best or None)
            metrics.update(scalars(trainer.callback_metrics))

    summary = {
        **{key: metrics[key] for key in sorted(metrics) if key.startswith(("val/", "test/"))},
        "params": params,
        "epochs": trainer.current_epoch,
        "global_step": trainer.global_step,
        "best_checkpoint": str(Path(best).resolve()) if best else None,
        "fit_time_s": round(fit_seconds, 3),
        "wall_time_s": round(time.perf_counter() - started, 2),
    }
    if trainer.is_global_zero:
        write_json(Path(cfg.paths.output_dir) / "metrics.json", summary)
    tell_trackers(loggers, "finish")
    return summary


@entry_point("train")
def main(cfg: DictConfig) -> float | list[float | None] | None:
    """fit, test, print the results and the run folder (with rerun=: and the comparison)."""
    if cfg.get("rerun"):
        from mnist_cnn.rerun import rerun

        summary = rerun(cfg, train)
    else:
        summary = train(cfg)
        print_results(summary, cfg.paths.output_dir)
    # The sweepers (grid, Optuna) read the optimised metric, or a list of them, from here.
    metric = cfg.get("optimized_metric")
    if metric is None or isinstance(metric, str):
        return summary.get(metric)
    return [summary.get(name) for name in metric]
