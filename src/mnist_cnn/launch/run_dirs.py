"""Run folders: each run gets a folder of its own, and the processes of one torchrun or srun
launch share one. Hydra reads them through the `${run_dir:...}` and `${unique_dir:...}`
resolvers."""

from __future__ import annotations

import functools
import os
from datetime import datetime
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf


def launch_name() -> str | None:
    """The name shared by every process of one torchrun or srun launch, else None.

    torchrun (rendezvous id) and SLURM (job id, and step id under srun) start one process per
    device, each reading the config itself; the ids they share give one folder, and a requeued
    SLURM job finds its own folder again.
    """
    torchrun_id = os.environ.get("TORCHELASTIC_RUN_ID")
    if torchrun_id and torchrun_id != "none":  # "none": static rendezvous, no shared id
        return f"torchrun-{torchrun_id}"
    from lightning.pytorch.plugins.environments import SLURMEnvironment  # slow import

    if SLURMEnvironment.detect():
        step = os.environ.get("SLURM_STEP_ID")
        return f"slurm-{SLURMEnvironment.job_id()}" + (f".{step}" if step else "")
    return None


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


@functools.cache
def run_dir(parent: str) -> str:
    """`<parent>/<launch name>` for torchrun and srun launches, else a new unique folder
    `<parent>/<date>_<time>_<pid>`."""
    shared = launch_name()
    if shared:
        return str(Path(parent) / shared)
    return unique_dir(f"{parent}/{datetime.now():%Y-%m-%d_%H-%M-%S}")


def sweep_dir() -> str:
    """The folder of the multirun this job belongs to, or "" for a single run (or outside
    Hydra)."""
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return ""
    # The job's folder is <sweep dir>/<job number>. Re-resolving hydra.sweep.dir instead would,
    # in a submitit job's own process, make a new unique_dir.
    return str(Path(HydraConfig.get().runtime.output_dir).parent)


def register_resolvers() -> None:
    """`${run_dir:PARENT}` and `${unique_dir:BASE}`: a folder of its own for each run;
    `${sweep_dir:}`: the sweep a job belongs to (trackers group and tag by it)."""
    OmegaConf.register_new_resolver("run_dir", run_dir, replace=True)
    OmegaConf.register_new_resolver("unique_dir", unique_dir, replace=True)
    OmegaConf.register_new_resolver("sweep_dir", sweep_dir, replace=True)
