"""MNIST-format IDX files (plain or gzip) ↔ uint8 tensors, refusing damaged ones; pixels to
floats; class names. torch is imported on use: checking that files exist needs none of it."""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# The four files of every MNIST-format dataset (MNIST, FashionMNIST, KMNIST), by split.
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# Full MNIST's training images are 47 MB; a header promising more than this is refused unread.
MAX_IDX_BYTES = 1 << 30


class IDXError(ValueError):
    """An IDX file that is missing, damaged or not what its name says."""


class DataNotFoundError(FileNotFoundError):
    """The dataset files are missing and could not be downloaded."""


def _fix(path: Path) -> str:
    return f"Delete {path} and run again to re-download it (or point data.data_dir elsewhere)."


def read_idx(path: str | Path, max_bytes: int = MAX_IDX_BYTES) -> torch.Tensor:
    """One unsigned-byte IDX file, `.gz` or not, read header first: never more than the header
    promises plus one byte is read or unpacked, so a padded file or a gzip bomb costs its real
    size, and a plain file's size is checked before it is read."""
    import torch

    path = Path(path)
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as f:
            magic = f.read(4)
            if len(magic) < 4 or magic[:3] != b"\x00\x00\x08":
                raise IDXError(
                    f"{path}: not an unsigned-byte IDX file (magic bytes {magic.hex() or 'none'}, "
                    f"expected 000008xx). {_fix(path)}"
                )
            dims = f.read(4 * magic[3])
            if magic[3] == 0 or len(dims) < 4 * magic[3]:
                raise IDXError(
                    f"{path}: header of {magic[3]} dimensions is cut short. {_fix(path)}"
                )
            shape, header = struct.unpack(f">{magic[3]}I", dims), 4 + len(dims)
            expected = math.prod(shape)
            if expected > max_bytes:
                raise IDXError(
                    f"{path}: its header {shape} promises {expected:,} bytes, over the limit of "
                    f"{max_bytes:,}. {_fix(path)}"
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


def _wrong_size(path: Path, shape: tuple[int, ...], size: int, expected: int) -> IDXError:
    more = "+" if size > expected else ""
    return IDXError(
        f"{path}: {size}{more} bytes, but its header {shape} needs {expected} (truncated or "
        f"padded). {_fix(path)}"
    )


def write_idx(path: str | Path, data: torch.Tensor) -> Path:
    """Write a uint8 tensor as an IDX file (gzip when `path` ends in .gz)."""
    import torch

    path, data = Path(path), data.to(torch.uint8).contiguous()
    header = bytes([0, 0, 8, data.ndim]) + struct.pack(f">{data.ndim}I", *data.shape)
    payload = header + data.numpy().tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload) if path.suffix == ".gz" else payload)
    return path


def write_dataset(
    root: str | Path, train: tuple[torch.Tensor, ...], test: tuple[torch.Tensor, ...],
    dataset: str = "MNIST",
) -> Path:  # fmt: skip
    """Write (images (N, 1, H, W) uint8, labels (N,)) splits as `<root>/<dataset>/raw/*-ubyte`,
    the layout `data.data_dir=<root>` reads; returns `root`."""
    for split, (images, labels) in (("train", train), ("test", test)):
        image_name, label_name = FILES[split]
        write_idx(Path(root) / dataset / "raw" / image_name, images.squeeze(1))
        write_idx(Path(root) / dataset / "raw" / label_name, labels)
    return Path(root)


def find_file(raw_dir: Path, name: str) -> Path | None:
    """The plain file if present, else its `.gz`, else None."""
    return next((p for p in (raw_dir / name, raw_dir / f"{name}.gz") if p.is_file()), None)


def missing_files(data_dir: Path, dataset: str) -> list[str]:
    """Which of the four files `<data_dir>/<dataset>/raw` lacks (neither plain nor .gz)."""
    names = [name for split in FILES.values() for name in split]
    return [name for name in names if find_file(data_dir / dataset / "raw", name) is None]


def not_found(data_dir: Path, dataset: str, reason: str) -> str:
    """What to say when `missing_files` names any: where we looked, why, and the fix."""
    names = [name for split in FILES.values() for name in split]
    expected = "\n  ".join(names)
    message = (
        f"{dataset} files not found in {(data_dir / dataset / 'raw').resolve()} ({reason}).\n"
        f"Expected these four files there (each may also end in .gz):\n  {expected}\n"
        f"Copy them there, or point to a folder holding {dataset}/raw/ with "
        f"data.data_dir=/path/to/folder (and data.download=false when offline)."
    )
    if any(find_file(data_dir, name) for name in names):  # data_dir names the raw folder itself
        above = data_dir.parent.parent if data_dir.parts[-2:] == (dataset, "raw") else None
        hint = f"data.data_dir={above}" if above else f"a folder holding {dataset}/raw/"
        message += (
            f"\n{data_dir} itself holds them: data.data_dir names the folder above "
            f"{dataset}/raw/, so use {hint}."
        )
    return message


def load_split(
    raw_dir: str | Path, split: str, num_classes: int = 10
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 1, H, W) uint8 and labels (N,) int64 of one split, validated together."""
    raw_dir = Path(raw_dir)
    paths = [find_file(raw_dir, name) for name in FILES[split]]
    if None in paths:
        missing = [name for name, path in zip(FILES[split], paths, strict=True) if path is None]
        raise FileNotFoundError(f"{raw_dir}: missing {', '.join(missing)} (or its .gz)")
    (image_path, label_path), (images, labels) = paths, [read_idx(path) for path in paths]
    if images.ndim != 3:
        shape = tuple(images.shape)
        raise IDXError(f"{image_path}: images must be (N, H, W), got {shape}. {_fix(image_path)}")
    if labels.ndim != 1:
        shape = tuple(labels.shape)
        raise IDXError(f"{label_path}: labels must be (N,), got {shape}. {_fix(label_path)}")
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


def to_unit_float(images: torch.Tensor) -> torch.Tensor:
    """Integer (uint8) pixels 0..255 → float32 in [0, 1]; float input is taken as scaled."""
    return images if images.is_floating_point() else images.float().div_(255)


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
