"""Read a Keras model file as data: its architecture JSON and weight arrays, nothing else.

Three kinds: a Keras 3 `.keras` archive (zip: config.json + model.weights.h5), a Keras 3
`.weights.h5` (weights only), a legacy `.h5` from `model.save("x.h5")`. The file is untrusted:
Keras is never imported and no code in it runs; Lambda layers and custom objects are refused,
sizes are checked before bytes are read, and arrays must be plain float datasets in the file.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

import h5py

from mnist_cnn.archive import ZIP_MAGIC, ArchiveError, check_zip
from mnist_cnn.extras.keras.keras_config import (
    MAX_CONFIG_BYTES,
    KerasFileError,
    KerasModel,
    parse_architecture,
    parse_json,
)
from mnist_cnn.extras.keras.keras_h5 import attach_keras3_weights, read_h5_file

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
# Far above any MnistCNN (the keras.io model's files are 0.17 MB), far below a memory problem.
MAX_FILE_BYTES = 256 * 2**20
# What Keras 3's model.save writes into a .keras archive (checked on 3.15).
KERAS_ENTRIES = re.compile(r"config\.json|metadata\.json|model\.weights\.h5|assets(/[^/]+)+")


def read_keras_file(path: str | Path) -> KerasModel:
    """The layers and weights of a Keras model file, refusing anything else (KerasFileError)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"keras_model={path}: no such file. Give a .keras or .h5 file.")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise KerasFileError(f"{path}: {size:,} bytes, over the {MAX_FILE_BYTES:,} accepted.")
    with path.open("rb") as f:
        magic = f.read(8)
    if magic.startswith(ZIP_MAGIC):
        return _read_archive(path)
    if magic == HDF5_MAGIC:
        return _guarded(path, lambda: read_h5_file(path))
    raise KerasFileError(
        f"{path}: not a Keras model (neither a .keras zip archive nor an HDF5 .h5 file). "
        f"Save it in Keras with model.save('model.keras')."
    )


def _guarded(path: Path, read: Any) -> KerasModel:
    """Run `read`, turning the many ways a damaged HDF5 file fails into one clear error."""
    try:
        return read()
    except KerasFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as err:
        raise KerasFileError(
            f"{path}: damaged or truncated HDF5 data ({type(err).__name__}: {err}). "
            f"Copy the file again or save it again in Keras."
        ) from err


def _read_archive(path: Path) -> KerasModel:
    try:
        # Keras stores its entries, but a re-zipped file may deflate them: each is still read
        # only up to its limit below.
        check_zip(path, KERAS_ENTRIES, MAX_FILE_BYTES, stored_only=False)
    except ArchiveError as err:
        raise KerasFileError(
            f"{err}, so not a .keras archive as Keras writes it. Save the model again in Keras "
            f"with model.save('model.keras')."
        ) from None
    try:
        with zipfile.ZipFile(path) as archive:
            config = parse_json(path, _member(path, archive, "config.json", MAX_CONFIG_BYTES))
            weights = _member(path, archive, "model.weights.h5", MAX_FILE_BYTES)
            has_metadata = "metadata.json" in archive.namelist()
            metadata = (
                _member(path, archive, "metadata.json", MAX_CONFIG_BYTES) if has_metadata else b""
            )
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:
        raise KerasFileError(
            f"{path}: a truncated or damaged zip archive ({err}). Copy the file again or save it "
            f"again with model.save('model.keras')."
        ) from err
    version = parse_json(path, metadata).get("keras_version") if metadata[:1] == b"{" else None
    layers, input_shape = parse_architecture(path, config)

    def read() -> KerasModel:
        with h5py.File(io.BytesIO(weights), "r") as h5:
            attach_keras3_weights(path, h5, layers)
        return KerasModel("Keras 3 model archive", layers, input_shape, version)

    return _guarded(path, read)


def _member(path: Path, archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """One archive member, refused when missing or larger than `limit` (zip bombs included)."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise KerasFileError(
            f"{path}: a zip archive without {name}, so not a Keras 3 .keras file."
        ) from None
    if info.file_size > limit:
        raise KerasFileError(f"{path}: {name} is {info.file_size:,} bytes, over {limit:,}.")
    with archive.open(info) as f:
        data = f.read(limit + 1)  # the header's size may lie: never read more than the limit
    if len(data) > limit:
        raise KerasFileError(f"{path}: {name} unpacks to over {limit:,} bytes.")
    return data
