"""DDP inside a Hydra multirun, as a Hydra callback (conf/hydra/cluster/multirun_ddp.yaml).

Lightning starts each extra DDP process with the parent's command line; in a multirun that line
is the whole sweep (`-m lr=1e-3,3e-3`), so every job started a new sweep of its own (Lightning
issue #11300). Here the extra processes get exactly the job's own overrides and folder instead,
as a plain single run. Each job also gets a fresh process group (the next job would join the
finished one's), and a job whose extra process fails no longer ends the sweep (Lightning's
watchdog would kill the main process along with it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from hydra.utils import get_original_cwd, to_absolute_path
from omegaconf import DictConfig

# What Lightning's launcher sets in the first process; left over, the next job would take its
# processes for externally started ones and join the finished job's process group.
LAUNCHER_ENV = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")
# Hydra's command-line flags that take the next argument as their value.
_FLAGS_WITH_VALUE = {"--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd"}


def hydra_flags(argv: Sequence[str]) -> list[str]:
    """Hydra's flags from `argv` (e.g. `--config-name x`), without `-m` and without overrides."""
    flags: list[str] = []
    takes_value = False
    for arg in argv:
        if takes_value or (arg.startswith("-") and arg not in ("-m", "--multirun")):
            flags.append(arg)
            takes_value = arg in _FLAGS_WITH_VALUE and not takes_value
    return flags


def job_command(local_rank: int) -> tuple[list[str], str]:
    """The command line of DDP process `local_rank` > 0: this job alone, in this job's folder."""
    import __main__  # imported here, as Lightning does (lightning issue #15218)

    hydra_config = HydraConfig.get()
    if __main__.__spec__ is None:
        command = [sys.executable, to_absolute_path(sys.argv[0])]
    else:
        command = [sys.executable, "-m", __main__.__spec__.name]
    command += hydra_flags(sys.argv[1:])
    command += list(hydra_config.overrides.task)
    command += [
        f'hydra.run.dir="{hydra_config.runtime.output_dir}"',
        "hydra.mode=RUN",  # hparams_search configs set MULTIRUN; each process is one run
        "hydra.output_subdir=null",  # only the first process writes .hydra/
        f"hydra.job.name=train_ddp_process_{local_rank}",
    ]
    return command, get_original_cwd()


class MultirunDDP(Callback):
    """Around every job of a multirun: Lightning starts the job's extra DDP processes with
    `job_command`, and after the job its process group and extra processes are gone and the
    launcher's variables unset. Single runs, and the extra processes themselves, are untouched."""

    def __init__(self, grace_s: float = 30.0) -> None:
        self.grace_s = grace_s  # how long a finished job waits for its extra processes
        self._environment: dict[str, str | None] = {}

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if config.hydra.mode != RunMode.MULTIRUN:
            return
        from mnist_cnn.extras.cluster import private_apis  # imports Lightning

        self._environment = {name: os.environ.get(name) for name in LAUNCHER_ENV}
        private_apis.set_hydra_subprocess_cmd(job_command)
        # A failed extra process fails its job; the watchdog would SIGKILL the sweep too,
        # whenever its 5 s poll fell between that failure and the end of the job (seen in CI).
        private_apis.watchdog_spares_this_process()

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        if config.hydra.mode != RunMode.MULTIRUN:
            return
        import torch.distributed

        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        _end_extra_processes(self.grace_s)
        for name, value in self._environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _end_extra_processes(grace_s: float) -> None:
    """Wait for (or end) the job's extra DDP processes, then leave the watchdog none to watch."""
    from mnist_cnn.extras.cluster import private_apis

    observer = private_apis.child_process_observer()
    for thread in threading.enumerate():
        if isinstance(thread, observer):
            processes = private_apis.watched_processes(thread)
            for process in processes:
                try:
                    process.wait(timeout=grace_s)
                except subprocess.TimeoutExpired:  # e.g. waiting for a peer that failed
                    process.kill()
                    process.wait()
            processes.clear()  # an empty list reads as "all ended well"
