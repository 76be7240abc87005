"""HDF5 weight files read as data: only float datasets stored in the file itself, by hard links.

Keras 3 (`.weights.h5`, and inside `.keras`): layers/<snake_case class>[_n]/vars/0, 1, ...
Legacy `.h5` (`model.save("x.h5")`): a model_config attribute and model_weights/<layer name>/...
"""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np

from mnist_cnn.extras.keras.keras_config import (
    MAX_CONFIG_BYTES,
    KerasFileError,
    KerasLayer,
    KerasModel,
    parse_architecture,
    parse_json,
)

MAX_ARRAY_ELEMENTS = 2**25  # 128 MB of float32 per array; the keras.io model has 16,000 at most


def snake_case(class_name: str) -> str:
    """Keras 3's weight-group name for a layer class: Conv2D → conv2d, MaxPooling2D →
    max_pooling2d (the regexes of keras.src.utils.naming.to_snake_case, checked on 3.15)."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def attach_keras3_weights(path: Path, h5: h5py.File, layers: list[KerasLayer]) -> None:
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


def _node(parent: h5py.Group, name: str) -> h5py.Group | h5py.Dataset | None:
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
    group = _node(parent, name)
    if not isinstance(group, h5py.Group):
        raise KerasFileError(f"{path}: no weight group {name}; the weights do not fit the config.")
    return group


def _array(path: Path, group: h5py.Group, name: str) -> np.ndarray:
    """A float dataset stored in this file, refused when it is anything else or too large."""
    dataset = _node(group, name)
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


def read_h5_file(path: Path) -> KerasModel:
    with h5py.File(path, "r") as h5:
        if "model_config" in h5.attrs:
            return _read_legacy(path, h5)
        if isinstance(_node(h5, "layers"), h5py.Group):
            layers = [
                KerasLayer(
                    re.sub(r"_\d+$", "", name),
                    name,
                    None,
                    _vars(path, _group(path, h5, f"layers/{name}/vars")),
                )
                for name in h5["layers"]
            ]
            return KerasModel("Keras 3 weights only", layers, None, None)
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
    layers, input_shape = parse_architecture(path, parse_json(path, raw))
    weights = _group(path, h5, "model_weights")
    for layer in layers:
        group = _group(path, weights, layer.name)
        names = [
            n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs["weight_names"]
        ]
        layer.weights = [_array(path, group, name) for name in names]
    version = h5.attrs.get("keras_version")
    version = version.decode() if isinstance(version, bytes) else version
    return KerasModel("legacy Keras HDF5 model", layers, input_shape, version and str(version))
