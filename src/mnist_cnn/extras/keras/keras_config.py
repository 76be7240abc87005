"""A Keras model's architecture JSON as data: the layers of a Sequential model, their settings,
its input shape; Lambda layers and custom objects (code) are refused."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAX_CONFIG_BYTES = 2**20  # the keras.io model's config.json is 5 kB
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
    kind: str  # "Keras 3 model archive", "Keras 3 weights only", "legacy Keras HDF5 model"
    layers: list[KerasLayer]  # in model order; for weights-only files in file order
    input_shape: tuple[int, ...] | None  # (H, W, C) as the config says; None if it does not
    keras_version: str | None


def parse_json(path: Path, data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise KerasFileError(f"{path}: its model config is not valid JSON ({err}).") from err
    if not isinstance(value, dict):
        raise KerasFileError(f"{path}: its model config is not a JSON object.")
    return value


def parse_architecture(path: Path, config: dict[str, Any]) -> tuple[list[KerasLayer], tuple | None]:
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
    build = config.get("build_config")
    input_shape = body.get("build_input_shape") or (build or {}).get("input_shape")
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
    if isinstance(input_shape, list) and all(type(d) is int for d in input_shape[1:]):
        return layers, tuple(input_shape[1:])
    return layers, None


def _code_objects(node: Any, where: str) -> list[str]:
    """Where the config names a Lambda, a serialised function or a non-Keras (custom) object."""
    found = []
    if isinstance(node, dict):
        class_name, module = node.get("class_name"), node.get("module")
        registered = node.get("registered_name")
        if class_name in CODE_CLASSES:
            return [f"{where} is a {class_name} (Python code)"]
        if (isinstance(module, str) and not module.startswith("keras")) or (
            isinstance(registered, str) and ">" in registered  # "package>Name": custom
        ):
            return [f"{where} is the custom object {registered or class_name} ({module})"]
        for key, value in node.items():
            found += _code_objects(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _code_objects(value, f"{where}[{i}]")
    return found
