"""Read a Keras model file as data: its architecture JSON and weight arrays, nothing else.

Three kinds: a Keras 3 `.keras` archive (zip: config.json + model.weights.h5), a Keras 3
`.weights.h5` (weights only), a legacy `.h5` from `model.save("x.h5")`. The file is untrusted:
Keras is never imported and no code in it runs; Lambda layers and custom objects are refused,
sizes are checked before bytes are read, and arrays must be plain float datasets in the file.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

ZIP_MAGIC, HDF5_MAGIC = b"PK\x03\x04", b"\x89HDF\r\n\x1a\n"
# Far above any MnistCNN (the keras.io model is 0.17 MB), far below a memory problem.
MAX_FILE_BYTES = 256 * 2**20
MAX_CONFIG_BYTES = 2**20
MAX_ARRAY_ELEMENTS = 2**25
# Class names whose configs carry Python code (Keras serialises functions as bytecode).
CODE_CLASSES = {"Lambda", "TFOpLambda", "__lambda__", "function"}


class KerasFileError(ValueError):
    """A file this project cannot read as a Keras model, with the reason and the fix."""


@dataclass
class KerasLayer:
    """One layer: its Keras class (snake_case group name for weights-only files), its settings
    (None when the file holds none) and its weight arrays in Keras's layout and order."""

    class_name: str
    name: str
    config: dict[str, Any] | None
    weights: list[np.ndarray]


@dataclass
class KerasModel:
    kind: str  # ".keras archive", ".weights.h5 (weights only)" or "legacy .h5"
    layers: list[KerasLayer]  # in model order; for weights-only files in file order
    input_shape: tuple[int, ...] | None  # (H, W, C) as the config says; None if it does not
    keras_version: str | None


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
        return _guarded(path, lambda: _read_h5_file(path))
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
        with zipfile.ZipFile(path) as archive:
            config = _json(path, _member(path, archive, "config.json", MAX_CONFIG_BYTES))
            weights = _member(path, archive, "model.weights.h5", MAX_FILE_BYTES)
            metadata = (
                archive.read("metadata.json") if "metadata.json" in archive.namelist() else b""
            )
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:
        raise KerasFileError(
            f"{path}: a truncated or damaged zip archive ({err}). Copy the file again or save it "
            f"again with model.save('model.keras')."
        ) from err
    version = _json(path, metadata).get("keras_version") if metadata[:1] == b"{" else None
    layers, input_shape = _architecture(path, config)

    def read() -> KerasModel:
        with h5py.File(io.BytesIO(weights), "r") as h5:
            _attach_keras3_weights(path, h5, layers)
        return KerasModel(".keras archive", layers, input_shape, version)

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


def _json(path: Path, data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise KerasFileError(f"{path}: its model config is not valid JSON ({err}).") from err
    if not isinstance(value, dict):
        raise KerasFileError(f"{path}: its model config is not a JSON object.")
    return value


def _architecture(path: Path, config: dict[str, Any]) -> tuple[list[KerasLayer], tuple | None]:
    """Layers (weights still empty) and input shape of a Sequential model's config."""
    if config.get("class_name") != "Sequential":
        raise KerasFileError(
            f"{path}: a Keras {config.get('class_name')} model; only Sequential models (one chain "
            f"of layers, as in the keras.io example) map onto MnistCNN."
        )
    body = config.get("config")
    entries = body.get("layers") if isinstance(body, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise KerasFileError(f"{path}: its config has no list of layers.")
    code = _code_objects(body, "config")
    if code:
        raise KerasFileError(
            f"{path}: refused, it holds code or custom objects, which are never run here: "
            f"{'; '.join(code)}. Rebuild the model from built-in Keras layers."
        )
    input_shape = body.get("build_input_shape") or config.get("build_config", {}).get("input_shape")
    layers = []
    for entry in entries:
        settings = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        if entry.get("class_name") == "InputLayer":
            input_shape = settings.get("batch_shape") or settings.get("batch_input_shape")
            continue
        input_shape = input_shape or settings.get("batch_input_shape")  # Keras 2 style
        layers.append(
            KerasLayer(str(entry.get("class_name")), str(settings.get("name")), settings, [])
        )
    if isinstance(input_shape, list) and all(isinstance(d, int) for d in input_shape[1:]):
        return layers, tuple(input_shape[1:])
    return layers, None


def _code_objects(node: Any, where: str) -> list[str]:
    """Where the config names a Lambda, a serialised function or a non-Keras (custom) object."""
    found = []
    if isinstance(node, dict):
        class_name, module = node.get("class_name"), node.get("module")
        registered = node.get("registered_name")
        if class_name in CODE_CLASSES:
            found.append(f"{where} is a {class_name} (Python code)")
        elif (isinstance(module, str) and not module.startswith("keras")) or (
            isinstance(registered, str) and ">" in registered  # "package>Name": custom
        ):
            found.append(f"{where} is the custom object {registered or class_name} ({module})")
        for key, value in node.items():
            found += _code_objects(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _code_objects(value, f"{where}[{i}]")
    return found


def snake_case(class_name: str) -> str:
    """Keras 3's weight-group name for a layer class: Conv2D → conv2d, MaxPooling2D →
    max_pooling2d (the regexes of keras.src.utils.naming.to_snake_case, checked on 3.15)."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _attach_keras3_weights(path: Path, h5: h5py.File, layers: list[KerasLayer]) -> None:
    """Keras 3 stores layer i's arrays in layers/<snake_case class>[_n]/vars/0, 1, ..."""
    seen: dict[str, int] = {}
    for layer in layers:
        base = snake_case(layer.class_name)
        count = seen[base] = seen.get(base, -1) + 1
        group = _group(path, h5, f"layers/{base}" + (f"_{count}" if count else "") + "/vars")
        layer.weights = _vars(path, group)


def _vars(path: Path, group: h5py.Group) -> list[np.ndarray]:
    names = sorted(group.keys(), key=lambda n: int(n) if n.isdigit() else -1)
    if any(not n.isdigit() for n in names):
        raise KerasFileError(f"{path}: unexpected entries {names} in {group.name}.")
    return [_array(path, group, name) for name in names]


def _node(path: Path, parent: h5py.Group, name: str) -> h5py.Group | h5py.Dataset | None:
    """`parent[name]` when every step of the path is a hard link: soft and external links could
    lead elsewhere in the file or into other files."""
    node = parent
    for part in name.split("/"):
        if not isinstance(node, h5py.Group) or not isinstance(
            node.get(part, getlink=True), h5py.HardLink
        ):
            return None
        node = node[part]
    return node


def _group(path: Path, parent: h5py.Group, name: str) -> h5py.Group:
    group = _node(path, parent, name)
    if not isinstance(group, h5py.Group):
        raise KerasFileError(f"{path}: no weight group {name}; the weights do not fit the config.")
    return group


def _array(path: Path, group: h5py.Group, name: str) -> np.ndarray:
    """A float dataset stored in this file, refused when it is anything else or too large."""
    dataset = _node(path, group, name)
    if (
        not isinstance(dataset, h5py.Dataset)
        or dataset.is_virtual
        or dataset.external
        or dataset.dtype.kind != "f"
    ):
        raise KerasFileError(
            f"{path}: {group.name}/{name} is not a float array stored in the file."
        )
    if dataset.size > MAX_ARRAY_ELEMENTS:
        raise KerasFileError(f"{path}: {dataset.name} has {dataset.size:,} values, too many.")
    return np.asarray(dataset[()], dtype=np.float32)


def _read_h5_file(path: Path) -> KerasModel:
    with h5py.File(path, "r") as h5:
        if "model_config" in h5.attrs:
            return _read_legacy(path, h5)
        if isinstance(_node(path, h5, "layers"), h5py.Group):
            layers = [
                KerasLayer(
                    re.sub(r"_\d+$", "", name),
                    name,
                    None,
                    _vars(path, _group(path, h5, f"layers/{name}/vars")),
                )
                for name in h5["layers"]
            ]
            return KerasModel(".weights.h5 (weights only)", layers, None, None)
    raise KerasFileError(
        f"{path}: an HDF5 file that is neither a Keras model (.h5 with model_config) nor Keras 3 "
        f"weights (.weights.h5). Weights-only files from Keras 2 hold no layer settings: load "
        f"them in Keras and save with model.save('model.keras')."
    )


def _read_legacy(path: Path, h5: h5py.File) -> KerasModel:
    raw = h5.attrs["model_config"]
    raw = raw.encode() if isinstance(raw, str) else bytes(raw)
    if len(raw) > MAX_CONFIG_BYTES:
        raise KerasFileError(
            f"{path}: model_config is {len(raw):,} bytes, over {MAX_CONFIG_BYTES:,}."
        )
    layers, input_shape = _architecture(path, _json(path, raw))
    weights = _group(path, h5, "model_weights")
    for layer in layers:
        group = _group(path, weights, layer.name)
        names = [
            n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs["weight_names"]
        ]
        layer.weights = [_array(path, group, name) for name in names]
    version = h5.attrs.get("keras_version")
    version = version.decode() if isinstance(version, bytes) else version
    return KerasModel("legacy .h5", layers, input_shape, version and str(version))
