"""What every stage's batch looks like, in one place."""

from __future__ import annotations

from typing import Any

import torch


def images_of(batch: Any) -> torch.Tensor:
    """The images of a batch: `(images, labels)` during fit and test, images alone in predict
    and in the model summary's example input."""
    return batch[0] if isinstance(batch, (tuple, list)) else batch


def scalars(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Logged metrics (tensors) whose names start with `prefix`, as plain floats."""
    return {key: float(value) for key, value in metrics.items() if key.startswith(prefix)}
