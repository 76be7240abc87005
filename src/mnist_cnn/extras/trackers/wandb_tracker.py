"""Weights & Biases: online with an API key, else offline into the run folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Literal

from lightning.pytorch.loggers import WandbLogger
from matplotlib.figure import Figure

from mnist_cnn.extras.trackers.checks import check_reachable, require
from mnist_cnn.extras.trackers.fail_soft import FailSoft


def wandb_offline(offline: bool | None) -> bool:
    """`offline` as given, or for None: offline unless WANDB_API_KEY is set."""
    return not os.environ.get("WANDB_API_KEY") if offline is None else offline


class WandbTracker(FailSoft, WandbLogger):
    """Lightning's WandbLogger writing `<save_dir>/wandb/`, offline unless WANDB_API_KEY is set
    (upload later with `wandb sync`; online, the server is checked as it is built), recording
    the run's provenance, pictures and best checkpoint, that never ends a run by failing
    (FailSoft)."""

    def __init__(
        self,
        project: str = "mnist-cnn",
        save_dir: str = ".",
        name: str | None = None,
        group: str | None = None,
        job_type: str | None = None,
        offline: bool | None = None,
        log_model: bool | Literal["all"] = False,
    ) -> None:
        require("wandb", "wandb")
        self.offline = wandb_offline(offline)
        if not self.offline:
            url = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")
            fix = "Run offline: unset WANDB_API_KEY or set logger.wandb.offline=true."
            check_reachable(url, "logger.wandb (W&B online)", fix, any_answer=True)
        # A run of this process that failed before finish(): the next would write into it.
        if (wandb := sys.modules.get("wandb")) is not None and wandb.run is not None:
            wandb.finish()
        # W&B falls back to a temporary folder when save_dir does not exist yet.
        Path(save_dir).mkdir(parents=True, exist_ok=True)
        # Lightning's own offline=True refuses log_model and sets WANDB_MODE for the whole
        # process; wandb.init's mode keeps an offline run's checkpoints for `wandb sync`.
        super().__init__(
            project=project,
            save_dir=save_dir,
            name=name,
            group=group or None,  # "" outside a sweep: no group
            job_type=job_type,
            log_model=log_model,
            mode="offline" if self.offline else "online",
        )

    def finish(self) -> None:
        """End the W&B run: Lightning leaves it open, and the next run of this process (a
        multirun's next job) would write into it."""
        self.attempt(lambda: self.experiment.finish())

    def log_provenance(self, record: dict[str, Any]) -> None:
        """The provenance record in the run's config, under `provenance` (W&B's own git and
        package records exist only while W&B is on; this one is the run folder's)."""
        self.log_hyperparams({"provenance": record})

    def log_figure(self, name: str, figure: Figure, png: Path, step: int) -> None:
        self.attempt(self.log_image, f"test/{name}", [str(png)], step)

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        best = getattr(checkpoint_callback, "best_model_path", "")
        if best:
            path = str(Path(best).resolve())
            self.attempt(lambda: self.experiment.summary.update({"best_checkpoint": path}))
        super().after_save_checkpoint(checkpoint_callback)
