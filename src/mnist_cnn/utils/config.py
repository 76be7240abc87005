"""Where the configs live, the resolvers they use, and building objects from config groups."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

_PACKAGE_DIR = Path(__file__).resolve().parents[1]
# A wheel ships the configs inside the package; a source checkout (editable install) has ./conf.
CONFIG_DIR = (
    _PACKAGE_DIR / "conf" if (_PACKAGE_DIR / "conf").is_dir() else _PACKAGE_DIR.parents[1] / "conf"
)


def run_name() -> str:
    """The run folder's name, one for all processes of a launch.

    torchrun (rendezvous id) and SLURM (job id, and step id under srun) start one process per
    device, each reading the config itself; the ids they share give one folder, and a requeued
    SLURM job finds its own folder again. Otherwise `<date>_<time>_<pid>`.
    """
    torchrun_id = os.environ.get("TORCHELASTIC_RUN_ID")
    if torchrun_id and torchrun_id != "none":  # "none": static rendezvous, no shared id
        return f"torchrun-{torchrun_id}"
    from lightning.pytorch.plugins.environments import SLURMEnvironment  # slow import

    if SLURMEnvironment.detect():
        step = os.environ.get("SLURM_STEP_ID")
        return f"slurm-{SLURMEnvironment.job_id()}" + (f".{step}" if step else "")
    return f"{datetime.now():%Y-%m-%d_%H-%M-%S}_{os.getpid()}"


def register_resolvers() -> None:
    """`${pid:}` keeps sweep folders unique when two start in the same second; `${run_name:}`."""
    OmegaConf.register_new_resolver("pid", os.getpid, use_cache=True, replace=True)
    OmegaConf.register_new_resolver("run_name", run_name, use_cache=True, replace=True)


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate each entry of a `name: {_target_: ...}` group (callbacks, loggers)."""
    if not group:
        return []
    return [instantiate(node) for node in group.values() if node and "_target_" in node]
