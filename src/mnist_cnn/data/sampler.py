"""A shuffling sampler that a checkpoint can resume mid-epoch, batch for batch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import Sampler


class ResumableShuffle(Sampler[int]):
    """A new random order every epoch, like `shuffle=True`, but a function of (seed, epoch) alone,
    so a resumed run can rebuild the interrupted epoch's order and skip what it already trained on.

    Lightning calls `set_epoch` at the start of every epoch, as it does for DistributedSampler.
    """

    def __init__(self, num_samples: int, batch_size: int, seed: int) -> None:
        self.num_samples, self.batch_size, self.seed = num_samples, batch_size, seed
        self.epoch = 0
        self.start = 0  # samples of this epoch already trained on (only after a resume)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        # The whole epoch, also when resuming: Lightning counts the batches already done itself.
        return self.num_samples

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed((self.seed + self.epoch) % 2**63)
        order = torch.randperm(self.num_samples, generator=generator)  # (num_samples,)
        start, self.start = self.start, 0
        yield from order[start:].tolist()

    def state_dict(self, batches_done: int, batches_per_epoch: int) -> dict[str, Any]:
        """Where training stands after `batches_done` batches of the current epoch."""
        if batches_done >= batches_per_epoch:  # the epoch is over: the next one starts afresh
            return {"seed": self.seed, "epoch": self.epoch + 1, "start": 0}
        return {"seed": self.seed, "epoch": self.epoch, "start": batches_done * self.batch_size}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.seed, self.epoch, self.start = state["seed"], state["epoch"], state["start"]
