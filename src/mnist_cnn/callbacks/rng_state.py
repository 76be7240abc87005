"""Checkpoints carry the random generators' state, so a resumed run draws the same dropout masks."""

from __future__ import annotations

import random
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_warn


class RestoreRNGState(L.Callback):
    """Saves the torch (CPU and CUDA) and Python generators with every checkpoint and restores
    them when training resumes, after data loading has set up and before the first step."""

    def __init__(self) -> None:
        self._loaded: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        state = {"torch": torch.get_rng_state(), "python": random.getstate()}
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._loaded = state_dict

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        state, self._loaded = self._loaded, None
        if state is None:
            return
        if trainer.world_size > 1:
            # The checkpoint holds rank 0's generators only; each rank keeps its own seeding.
            rank_zero_warn("Resuming under DDP: random generators are not restored per rank.")
            return
        torch.set_rng_state(state["torch"])
        random.setstate(state["python"])
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
