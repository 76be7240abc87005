"""The classes a config may name, and so all a checkpoint's stored config may ever build.

A checkpoint is a file that people share; its config is data that names classes, and only the
classes registered here (plus MnistLitModule and MnistDataModule) are ever built from it (see
mnist_cnn.stored_config). Your own network: import its class and add it to NETWORKS.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Mapping
from typing import Any

from torch import optim

from mnist_cnn.models.cnn import MnistCNN

# model.net._target_: train refuses any other network, eval, predict and export never build one.
NETWORKS: tuple[type, ...] = (MnistCNN,)
# model.optimizer and model.scheduler.
OPTIMIZERS: tuple[type, ...] = (optim.Adam, optim.AdamW, optim.SGD, optim.RMSprop)
SCHEDULERS: tuple[type, ...] = (
    optim.lr_scheduler.ReduceLROnPlateau,
    optim.lr_scheduler.OneCycleLR,
    optim.lr_scheduler.CosineAnnealingLR,
    optim.lr_scheduler.StepLR,
)


def target_names(classes: tuple[type, ...]) -> dict[str, type]:
    """Every dotted name under which the given classes are importable, e.g. both
    `torch.optim.adam.Adam` and `torch.optim.Adam`.

    Only modules already imported are looked at, and names must match exactly, so a lookalike
    module (`mnist_cnn_x.models.MnistCNN`) never matches and validating imports nothing.
    """
    names: dict[str, type] = {}
    for cls in classes:
        parts = cls.__module__.split(".")
        for end in range(1, len(parts) + 1):
            module = sys.modules.get(".".join(parts[:end]))
            if getattr(module, cls.__qualname__, None) is cls:
                names[f"{'.'.join(parts[:end])}.{cls.__qualname__}"] = cls
    return names


def unknown_arguments(cls: type, kwargs: Mapping[str, Any]) -> list[str]:
    """The keys of `kwargs` that `cls`'s constructor does not take, sorted."""
    accepted = inspect.signature(cls).parameters
    if any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        return []
    return sorted(key for key in kwargs if key not in accepted)
