"""Two Lightning warnings that do not apply to this project's data path, silenced only around
the trainer calls that raise them (Lightning's docs suggest exactly these filters)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def expected_lightning_warnings() -> Iterator[None]:
    """Within the block: no "does not have many workers" (batches are gathered from in-memory
    tensors on purpose; worker processes would only add IPC) and no "dataloader is not
    resumable" (ResumableShuffle resumes an interrupted epoch itself; Lightning cannot tell)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        warnings.filterwarnings("ignore", ".*your dataloader is not resumable.*")
        yield
