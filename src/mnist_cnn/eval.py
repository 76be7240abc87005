"""Test a checkpoint on its own test split: `python eval.py ckpt_path=PATH [overrides]`."""

from __future__ import annotations

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
from mnist_cnn.preflight import check_file, check_trainer
from mnist_cnn.tracking import tell_trackers


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Rebuild the model and its data settings from the checkpoint (`data.*` overrides on top),
    test it, write `metrics.json`."""
    check_trainer(cfg.trainer)
    check_file(cfg.ckpt_path, "ckpt_path")

    import lightning as L

    from mnist_cnn import provenance
    from mnist_cnn.atomic import write_json
    from mnist_cnn.checkpoint import build_model, read_checkpoint
    from mnist_cnn.inference.data_settings import checkpoint_data, datamodule_for

    checkpoint = read_checkpoint(cfg.ckpt_path)
    trained = checkpoint.get(provenance.PROVENANCE_KEY)  # validated; None in older checkpoints
    print(provenance.origin(trained))
    overrides = OmegaConf.to_container(cfg.get("data") or {}, resolve=True)
    settings, warning = checkpoint_data(
        checkpoint, cfg.ckpt_path, overrides, cfg.get("allow_other_data", False)
    )
    model = build_model(checkpoint, cfg.ckpt_path)
    datamodule = datamodule_for(settings, overrides)
    loggers = instantiate_group(cfg.get("logger"))
    trainer: L.Trainer = instantiate(
        cfg.trainer, callbacks=instantiate_group(cfg.get("callbacks")), logger=loggers or False
    )
    log_config(loggers, {**OmegaConf.to_container(cfg, resolve=True), "data": settings})
    # This run's own record: the test files it reads, before it reads them.
    device = trainer.strategy.root_device
    record, diff = provenance.make_record(datamodule, ("test",), device, cfg.paths.log_dir)
    if trainer.is_global_zero:
        provenance.write_record(cfg.paths.output_dir, record, diff)
    tell_trackers(loggers, "log_provenance", record)
    with expected_lightning_warnings():
        (results,) = trainer.test(model, datamodule=datamodule)
    summary = {
        **results,
        "checkpoint": str(Path(cfg.ckpt_path).resolve()),
        "dataset": settings["dataset"],
        "data_dir": str(Path(settings["data_dir"]).resolve()),
        **provenance.check_test_data(trained, record),
    }
    if warning:
        summary["warning"] = warning
        print(f"\n{'!' * 80}\n{warning}\n{'!' * 80}")
    if trainer.is_global_zero:
        write_json(Path(cfg.paths.output_dir) / "metrics.json", summary)
    tell_trackers(loggers, "finish")
    return summary


@entry_point("eval")
def main(cfg: DictConfig) -> None:
    """test a checkpoint, print the results and the run folder."""
    print_results(evaluate(cfg), cfg.paths.output_dir)
