"""Digits as tensors: the in-memory dataset gathered by index, pixel scaling, class names."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.data import Dataset


class TensorDigits(Dataset):
    """Images and labels held as tensors; a whole batch is gathered with one index op."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[index], self.labels[index]

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        # DataLoader calls this with a batch's indices instead of one __getitem__ per sample.
        index = torch.as_tensor(indices, device=self.images.device)
        return self.images[index], self.labels[index]


def to_unit_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels 0..255 → float32 in [0, 1]; float input is taken as already scaled."""
    return images.float().div_(255) if images.dtype == torch.uint8 else images


def resolve_class_names(class_names: Sequence[str] | None, num_classes: int) -> list[str]:
    """The names shown in predictions and plots; None means the digits "0".."num_classes-1"."""
    if class_names is None:
        return [str(index) for index in range(num_classes)]
    if len(class_names) != num_classes:
        raise ValueError(
            f"data.class_names has {len(class_names)} names but data.num_classes={num_classes}; "
            f"give one name per class, or null for the digits."
        )
    return [str(name) for name in class_names]


def whole_batch(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """collate_fn for TensorDigits: __getitems__ already returns the batch."""
    return batch
