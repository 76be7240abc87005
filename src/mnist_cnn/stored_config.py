"""A checkpoint's stored config is data, never a program: validated whole against what train.py
writes, then built only from the classes registered in mnist_cnn.models.registry.

What train.py stores (`stored_config`): `model` (LightningModule, its `net`, `optimizer` and
`scheduler`), `data` (the data module's settings) and plain values. A `_target_` may stand only in
those five places and must name a registered class exactly; Hydra's other special keys are
refused, except `_partial_: true` on the optimizer and scheduler, which train.py writes itself.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, NamedTuple

from torch import nn

from mnist_cnn.data.datamodule import MnistDataModule
from mnist_cnn.models.module import MnistLitModule
from mnist_cnn.models.registry import (
    NETWORKS,
    OPTIMIZERS,
    SCHEDULERS,
    target_names,
    unknown_arguments,
)

KeyPath = tuple[str, ...]


class Slot(NamedTuple):
    """A place where train.py writes a `_target_`: what it holds, and the classes (by every
    dotted name they are imported under) that may stand there."""

    kind: str
    allowed: dict[str, type]


@functools.cache
def slots() -> dict[KeyPath, Slot]:
    """Where train.py writes a `_target_`, and what may stand there (built on first use)."""
    # Also the names earlier releases wrote (the package exports they were under).
    module = {"mnist_cnn.models.MnistLitModule": MnistLitModule}
    data = dict.fromkeys(("mnist_cnn.data.MnistDataModule", "mnist_cnn.data.MNISTDataModule"))
    return {
        ("model",): Slot("LightningModule", {**target_names((MnistLitModule,)), **module}),
        ("model", "net"): Slot("network", target_names(NETWORKS)),
        ("model", "optimizer"): Slot("optimizer", target_names(OPTIMIZERS)),
        ("model", "scheduler"): Slot("scheduler", target_names(SCHEDULERS)),
        # Only the data module's settings are ever read.
        ("data",): Slot(
            "data module",
            {**target_names((MnistDataModule,)), **dict.fromkeys(data, MnistDataModule)},
        ),
    }


PARTIAL_SLOTS = {("model", "optimizer"), ("model", "scheduler")}
HYDRA_KEYS = ("_target_", "_partial_", "_args_", "_recursive_", "_convert_")
# What a run config holds besides model and data; none of it is needed to rebuild the model.
RUN_ONLY = ("trainer", "callbacks", "logger", "paths", "hydra")
PLAIN = (str, int, float, bool, type(None))


class StoredConfigError(ValueError):
    """A stored config that is not plain data of the shape train.py writes."""

    def __init__(self, path: KeyPath, found: Any, reason: str) -> None:
        self.key_path = ".".join(path) or "<config>"
        shown = repr(found) if len(repr(found)) <= 120 else repr(found)[:117] + "..."
        super().__init__(f"{self.key_path} = {shown}: {reason}")


def stored_config(run_config: dict[str, Any]) -> dict[str, Any]:
    """The part of a resolved run config that a checkpoint carries: what rebuilds the model."""
    return {key: value for key, value in run_config.items() if key not in RUN_ONLY}


def validate(config: Any) -> dict[str, Any]:
    """Return `config` if it is plain data of our shape; else raise StoredConfigError naming the
    key path. Nothing is imported or called."""
    if not isinstance(config, dict):
        raise StoredConfigError((), type(config).__name__, "must be a dict of plain values")
    _check(config, ())
    for key in ("model", "data"):
        if not isinstance(config.get(key), dict):
            raise StoredConfigError((key,), config.get(key), "missing or not a dict")
    if not isinstance(config["model"].get("net"), dict):
        raise StoredConfigError(("model", "net"), config["model"].get("net"), "missing network")
    return config


def _check(node: Any, path: KeyPath) -> None:
    if isinstance(node, dict):
        if path in slots() and "_target_" not in node:
            raise StoredConfigError((*path, "_target_"), None, "missing")
        for key, value in node.items():
            if not isinstance(key, str):
                raise StoredConfigError(path, key, "keys must be strings")
            _check_key(key, value, (*path, key))
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            _check(value, (*path, str(index)))
    elif not isinstance(node, PLAIN):
        raise StoredConfigError(path, type(node).__name__, "only plain values may be stored")
    elif isinstance(node, str) and "${" in node:
        raise StoredConfigError(path, node, "interpolations are never resolved from a file")


def _check_key(key: str, value: Any, path: KeyPath) -> None:
    parent = path[:-1]
    if key == "_target_":
        if parent not in slots():
            raise StoredConfigError(path, value, "no class may be named here")
        slot = slots()[parent]
        if value not in slot.allowed:
            raise StoredConfigError(path, value, _unregistered(slot))
    elif key == "_partial_":
        if parent not in PARTIAL_SLOTS or value is not True:
            raise StoredConfigError(path, value, "Hydra's _partial_ is refused here")
    elif key in HYDRA_KEYS:
        raise StoredConfigError(path, value, f"Hydra's {key} is never accepted from a file")
    else:
        _check(value, path)


def _unregistered(slot: Slot) -> str:
    accepted = ", ".join(sorted({n for n in slot.allowed if n.count(".") <= 2}))
    hint = f" Your own {slot.kind}? Add its class to models/registry.py (docs/make-it-yours.md)."
    return f"not a registered {slot.kind} (accepted: {accepted}).{hint}"


def _arguments(node: dict[str, Any], path: KeyPath, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The constructor arguments of a validated node, checked against the class's signature."""
    cls = slots()[path].allowed[node["_target_"]]
    kwargs = {k: v for k, v in node.items() if k not in HYDRA_KEYS and k not in skip}
    unknown = unknown_arguments(cls, kwargs)
    if unknown:
        accepted = ", ".join(inspect.signature(cls).parameters)
        reason = f"not an argument of {cls.__name__} (it takes {accepted})"
        raise StoredConfigError((*path, unknown[0]), kwargs[unknown[0]], reason)
    return kwargs


def build_network(config: dict[str, Any]) -> nn.Module:
    """The network of a validated stored config (untrained)."""
    net = config["model"]["net"]
    return slots()[("model", "net")].allowed[net["_target_"]](**_arguments(net, ("model", "net")))


def build_module(config: dict[str, Any]) -> nn.Module:
    """The LightningModule of a validated stored config, for inference: no optimizer or
    scheduler is built (the module keeps its default, unused)."""
    model = config["model"]
    kwargs = _arguments(model, ("model",), skip=("net", "optimizer", "scheduler"))
    return slots()[("model",)].allowed[model["_target_"]](net=build_network(config), **kwargs)


def data_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The data module's settings of a validated stored config, as plain keyword arguments."""
    return _arguments(config["data"], ("data",))
