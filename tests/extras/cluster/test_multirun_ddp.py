"""The multirun + DDP Hydra callback: it is in every composed config while the extra is kept,
replaces Lightning's DDP command line only in a multirun job, and undoes the job's traces."""

from __future__ import annotations

import importlib
import os

import pytest

from mnist_cnn.extras.cluster import MultirunDDP, private_apis
from mnist_cnn.extras.cluster.multirun_ddp import LAUNCHER_ENV, job_command
from tests.fixtures import compose_config


@pytest.fixture
def lightnings(monkeypatch):
    """Lightning's own DDP command function, put back after the test."""
    launcher = importlib.import_module(private_apis.LAUNCHER)
    original = launcher._hydra_subprocess_cmd
    monkeypatch.setattr(launcher, "_hydra_subprocess_cmd", original)
    observer = private_apis.child_process_observer()
    monkeypatch.setattr(observer, "_terminate_all", observer._terminate_all)
    return original


def test_the_callback_is_part_of_every_config_while_the_extra_is_kept(tmp_path):
    from hydra import compose, initialize_config_dir

    from mnist_cnn.cli import CONFIG_DIR

    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        hydra = compose("train", return_hydra_config=True).hydra
    assert hydra.callbacks.multirun_ddp._target_ == "mnist_cnn.extras.cluster.MultirunDDP"
    assert "sweep_summary" in hydra.callbacks  # the core's own callback stays beside it


@pytest.mark.parametrize(("mode", "patched"), [("MULTIRUN", True), ("RUN", False)])
def test_the_ddp_command_is_replaced_only_in_a_multirun_job(mode, patched, lightnings, tmp_path):
    config = _with_hydra(compose_config("train", [f"hydra.mode={mode}"], tmp_path))
    MultirunDDP().on_job_start(config)
    assert private_apis.hydra_subprocess_cmd() is (job_command if patched else lightnings)


def test_a_job_leaves_no_launcher_variables_behind(lightnings, tmp_path, monkeypatch):
    config = _with_hydra(compose_config("train", ["hydra.mode=MULTIRUN"], tmp_path))
    monkeypatch.setenv("MASTER_PORT", "1234")  # set before the job: kept as it was
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    callback = MultirunDDP(grace_s=1)
    callback.on_job_start(config)
    os.environ.update(MASTER_PORT="5678", WORLD_SIZE="2", LOCAL_RANK="0")  # what DDP sets
    callback.on_job_end(config, job_return=None)
    assert os.environ["MASTER_PORT"] == "1234"
    assert "WORLD_SIZE" not in os.environ and "LOCAL_RANK" not in os.environ
    assert set(LAUNCHER_ENV) >= {"MASTER_PORT", "WORLD_SIZE", "LOCAL_RANK"}


def test_the_extra_processes_get_the_jobs_own_overrides_and_folder(tmp_path, monkeypatch):
    compose_config("train", ["hydra.mode=MULTIRUN", "seed=3"], tmp_path)
    monkeypatch.setattr("sys.argv", ["train.py", "-m", "seed=1,2,3", "--config-name", "train"])
    command, _ = job_command(local_rank=1)
    # The sweep's -m and seed=1,2,3 are gone; its flags stay; the job's own seed=3 follows.
    assert command[-7:] == [
        "--config-name", "train", "seed=3", f'hydra.run.dir="{tmp_path}"', "hydra.mode=RUN",
        "hydra.output_subdir=null", "hydra.job.name=train_ddp_process_1",
    ]  # fmt: skip


def _with_hydra(config):
    """The job's config as Hydra's callbacks see it: with its `hydra` node."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf, open_dict

    full = OmegaConf.create(OmegaConf.to_container(config))
    with open_dict(full):
        full.hydra = HydraConfig.get()
    return full
