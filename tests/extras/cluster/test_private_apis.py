"""Each Lightning internal the cluster extra relies on (its private_apis) still exists and still
means what we use it for; a failure names the internal and the Lightning version that moved it."""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess

from mnist_cnn.extras.cluster import private_apis as api
from mnist_cnn.private_apis import moved


def test_lightning_asks_hydra_subprocess_cmd_for_each_ddp_process():
    message = moved("lightning", "_hydra_subprocess_cmd")
    assert list(inspect.signature(api.hydra_subprocess_cmd()).parameters) == ["local_rank"], message
    launcher = importlib.import_module(api.LAUNCHER)._SubprocessScriptLauncher
    # Looked up as a module global at launch time, so replacing it there takes effect.
    assert "_hydra_subprocess_cmd(local_rank)" in inspect.getsource(launcher), message


def test_set_hydra_subprocess_cmd_replaces_lightnings(monkeypatch):
    module = importlib.import_module(api.LAUNCHER)
    monkeypatch.setattr(module, "_hydra_subprocess_cmd", module._hydra_subprocess_cmd)

    def command(local_rank: int):
        return ["true"], "."

    api.set_hydra_subprocess_cmd(command)
    assert api.hydra_subprocess_cmd() is command


def test_the_ddp_watchdog_keeps_its_processes_in_a_list():
    processes: list = []
    observer = api.child_process_observer()(main_pid=os.getpid(), child_processes=processes)
    assert api.watched_processes(observer) is processes


def test_the_patched_watchdog_ends_the_other_processes_and_spares_this_one(monkeypatch):
    observer_class = api.child_process_observer()
    monkeypatch.setattr(observer_class, "_terminate_all", observer_class._terminate_all)
    api.watchdog_spares_this_process()
    failed = subprocess.Popen(["false"])
    failed.wait()
    peer = subprocess.Popen(["sleep", "60"])
    observer = observer_class(main_pid=os.getpid(), child_processes=[failed, peer])
    assert observer._run() is True, moved("lightning", "_ChildProcessObserver._run")
    # Unpatched, Lightning would have SIGKILLed this very process (pytest) by now.
    assert peer.wait(timeout=10) == -9, moved("lightning", "_ChildProcessObserver._run")
