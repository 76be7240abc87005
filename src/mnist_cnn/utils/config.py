"""Where the configs live, the resolvers they use, and building objects from config groups."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

_PACKAGE_DIR = Path(__file__).resolve().parents[1]
# A wheel ships the configs inside the package; a source checkout (editable install) has ./conf.
CONFIG_DIR = (
    _PACKAGE_DIR / "conf" if (_PACKAGE_DIR / "conf").is_dir() else _PACKAGE_DIR.parents[1] / "conf"
)


def register_resolvers() -> None:
    """`${pid:}` keeps run folders unique when two runs start in the same second."""
    OmegaConf.register_new_resolver("pid", os.getpid, use_cache=True, replace=True)


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate each entry of a `name: {_target_: ...}` group (callbacks, loggers)."""
    if not group:
        return []
    return [instantiate(node) for node in group.values() if node and "_target_" in node]
