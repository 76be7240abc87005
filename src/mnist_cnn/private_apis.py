"""Every library internal this project relies on, in one place, each behind one function.

- Lightning's `_hydra_subprocess_cmd` (strategies/launchers/subprocess_script.py) and
  `_ChildProcessObserver._child_processes` and `._terminate_all`: launch/multirun_ddp.py;
- Hydra's `JobReturn._return_value`: launch/sweep_summary.py;
- Lightning's `trainer.fit_loop.epoch_loop.batch_progress` and `lightning.pytorch.overrides`
  (not in Lightning's public API reference): data/datamodule.py.
- torch's `torch.ops.mkldnn._is_mkldnn_bf16_supported` (checked with torch 2.4-2.14): used once,
  in models/module.py (`cpu_bf16_is_fast`; the network layer imports nothing above it);
  tests/models/test_speed_ops.py fails when it moves.

Checked against the versions in `CHECKED`; pyproject.toml accepts only those minor versions and
tests/test_private_apis.py fails, naming the internal, when one moves. To move to a new
release: run that test, adapt the function here, add the version to `CHECKED`, widen the bound.
"""

from __future__ import annotations

import importlib
import subprocess
import threading
from collections.abc import Callable, Sequence
from importlib.metadata import version
from typing import Any

# Distribution name → the minor versions whose internals were checked (by the tests above).
CHECKED = {"lightning": ("2.6",), "hydra-core": ("1.3",)}
_LABEL = {"lightning": "Lightning", "hydra-core": "Hydra"}
_LAUNCHER = "lightning.pytorch.strategies.launchers.subprocess_script"

DDPCommand = Callable[[int], tuple[Sequence[str], str]]


class PrivateAPIMoved(ImportError):
    """A library release renamed, moved or changed an internal this project relies on."""


def moved(library: str, name: str) -> str:
    """The message for `library`'s internal `name` no longer being where it was."""
    checked = ", ".join(CHECKED[library])
    return (
        f"{_LABEL[library]} {version(library)} moved `{name}` (checked with {checked}); "
        f"see src/mnist_cnn/private_apis.py, or install {library} {checked}.x."
    )


def _lookup(library: str, module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise PrivateAPIMoved(moved(library, name)) from err


def hydra_subprocess_cmd() -> DDPCommand:
    """The function Lightning asks for each extra DDP process's command line under Hydra."""
    return _lookup("lightning", _LAUNCHER, "_hydra_subprocess_cmd")


def set_hydra_subprocess_cmd(command: DDPCommand) -> None:
    """Make Lightning start extra DDP processes with `command(local_rank) -> (argv, cwd)`."""
    launcher = importlib.import_module(_LAUNCHER)
    hydra_subprocess_cmd()  # fails loudly if Lightning no longer looks it up there
    launcher._hydra_subprocess_cmd = command


def child_process_observer() -> type[threading.Thread]:
    """Lightning's watchdog thread over the extra DDP processes of this process."""
    module = "lightning.fabric.strategies.launchers.subprocess_script"
    return _lookup("lightning", module, "_ChildProcessObserver")


def watched_processes(observer: threading.Thread) -> list[subprocess.Popen]:
    """The watchdog's list of processes; emptying it tells the watchdog all ended well."""
    try:
        return observer._child_processes
    except AttributeError as err:
        raise PrivateAPIMoved(moved("lightning", "_ChildProcessObserver._child_processes")) from err


def watchdog_spares_this_process() -> None:
    """Make Lightning's DDP watchdog, when an extra process fails, end the others but no longer
    SIGKILL this one (in a multirun: the whole sweep)."""
    observer = child_process_observer()
    if not callable(getattr(observer, "_terminate_all", None)):
        raise PrivateAPIMoved(moved("lightning", "_ChildProcessObserver._terminate_all"))
    observer._terminate_all = _end_watched_processes


def _end_watched_processes(observer: threading.Thread) -> None:
    for process in watched_processes(observer):
        process.kill()


def failed_job_error(job_return: Any) -> BaseException:
    """The exception of a failed Hydra job (`JobReturn.return_value` re-raises it instead)."""
    try:
        return job_return._return_value
    except AttributeError as err:
        raise PrivateAPIMoved(moved("hydra-core", "JobReturn._return_value")) from err


def batches_done_this_epoch(trainer: Any) -> int:
    """How many training batches of the current epoch the trainer has finished."""
    try:
        return trainer.fit_loop.epoch_loop.batch_progress.current.processed
    except AttributeError as err:
        raise PrivateAPIMoved(moved("lightning", "fit_loop.epoch_loop.batch_progress")) from err


def unrepeated_distributed_sampler() -> type:
    """Lightning's DistributedSampler that gives each sample to one rank, with no padding."""
    return _lookup(
        "lightning", "lightning.pytorch.overrides.distributed", "UnrepeatedDistributedSampler"
    )
