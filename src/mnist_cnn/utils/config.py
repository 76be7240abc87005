"""Where the configs live, the resolvers they use, and building objects from config groups."""

from __future__ import annotations

import functools
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


@functools.cache  # Hydra may resolve the run folder more than once: one folder per process
def unique_dir(base: str) -> str:
    """Create and return `<base>_<pid>`, or `<base>_<pid>-2`, -3... if taken.

    mkdir is atomic, also on a shared filesystem, so two runs never share a folder: not when
    they start in the same second on two machines, nor when a process id is reused (containers
    often run every job as the same pid).
    """
    Path(base).parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, 1000):
        path = f"{base}_{os.getpid()}" + (f"-{attempt}" if attempt > 1 else "")
        try:
            os.mkdir(path)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"{base}_{os.getpid()}: 999 folders of that name exist already.")


def register_resolvers() -> None:
    """`${unique_dir:BASE}` gives each run a folder of its own (see unique_dir)."""
    OmegaConf.register_new_resolver("unique_dir", unique_dir, replace=True)


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate each entry of a `name: {_target_: ...}` group (callbacks, loggers)."""
    if not group:
        return []
    return [instantiate(node) for node in group.values() if node and "_target_" in node]
