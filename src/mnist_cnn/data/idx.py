"""Read MNIST-format IDX files (plain or gzip) into uint8 tensors, refusing damaged ones."""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import torch

# The four files of every MNIST-format dataset (MNIST, FashionMNIST, KMNIST), by split.
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_UBYTE = 0x08
# Full MNIST's training images are 47 MB; a header promising more than this is refused unread.
MAX_IDX_BYTES = 1 << 30


class IDXError(ValueError):
    """An IDX file that is missing, damaged or not what its name says."""


def _fix(path: Path) -> str:
    return f"Delete {path} and run again to re-download it (or point data.data_dir elsewhere)."


def read_idx(path: str | Path, max_bytes: int = MAX_IDX_BYTES) -> torch.Tensor:
    """Read one unsigned-byte IDX file, `.gz` or not, header first: never more than the header
    promises plus one byte is read or decompressed, so a padded file or a gzip bomb is refused
    at the cost of its real size, and a plain file's size is checked before it is read."""
    path = Path(path)
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as f:
            shape, header = _header(f, path)
            expected = math.prod(shape)
            if expected > max_bytes:
                raise IDXError(
                    f"{path}: its header {tuple(shape)} promises {expected:,} bytes, over the "
                    f"limit of {max_bytes:,}. {_fix(path)}"
                )
            if path.suffix != ".gz" and (size := path.stat().st_size) != header + expected:
                raise _wrong_size(path, shape, size, header + expected)
            data = bytearray(expected)
            got = f.readinto(data) if expected else 0
            if got != expected or f.read(1):  # cut short, or more bytes than promised
                got += len(f.read(1 << 20))  # enough to say "padded", never the whole rest
                raise _wrong_size(path, shape, header + got, header + expected)
    except (OSError, EOFError, zlib.error) as err:  # gzip.BadGzipFile is an OSError
        raise IDXError(f"{path}: cannot be read ({err}). {_fix(path)}") from err
    return torch.frombuffer(data, dtype=torch.uint8).reshape(shape)


def _header(f: BinaryIO, path: Path) -> tuple[tuple[int, ...], int]:
    """The shape in an IDX header, and the header's length in bytes."""
    magic = f.read(4)
    if len(magic) < 4 or magic[:2] != b"\x00\x00" or magic[2] != _UBYTE:
        raise IDXError(
            f"{path}: not an unsigned-byte IDX file (magic bytes {magic.hex() or 'none'}, "
            f"expected 000008xx). {_fix(path)}"
        )
    ndim = magic[3]
    dims = f.read(4 * ndim)
    if ndim == 0 or len(dims) < 4 * ndim:
        raise IDXError(f"{path}: header of {ndim} dimensions is cut short. {_fix(path)}")
    return struct.unpack(f">{ndim}I", dims), 4 + 4 * ndim


def _wrong_size(path: Path, shape: tuple[int, ...], size: int, expected: int) -> IDXError:
    more = "+" if size > expected else ""
    return IDXError(
        f"{path}: {size}{more} bytes, but its header {tuple(shape)} needs {expected} "
        f"(truncated or padded). {_fix(path)}"
    )


def find_file(raw_dir: Path, name: str) -> Path | None:
    """The plain file if present, else its `.gz`, else None."""
    for candidate in (raw_dir / name, raw_dir / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def load_split(
    raw_dir: str | Path, split: str, num_classes: int = 10
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 1, H, W) uint8 and labels (N,) int64 of one split, validated together."""
    raw_dir = Path(raw_dir)
    image_name, label_name = FILES[split]
    paths = [find_file(raw_dir, name) for name in (image_name, label_name)]
    missing = [name for name, p in zip((image_name, label_name), paths, strict=True) if p is None]
    if missing:
        raise FileNotFoundError(f"{raw_dir}: missing {', '.join(missing)} (or its .gz)")
    image_path, label_path = paths
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3:
        raise IDXError(
            f"{image_path}: images must be (N, H, W), got {tuple(images.shape)}. {_fix(image_path)}"
        )
    if labels.ndim != 1:
        raise IDXError(
            f"{label_path}: labels must be (N,), got {tuple(labels.shape)}. {_fix(label_path)}"
        )
    if len(images) != len(labels):
        raise IDXError(
            f"{raw_dir}: {len(images)} images in {image_path.name} but {len(labels)} labels in "
            f"{label_path.name}. Delete both and re-download."
        )
    if len(labels) and int(labels.max()) >= num_classes:
        raise IDXError(
            f"{label_path}: label {int(labels.max())} is out of range 0..{num_classes - 1}. "
            f"{_fix(label_path)}"
        )
    return images.unsqueeze(1), labels.long()
