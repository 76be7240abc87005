"""What each tracker records beyond Lightning's metrics: the report's figures, tags such as the
best checkpoint, and the end of its run. One place, so every tracker gets the same."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import Logger, MLFlowLogger, TensorBoardLogger, WandbLogger
from matplotlib.figure import Figure

from mnist_cnn.loggers.fail_soft import FailSoft


def _attempt(logger: Logger, action: Callable[[], Any]) -> None:
    """Run `action`; a FailSoft tracker turns its error into a warning."""
    if isinstance(logger, FailSoft):
        logger.attempt(action)
    else:
        action()


def log_figure(loggers: Iterable[Logger], name: str, figure: Figure, png: Path, step: int) -> None:
    """`figure`, already saved as `png`, to each tracker: a TensorBoard image, an MLflow artifact
    (`<name>.png`), a `wandb.Image` under `test/<name>`."""
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.experiment.add_figure(f"test/{name}", figure, global_step=step)
        elif isinstance(logger, MLFlowLogger):
            _attempt(logger, lambda lg=logger: lg.experiment.log_artifact(lg.run_id, str(png)))
        elif isinstance(logger, WandbLogger):
            _attempt(logger, lambda lg=logger: lg.log_image(f"test/{name}", [str(png)], step))


def set_tags(loggers: Iterable[Logger], tags: dict[str, str]) -> None:
    """Facts about the run (e.g. `best_checkpoint`): MLflow tags, W&B summary, TensorBoard text."""
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            for key, value in tags.items():
                logger.experiment.add_text(key, value)
        elif isinstance(logger, MLFlowLogger):
            _attempt(logger, lambda lg=logger: _mlflow_tags(lg, tags))
        elif isinstance(logger, WandbLogger):
            _attempt(logger, lambda lg=logger: lg.experiment.summary.update(tags))


def _mlflow_tags(logger: MLFlowLogger, tags: dict[str, str]) -> None:
    for key, value in tags.items():
        logger.experiment.set_tag(logger.run_id, key, value)


def finish(loggers: Iterable[Logger]) -> None:
    """End each tracker's run. Lightning leaves a W&B run open, and the next WandbLogger in the
    same process would write into it."""
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            _attempt(logger, lambda lg=logger: lg.experiment.finish())
