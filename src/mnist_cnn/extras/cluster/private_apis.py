"""The Lightning internals the multirun + DDP handling relies on, each behind one function
(checked with Lightning 2.6, as mnist_cnn.private_apis; tests/extras/cluster/test_private_apis.py
fails, naming the internal, when one moves):

- `_hydra_subprocess_cmd` (strategies/launchers/subprocess_script.py): the command line of each
  extra DDP process under Hydra;
- `_ChildProcessObserver._child_processes` and `._terminate_all`: Lightning's watchdog over them.
"""

from __future__ import annotations

import importlib
import subprocess
import threading
from collections.abc import Callable, Sequence

from mnist_cnn.private_apis import PrivateAPIMoved, lookup, moved

LAUNCHER = "lightning.pytorch.strategies.launchers.subprocess_script"

DDPCommand = Callable[[int], tuple[Sequence[str], str]]


def hydra_subprocess_cmd() -> DDPCommand:
    """The function Lightning asks for each extra DDP process's command line under Hydra."""
    return lookup("lightning", LAUNCHER, "_hydra_subprocess_cmd")


def set_hydra_subprocess_cmd(command: DDPCommand) -> None:
    """Make Lightning start extra DDP processes with `command(local_rank) -> (argv, cwd)`."""
    launcher = importlib.import_module(LAUNCHER)
    hydra_subprocess_cmd()  # fails loudly if Lightning no longer looks it up there
    launcher._hydra_subprocess_cmd = command


def child_process_observer() -> type[threading.Thread]:
    """Lightning's watchdog thread over the extra DDP processes of this process."""
    module = "lightning.fabric.strategies.launchers.subprocess_script"
    return lookup("lightning", module, "_ChildProcessObserver")


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
