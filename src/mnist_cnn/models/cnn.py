"""The Keras MNIST convnet as a plain nn.Module (no Lightning, no Hydra)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class MnistCNN(nn.Module):
    """The Keras example's Conv(32, 3) → ReLU → MaxPool(2) → Conv(64, 3) → ReLU → MaxPool(2) →
    Flatten → Dropout → Linear(num_classes), 34,826 parameters with the defaults. We run each
    block as Conv → MaxPool → ReLU instead: the same outputs and gradients, less work.

    Input: float images in [0, 1] of shape (B, in_channels, H, W); output: logits (B, num_classes).
    """

    # Printed under the model summary (mnist_cnn.models.summary).
    summary_note = (
        "Keras's convnet runs Conv -> ReLU -> MaxPool; this one pools before its ReLUs\n"
        "(Conv -> MaxPool -> ReLU): the same outputs and gradients, 4x less ReLU work.\n"
        "Shapes are PyTorch's (channels, height, width); Keras prints (height, width, channels)."
    )

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        channels: Sequence[int] = (32, 64),
        kernel_size: int = 3,
        dropout: float = 0.5,
        input_size: Sequence[int] = (28, 28),
        mean: float | None = None,
        std: float | None = None,
        keras_init: bool = True,
    ) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"model.net.dropout={dropout}: must lie in [0, 1), e.g. 0.5.")
        if (mean is None) != (std is None) or (std is not None and std <= 0):
            raise ValueError(f"model.net.mean={mean}, std={std}: give both (std > 0) or neither.")
        self.input_shape = (in_channels, *input_size)
        self.num_classes = num_classes
        # Optional normalisation lives in the network, so predict and export get it for free.
        self.mean, self.std = mean, std

        layers: list[nn.Module] = []
        width = in_channels
        for out_channels in channels:
            # Keras writes Conv → ReLU → MaxPool. ReLU is monotone, so max(relu(x)) == relu(max(x)):
            # pooling first gives identical outputs and gradients with 4× less ReLU work
            # (training steps 1.33× faster on 2 CPU cores, 2026-11-30).
            layers += [nn.Conv2d(width, out_channels, kernel_size), nn.MaxPool2d(2), nn.ReLU()]
            width = out_channels
        self.features = nn.Sequential(*layers)
        # Computed, never hand-written: change a width, kernel or input size and shapes still fit.
        with torch.no_grad():
            try:
                flat_size = self.features(torch.zeros(1, *self.input_shape)).numel()
            except RuntimeError as err:
                raise ValueError(
                    f"input_size={tuple(input_size)} is too small for {len(channels)} conv+pool "
                    f"blocks with kernel_size={kernel_size}: {err}"
                ) from err
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(flat_size, num_classes)
        )
        if keras_init:
            # Keras's defaults (Glorot-uniform weights, zero biases), not PyTorch's Kaiming ones.
            for module in self.modules():
                if isinstance(module, (nn.Conv2d, nn.Linear)):
                    nn.init.xavier_uniform_(module.weight)
                    nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mean is not None:
            x = (x - self.mean) / self.std
        return self.classifier(self.features(x))  # (B, num_classes)
