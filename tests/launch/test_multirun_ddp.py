"""Lightning's DDP command line is replaced only where it would restart the sweep."""

from __future__ import annotations

import importlib

import lightning as L
import pytest

from mnist_cnn import private_apis
from mnist_cnn.launch.multirun_ddp import job_command, relaunch_ddp_processes_as_single_runs
from tests.fixtures import compose_config


@pytest.mark.parametrize(
    ("mode", "devices", "patched"),
    [("MULTIRUN", 2, True), ("MULTIRUN", 1, False), ("RUN", 2, False)],
)
def test_the_ddp_patch_is_installed_only_for_multirun_jobs_on_several_devices(
    mode, devices, patched, tmp_path, monkeypatch
):
    launcher = importlib.import_module(private_apis._LAUNCHER)
    lightnings = launcher._hydra_subprocess_cmd
    monkeypatch.setattr(launcher, "_hydra_subprocess_cmd", lightnings)  # undone after the test
    compose_config("train", [f"hydra.mode={mode}"], tmp_path)  # sets HydraConfig, as a job has
    strategy = "ddp" if devices > 1 else "auto"
    trainer = L.Trainer(accelerator="cpu", devices=devices, strategy=strategy, logger=False)
    assert relaunch_ddp_processes_as_single_runs(trainer) is patched
    assert private_apis.hydra_subprocess_cmd() is (job_command if patched else lightnings)
