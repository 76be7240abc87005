"""Generated digits, for tests and benchmarks where no real MNIST files are at hand."""

from __future__ import annotations

import torch


def synthetic_digits(count: int, seed: int = 0, num_classes: int = 10) -> tuple[torch.Tensor, ...]:
    """(images (N, 1, 28, 28) uint8, labels (N,) int64): noisy copies of one random stroke
    pattern per class, learnable but not MNIST."""
    generator = torch.Generator().manual_seed(seed)
    templates = (
        torch.rand(num_classes, 1, 28, 28, generator=torch.Generator().manual_seed(1234)) > 0.8
    )
    labels = torch.randint(0, num_classes, (count,), generator=generator)
    noise = torch.rand(count, 1, 28, 28, generator=generator) * 0.6
    images = (templates[labels].float() * 0.7 + noise).clamp(0, 1).mul(255).to(torch.uint8)
    return images, labels
