"""Small MNIST-format datasets on disk, for tests, benchmarks and offline tries.

Real digits come from the official t10k files (e.g. ../shared/data/mnist-t10k); where they are
absent, `synthetic_digits` makes learnable stand-ins of the same format.
"""

from __future__ import annotations

from pathlib import Path

import torch

from mnist_cnn.data.idx import FILES, load_split, write_idx

Split = tuple[torch.Tensor, torch.Tensor]  # images (N, 1, 28, 28) uint8, labels (N,) int64


def real_digits(t10k_dir: str | Path) -> Split:
    """The official 10,000 test digits from a folder holding the t10k IDX files."""
    return load_split(t10k_dir, "test")


def synthetic_digits(count: int, seed: int = 0, num_classes: int = 10) -> Split:
    """Noisy copies of one random stroke pattern per class: learnable, but not MNIST."""
    generator = torch.Generator().manual_seed(seed)
    templates = (
        torch.rand(num_classes, 1, 28, 28, generator=torch.Generator().manual_seed(1234)) > 0.8
    )
    labels = torch.randint(0, num_classes, (count,), generator=generator)
    noise = torch.rand(count, 1, 28, 28, generator=generator) * 0.6
    images = (templates[labels].float() * 0.7 + noise).clamp(0, 1).mul(255).to(torch.uint8)
    return images, labels


def write_dataset(root: str | Path, train: Split, test: Split, dataset: str = "MNIST") -> Path:
    """Write train and test splits as `<root>/<dataset>/raw/*-ubyte`; returns `root`."""
    raw_dir = Path(root) / dataset / "raw"
    for split, (images, labels) in (("train", train), ("test", test)):
        image_name, label_name = FILES[split]
        write_idx(raw_dir / image_name, images.squeeze(1))
        write_idx(raw_dir / label_name, labels)
    return Path(root)
