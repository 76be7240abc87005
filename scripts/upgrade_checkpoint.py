"""Convert a checkpoint of mnist-cnn 0.1 (which stored the whole run config) to the current form:
`python scripts/upgrade_checkpoint.py OLD.ckpt [NEW.ckpt]` (default: OLD.upgraded.ckpt).

Keeps the weights, the model and data config and the provenance record, which must pass the same
validation as any checkpoint; drops the trainer, callbacks and logger sections, which nothing
reads back.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import torch

from mnist_cnn.archive import check_archive
from mnist_cnn.checkpoint import CONFIG_KEY, check_contents, write_checkpoint
from mnist_cnn.stored_config import stored_config


def upgrade(old: Path, new: Path) -> Path:
    """Write `new`: `old` with only the stored config a current checkpoint carries."""
    data = check_archive(old)  # before torch.load: a zip bomb or a non-checkpoint is never read
    checkpoint = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get(CONFIG_KEY), dict):
        raise SystemExit(f"{old}: not an mnist-cnn checkpoint (no '{CONFIG_KEY}' entry).")
    checkpoint[CONFIG_KEY] = stored_config(checkpoint[CONFIG_KEY])
    check_contents(checkpoint, old)  # the same checks every reader makes
    write_checkpoint(checkpoint, new)
    return new


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path, nargs="?")
    args = parser.parse_args()
    new = upgrade(args.old, args.new or args.old.with_suffix(".upgraded.ckpt"))
    print(f"wrote {new}")


if __name__ == "__main__":
    main()
