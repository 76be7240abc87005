"""What each tracker records beyond Lightning's metrics: the run's config, the report's figures,
tags such as the best checkpoint, and the end of its run. One place, so every tracker gets the
same."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import Logger, MLFlowLogger, TensorBoardLogger, WandbLogger
from matplotlib.figure import Figure
from omegaconf import OmegaConf

from mnist_cnn.loggers.fail_soft import FailSoft


def _attempt(logger: Logger, action: Callable[..., Any], *args: Any) -> None:
    """`action(*args)`; a FailSoft tracker turns its error into a warning."""
    if isinstance(logger, FailSoft):
        logger.attempt(action, *args)
    else:
        action(*args)


def log_config(loggers: Iterable[Logger], config: dict[str, Any]) -> None:
    """The run's resolved config: hyperparameters everywhere (MLflow flattens them to params
    such as `model/optimizer/lr`), and for MLflow the whole of it as `config.yaml` too."""
    for logger in loggers:
        logger.log_hyperparams(config)
        if isinstance(logger, MLFlowLogger):
            _attempt(logger, _mlflow_text, logger, OmegaConf.to_yaml(config), "config.yaml")


def log_figure(loggers: Iterable[Logger], name: str, figure: Figure, png: Path, step: int) -> None:
    """`figure`, already saved as `png`, to each tracker: a TensorBoard image, an MLflow artifact
    `<name>.png`, a `wandb.Image` under `test/<name>`."""
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.experiment.add_figure(f"test/{name}", figure, global_step=step)
        elif isinstance(logger, MLFlowLogger):
            _attempt(logger, _mlflow_file, logger, png)
        elif isinstance(logger, WandbLogger):
            _attempt(logger, logger.log_image, f"test/{name}", [str(png)], step)


def set_tags(loggers: Iterable[Logger], tags: dict[str, str]) -> None:
    """Facts about the run (e.g. `best_checkpoint`): MLflow tags, W&B summary, TensorBoard text."""
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            for key, value in tags.items():
                logger.experiment.add_text(key, value)
        elif isinstance(logger, MLFlowLogger):
            _attempt(logger, _mlflow_tags, logger, tags)
        elif isinstance(logger, WandbLogger):
            _attempt(logger, _wandb_summary, logger, tags)


def finish(loggers: Iterable[Logger]) -> None:
    """End each tracker's run. Lightning leaves a W&B run open, and the next WandbLogger in the
    same process would write into it."""
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            _attempt(logger, _wandb_finish, logger)


def _mlflow_text(logger: MLFlowLogger, text: str, name: str) -> None:
    logger.experiment.log_text(logger.run_id, text, name)


def _mlflow_file(logger: MLFlowLogger, path: Path) -> None:
    logger.experiment.log_artifact(logger.run_id, str(path))


def _mlflow_tags(logger: MLFlowLogger, tags: dict[str, str]) -> None:
    for key, value in tags.items():
        logger.experiment.set_tag(logger.run_id, key, value)


def _wandb_summary(logger: WandbLogger, values: dict[str, str]) -> None:
    logger.experiment.summary.update(values)


def _wandb_finish(logger: WandbLogger) -> None:
    logger.experiment.finish()
