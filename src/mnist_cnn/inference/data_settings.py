"""The data a checkpoint was trained on, with the command line's `data.*` settings on top.

eval, predict and export read their data settings here, one way: each setting comes from the
checkpoint unless given (`data.data_dir=...`), and another test set (dataset, number or names of
classes) is refused unless `allow_other_data=true`, which then warns on screen and in the results.
The checkpoint's stored config is plain data (mnist_cnn.stored_config): its data settings are
checked against MnistDataModule's arguments and passed to that class only, never to `instantiate`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mnist_cnn.checkpoint import CONFIG_KEY, CheckpointError, validate_stored
from mnist_cnn.data.datamodule import MnistDataModule
from mnist_cnn.data.idx import DataNotFoundError
from mnist_cnn.stored_config import data_settings

log = logging.getLogger(__name__)

# Settings that decide which test set a number is about; the others only say where and how fast.
IDENTITY = ("dataset", "num_classes", "class_names")
ARGUMENTS = tuple(inspect.signature(MnistDataModule).parameters)


def stored_data(checkpoint: Mapping[str, Any], ckpt_path: str | Path) -> dict[str, Any]:
    """The checkpoint's `data` config as MnistDataModule arguments, validated as plain data."""
    validate_stored(checkpoint[CONFIG_KEY], ckpt_path)
    try:
        return data_settings(checkpoint[CONFIG_KEY])
    except ValueError as err:
        raise CheckpointError(f"ckpt_path={ckpt_path}: refused: {err}.") from None


def merge_data(
    stored: Mapping[str, Any],
    overrides: Mapping[str, Any] | None,
    allow_other_data: bool = False,
    source: str = "the checkpoint",
) -> tuple[dict[str, Any], str | None]:
    """`stored` with the non-null `overrides` on top, and a warning if they name another test set.

    Raises when they do and `allow_other_data` is false, naming both test sets.
    """
    given = {k: v for k, v in (overrides or {}).items() if v is not None and k != "_target_"}
    unknown = sorted(set(given) - set(ARGUMENTS))
    if unknown:
        raise ValueError(
            f"data.{unknown[0]}: not a data setting; choose from {', '.join(ARGUMENTS)}."
        )
    settings = {**stored, **given}
    changed = [key for key in IDENTITY if key in given and given[key] != stored.get(key)]
    if not changed:
        return settings, None
    theirs = ", ".join(f"{key}={stored.get(key)}" for key in changed)
    asked = " ".join(f"data.{key}={given[key]}" for key in changed)
    if not allow_other_data:
        raise ValueError(
            f"{asked}: {source} was trained on {theirs}, not on this. Drop the override to use "
            f"its own data, or add allow_other_data=true to run on this anyway (flagged as such)."
        )
    warning = (
        f"NOT THE CHECKPOINT'S TEST SET: {asked}, but {source} was trained on {theirs} "
        f"(allowed by allow_other_data=true)."
    )
    log.warning("\n%s\n%s\n%s", "!" * 80, warning, "!" * 80)
    return settings, warning


def checkpoint_data(
    checkpoint: Mapping[str, Any],
    ckpt_path: str | Path,
    overrides: Mapping[str, Any] | None = None,
    allow_other_data: bool = False,
) -> tuple[dict[str, Any], str | None]:
    """MnistDataModule arguments for inference from a checkpoint, and the warning if any.

    Never downloads unless `data.download=true` is given: the training machine's choice is not ours.
    """
    stored = {**stored_data(checkpoint, ckpt_path), "download": False}
    return merge_data(stored, overrides, allow_other_data, f"ckpt_path={ckpt_path}")


def datamodule_for(
    settings: Mapping[str, Any], overrides: Mapping[str, Any] | None = None
) -> MnistDataModule:
    """The DataModule for `settings`, its files checked now, naming the override to move them."""
    datamodule = MnistDataModule(**settings)
    try:
        datamodule.prepare_data()
    except DataNotFoundError as err:
        if (overrides or {}).get("data_dir") is not None:
            raise
        raise DataNotFoundError(
            f"{err}\ndata_dir={settings.get('data_dir')} is the checkpoint's own (the machine it "
            f"was trained on); here, give data.data_dir=/path/to/folder holding "
            f"{settings.get('dataset')}/raw/."
        ) from None
    return datamodule
