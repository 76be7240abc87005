"""Weights & Biases: online with an API key, else offline into the run folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from lightning.pytorch.loggers import WandbLogger

from mnist_cnn.loggers.fail_soft import FailSoft


def wandb_offline(offline: bool | None) -> bool:
    """`offline` as given, or for None: offline unless WANDB_API_KEY is set."""
    return not os.environ.get("WANDB_API_KEY") if offline is None else offline


class WandbTracker(FailSoft, WandbLogger):
    """Lightning's WandbLogger writing `<save_dir>/wandb/`, offline unless WANDB_API_KEY is set
    (upload later with `wandb sync`), that never ends a run by failing (FailSoft)."""

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
        self.offline = wandb_offline(offline)
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
