"""`debug=shapes`: print every layer's output shape for the first training batch."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import nn

from mnist_cnn.models.module import images_of


class LayerShapes(L.Callback):
    """Hooks every leaf layer for one forward pass and prints what it returns, e.g.
    `net.features.0  Conv2d  (128, 32, 26, 26)` (Keras users' `print(x.shape)`, as a switch)."""

    def __init__(self) -> None:
        self.handles: list[torch.utils.hooks.RemovableHandle] = []

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if batch_idx != 0 or trainer.current_epoch != 0 or not trainer.is_global_zero:
            return
        images = images_of(batch)
        print(f"{'input':<24}{'':<16}{tuple(images.shape)}")
        for name, module in pl_module.named_modules():
            # Leaves only; metrics never fire, they are updated rather than called.
            if name and not list(module.children()):
                self.handles.append(module.register_forward_hook(_printer(name)))

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()


def _printer(name: str):
    def hook(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        print(f"{name:<24}{type(module).__name__:<16}{tuple(output.shape)}")

    return hook
