"""Checkpoints carry the run's model and data config, so a model is rebuilt from a file with no
Python written. A checkpoint is untrusted input: it is read with torch.load(weights_only=True)
only, its stored config is validated whole before anything is built (mnist_cnn.stored_config),
and it is written atomically."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from mnist_cnn.archive import check_archive
from mnist_cnn.atomic import write_bytes_atomic
from mnist_cnn.models.module import MnistLitModule
from mnist_cnn.provenance import PROVENANCE_KEY, ProvenanceError, validate_record
from mnist_cnn.stored_config import (
    RUN_ONLY,
    StoredConfigError,
    build_module,
    stored_config,
    validate,
)

CONFIG_KEY = "mnist_cnn_config"


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, not ours, or holds a config we did not write."""


class StoreConfig(L.Callback):
    """Adds the model and data config (plain dicts and lists; see `stored_config`) to every
    checkpoint saved."""

    def __init__(self, run_config: dict[str, Any]) -> None:
        # Checked now, not when someone loads the file: e.g. an unregistered network.
        try:
            self.config = validate(stored_config(run_config))
        except StoredConfigError as err:
            raise CheckpointError(f"checkpoints of this run could not be loaded: {err}") from None

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint[CONFIG_KEY] = self.config


def write_checkpoint(checkpoint: dict[str, Any], path: str | Path) -> None:
    """torch.save `checkpoint` to `path` atomically: the old file stays whole until the new one
    is complete on disk."""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def read_checkpoint(path: str | Path, key: str = "ckpt_path") -> dict[str, Any]:
    """Load a checkpoint safely (tensors and plain data only), check it is one of ours and
    validate its stored config and weights; nothing named in the file is imported or called.
    Errors name the setting `key` that gave the path."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{key}={path}: no such file. Point {key} at a .ckpt file, e.g. "
            f"outputs/train/runs/<run>/checkpoints/last.ckpt."
        )
    data = check_archive(path, key)
    try:
        checkpoint = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:  # unpickling errors come in many types
        raise CheckpointError(
            f"{key}={path}: not a loadable checkpoint ({type(err).__name__}: {err}). Only "
            f"checkpoints holding tensors and plain data are accepted."
        ) from err
    if not isinstance(checkpoint, dict) or CONFIG_KEY not in checkpoint:
        raise CheckpointError(
            f"{key}={path}: not an mnist-cnn checkpoint (no '{CONFIG_KEY}' entry). Use a "
            f"checkpoint written by train.py."
        )
    check_contents(checkpoint, path, key)
    return checkpoint


def check_contents(checkpoint: dict[str, Any], path: str | Path, key: str = "ckpt_path") -> None:
    """A checkpoint's stored config and provenance record (if any) must be what train.py writes,
    with a state_dict beside them."""
    validate_stored(checkpoint[CONFIG_KEY], path, key)
    try:  # checkpoints written before the record, and imported ones, have none
        if PROVENANCE_KEY in checkpoint:
            validate_record(checkpoint[PROVENANCE_KEY], f"{key}={path}")
    except ProvenanceError as err:
        raise CheckpointError(f"{err}: refused; only records train.py writes are read.") from None
    if not isinstance(checkpoint.get("state_dict"), dict):
        raise CheckpointError(f"{key}={path}: refused: it holds no state_dict of weights.")


def check_weights(weights: dict[str, Any], expected: dict[str, torch.Tensor], where: str) -> None:
    """Refuse weights that are not exactly `expected`'s: every key, no other, each of its
    shape (before any is loaded into a model)."""
    extra, missing = sorted(set(weights) - set(expected)), sorted(set(expected) - set(weights))
    if extra or missing:
        found = f"extra {extra[:5]}" if extra else f"missing {missing[:5]}"
        raise CheckpointError(
            f"{where}: refused: its weights are not those of the network its config builds "
            f"({found}). Use a checkpoint written by train.py for this network."
        )
    for name, tensor in expected.items():
        value = weights[name]
        if not isinstance(value, torch.Tensor) or value.shape != tensor.shape:
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise CheckpointError(
                f"{where}: refused: weight {name} is {shape}, but the network its config "
                f"builds has {tuple(tensor.shape)} there."
            )


def _built_module(checkpoint: dict[str, Any], where: str) -> MnistLitModule:
    try:
        return build_module(checkpoint[CONFIG_KEY])
    except (StoredConfigError, TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{where}: refused: {err}") from None


def validate_stored(config: Any, path: str | Path, key: str = "ckpt_path") -> None:
    """Refuse a stored config that is not the plain data train.py writes, naming the key path."""
    try:
        validate(config)
    except StoredConfigError as err:
        legacy = isinstance(config, dict) and err.key_path.split(".")[0] in RUN_ONLY
        advice = (
            "It was written by mnist-cnn 0.1, which stored the whole run config. If you trust "
            f"it, convert it (keeps only the validated model and data): python "
            f"scripts/upgrade_checkpoint.py {path}"
            if legacy
            else "Only configs written by train.py are accepted; nothing in it was run."
        )
        raise CheckpointError(f"{key}={path}: refused: {err}. {advice}") from None


class SafeCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint reader and writer, made safe: loads are always weights_only (even
    under TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1) and saves go to a temporary file beside the target
    that is renamed over it (Lightning's own temporary file lives in $TMPDIR, so its rename
    becomes a non-atomic copy when $TMPDIR is on another filesystem)."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None
    ) -> None:
        if storage_options is not None or "://" in str(path):
            return super().save_checkpoint(checkpoint, path, storage_options)
        write_checkpoint(checkpoint, path)

    def load_checkpoint(
        self,
        path: str | Path,
        map_location: Callable | None = lambda storage, loc: storage,
        weights_only: bool | None = None,
    ) -> dict[str, Any]:
        if "://" in str(path):  # remote storage: Lightning's own reader (fsspec)
            checkpoint = super().load_checkpoint(path, map_location, weights_only=True)
        else:  # e.g. ckpt_path=last or hpc, found by Lightning itself
            data = check_archive(path)
            checkpoint = torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
        if CONFIG_KEY in checkpoint:
            check_contents(checkpoint, path)
            where = f"ckpt_path={path}"
            check_weights(
                checkpoint["state_dict"], _built_module(checkpoint, where).state_dict(), where
            )
        return checkpoint


def check_same_network(
    path: str | Path, net_config: dict[str, Any], key: str = "ckpt_path", ignore: tuple = ()
) -> dict[str, Any]:
    """Read a checkpoint safely; refuse one of another network (model.net differs in a key not in
    `ignore`), naming `key`, what differs and the fix."""
    checkpoint = read_checkpoint(path, key)
    saved = checkpoint[CONFIG_KEY]["model"]["net"]
    differ = sorted(
        k
        for k in saved.keys() | net_config.keys()
        if k not in ignore and saved.get(k) != net_config.get(k)
    )
    if differ:
        raise CheckpointError(
            f"{key}={path}: a checkpoint of a different network (model.net differs in "
            f"{', '.join(differ)}: checkpoint has {[saved.get(k) for k in differ]}, this run "
            f"{[net_config.get(k) for k in differ]}). Run with the checkpoint's own values: "
            f"{' '.join(f'model.net.{k}={_override(saved.get(k))}' for k in differ)}"
        )
    return checkpoint


def _override(value: Any) -> str:
    """A value as a command-line override spells it: [32,64], null, true."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def check_resumable(ckpt_path: str | Path, net_config: dict[str, Any]) -> None:
    """Refuse, before any work, a resume checkpoint that is unsafe, not ours or another network."""
    checkpoint = check_same_network(ckpt_path, net_config)
    where = f"ckpt_path={ckpt_path}"
    check_weights(checkpoint["state_dict"], _built_module(checkpoint, where).state_dict(), where)
    if "optimizer_states" not in checkpoint:
        raise CheckpointError(
            f"ckpt_path={ckpt_path}: weights only (imported, e.g. by from_keras.py), no training "
            f"state to resume. Start a new run from its weights with init_from={ckpt_path}."
        )


# Settings that neither add nor reshape weights, so a new run may change them.
INIT_FROM_MAY_DIFFER = ("dropout", "keras_init")


def init_weights(model: MnistLitModule, path: str | Path, net_config: dict[str, Any]) -> None:
    """Start a new run from a checkpoint's network weights (trained or imported); the optimizer,
    epoch count and best accuracy start fresh, unlike a resume with ckpt_path."""
    checkpoint = check_same_network(path, net_config, "init_from", INIT_FROM_MAY_DIFFER)
    # The whole state_dict against the run's module (the network's weights and the module's own
    # state), though only the network's weights are taken.
    check_weights(checkpoint["state_dict"], model.state_dict(), f"init_from={path}")
    weights = {
        key.removeprefix("net."): value
        for key, value in checkpoint["state_dict"].items()
        if key.startswith("net.")
    }
    model.net.load_state_dict(weights)


def build_model(checkpoint: dict[str, Any], path: str | Path) -> MnistLitModule:
    """The model of a checkpoint already read from `path` with `read_checkpoint`, in eval mode:
    built from registered classes only, with no optimizer or scheduler."""
    where = f"ckpt_path={path}"
    model = _built_module(checkpoint, where)
    check_weights(checkpoint["state_dict"], model.state_dict(), where)
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as err:  # e.g. a dtype that cannot be copied into the weights
        raise CheckpointError(f"{where}: refused: {err}") from None
    return model.eval()
