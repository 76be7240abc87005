"""Checkpoints carry the run's config, so a model is rebuilt from a file with no Python written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate

from mnist_cnn.models.module import MnistLitModule

CONFIG_KEY = "mnist_cnn_config"


class StoreConfig(L.Callback):
    """Adds the resolved run config (plain dicts and lists) to every checkpoint saved."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint[CONFIG_KEY] = self.config


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint safely (tensors and plain data only) and check it is one of ours."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"ckpt_path={path}: no such file. Point ckpt_path at a .ckpt file, e.g. "
            f"outputs/train/runs/<run>/checkpoints/last.ckpt."
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # unpickling errors come in many types
        raise ValueError(
            f"ckpt_path={path}: not a loadable checkpoint ({type(err).__name__}: {err}). Only "
            f"checkpoints holding tensors and plain data are accepted."
        ) from err
    if not isinstance(checkpoint, dict) or CONFIG_KEY not in checkpoint:
        raise ValueError(
            f"ckpt_path={path}: not an mnist-cnn checkpoint (no '{CONFIG_KEY}' entry). Use a "
            f"checkpoint written by train.py."
        )
    return checkpoint


def load_model(path: str | Path) -> MnistLitModule:
    """Rebuild the LightningModule from the checkpoint's own config and load its weights (CPU)."""
    return build_model(read_checkpoint(path))


def build_model(checkpoint: dict[str, Any]) -> MnistLitModule:
    """The model of a checkpoint already read with `read_checkpoint`, in eval mode."""
    model = instantiate(checkpoint[CONFIG_KEY]["model"])
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()
