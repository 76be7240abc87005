"""A checkpoint's stored config is data, never a program: validated whole against what train.py
writes, then built only from the classes registered in mnist_cnn.models.registry.

What train.py stores (`stored_config`): `model` (LightningModule, its `net`, `optimizer` and
`scheduler`), `data` (the data module's settings) and plain values. A `_target_` may stand only in
those five places and must name a registered class exactly; Hydra's other special keys are
refused, except `_partial_: true` on the optimizer and scheduler, which train.py writes itself.
"""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from mnist_cnn.data import MnistDataModule
from mnist_cnn.models import NETWORKS
from mnist_cnn.models.registry import MODULES, OPTIMIZERS, SCHEDULERS, target_names

KeyPath = tuple[str, ...]
# Where train.py writes a _target_, and what may stand there.
SLOTS: dict[KeyPath, tuple[str, dict[str, type]]] = {
    ("model",): ("LightningModule", target_names(MODULES)),
    ("model", "net"): ("network", target_names(NETWORKS)),
    ("model", "optimizer"): ("optimizer", target_names(OPTIMIZERS)),
    ("model", "scheduler"): ("scheduler", target_names(SCHEDULERS)),
    # The data module's name before it was renamed; only its settings are ever read.
    ("data",): (
        "data module",
        {**target_names((MnistDataModule,)), "mnist_cnn.data.MNISTDataModule": MnistDataModule},
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
        if path in SLOTS and "_target_" not in node:
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
        if parent not in SLOTS:
            raise StoredConfigError(path, value, "no class may be named here")
        kind, allowed = SLOTS[parent]
        if value not in allowed:
            raise StoredConfigError(path, value, _unregistered(kind, allowed))
    elif key == "_partial_":
        if parent not in PARTIAL_SLOTS or value is not True:
            raise StoredConfigError(path, value, "Hydra's _partial_ is refused here")
    elif key in HYDRA_KEYS:
        raise StoredConfigError(path, value, f"Hydra's {key} is never accepted from a file")
    else:
        _check(value, path)


def _unregistered(kind: str, allowed: dict[str, type]) -> str:
    accepted = ", ".join(sorted({name for name, cls in allowed.items() if name.count(".") <= 2}))
    where = "NETWORKS in models/__init__.py" if kind == "network" else "models/registry.py"
    hint = f' Your own {kind}? Register its class in {where} (README, "Make it yours").'
    return f"not a registered {kind} (accepted: {accepted}).{hint}"


def _arguments(node: dict[str, Any], path: KeyPath, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The constructor arguments of a validated node, checked against the class's signature."""
    cls = SLOTS[path][1][node["_target_"]]
    kwargs = {k: v for k, v in node.items() if k not in HYDRA_KEYS and k not in skip}
    accepted = inspect.signature(cls).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        unknown = sorted(set(kwargs) - set(accepted))
        if unknown:
            raise StoredConfigError(
                (*path, unknown[0]),
                kwargs[unknown[0]],
                f"not an argument of {cls.__name__} (it takes {', '.join(accepted)})",
            )
    return kwargs


def check_registered_network(net: dict[str, Any]) -> None:
    """Raise StoredConfigError unless `net` (a resolved `model.net`) names a registered network
    and only arguments it takes: what a checkpoint of the run must pass to load again."""
    _check_key("_target_", net.get("_target_"), ("model", "net", "_target_"))
    _arguments(net, ("model", "net"))


def build_network(config: dict[str, Any]) -> nn.Module:
    """The network of a validated stored config (untrained)."""
    net = config["model"]["net"]
    return SLOTS[("model", "net")][1][net["_target_"]](**_arguments(net, ("model", "net")))


def build_module(config: dict[str, Any]) -> nn.Module:
    """The LightningModule of a validated stored config, for inference: no optimizer or
    scheduler is built (the module keeps its default, unused)."""
    model = config["model"]
    kwargs = _arguments(model, ("model",), skip=("net", "optimizer", "scheduler"))
    return SLOTS[("model",)][1][model["_target_"]](net=build_network(config), **kwargs)


def data_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The data module's settings of a validated stored config, as plain keyword arguments."""
    return _arguments(config["data"], ("data",))
