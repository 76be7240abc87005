"""Multiruns of the cluster extra: DDP inside a sweep, submitit launchers, the SLURM launcher's
settings."""

import signal

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from lightning.pytorch.plugins.environments import SLURMEnvironment
from omegaconf import OmegaConf
from submitit.slurm.slurm import _make_sbatch_string

from mnist_cnn.cli import CONFIG_DIR, register_resolvers
from mnist_cnn.extras.cluster.multirun_ddp import hydra_flags
from tests.fixtures import QUICK_JOB, job_dirs, run_cli, summary_rows


@pytest.mark.slow
def test_ddp_inside_a_multirun_leaves_one_folder_per_job_and_survives_a_failed_job(
    tiny_data_dir, tmp_path
):
    """Lightning issue #11300: each DDP job's second process must not start the sweep again;
    and Lightning's watchdog must not end the sweep with a failed DDP job."""
    result = run_cli(
        "train.py", "-m", "trainer.devices=2", "model.optimizer.lr=-1,1e-3",
        f"data.data_dir={tiny_data_dir}", *QUICK_JOB, f"paths.log_dir={tmp_path}",
    )  # fmt: skip
    assert result.returncode != 0  # the sweep reports the failure, after running the next job
    assert not (tmp_path / "train" / "runs").exists()
    (sweep_dir,) = (tmp_path / "train" / "multiruns").iterdir()
    assert job_dirs(sweep_dir) == ["0", "1"], result.stderr[-3000:]
    failed, completed = summary_rows(sweep_dir)
    assert failed["status"] == "failed" and "Invalid learning rate" in failed["error"]
    assert completed["status"] == "completed" and "lr=0.001" in completed["overrides"]
    assert "| failed |" in (sweep_dir / "summary.md").read_text()


@pytest.mark.slow
def test_submitit_local_runs_a_two_job_multirun(tiny_data_dir, tmp_path):
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        "train.py", "-m", "hydra/launcher=submitit_local", "model.optimizer.lr=1e-3,3e-3",
        f"data.data_dir={tiny_data_dir}", *QUICK_JOB, f"hydra.sweep.dir={sweep_dir}",
        f"paths.log_dir={tmp_path}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert job_dirs(sweep_dir) == ["0", "1"] and (sweep_dir / ".submitit").is_dir()
    assert [row["status"] for row in summary_rows(sweep_dir)] == ["completed", "completed"]


def test_slurm_launcher_asks_for_one_task_per_device_and_lightnings_requeue_signal(tmp_path):
    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        overrides = ["hydra/launcher=slurm", "trainer.devices=4", "trainer.num_nodes=2"]
        overrides.append(f"hydra.sweep.dir={tmp_path}")  # resolving it must not touch outputs/
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    # The sbatch script submitit writes from these settings (hydra-submitit-launcher's mapping).
    sbatch = _make_sbatch_string(
        command="python -m submitit.core._submit",
        folder=tmp_path,
        time=launcher["timeout_min"],
        nodes=launcher["nodes"],
        ntasks_per_node=launcher["tasks_per_node"],
        gpus_per_node=launcher["gpus_per_node"],
        cpus_per_task=launcher["cpus_per_task"],
        signal_delay_s=launcher["signal_delay_s"],
        additional_parameters=launcher["additional_parameters"],
    )
    assert "#SBATCH --nodes=2" in sbatch and "#SBATCH --ntasks-per-node=4" in sbatch
    assert "#SBATCH --gpus-per-node=4" in sbatch
    # SLURM's warning signal is the one Lightning's SLURMEnvironment requeues on.
    assert sbatch.count("--signal=") == 1 and "#SBATCH --signal=USR1@120" in sbatch
    assert SLURMEnvironment().requeue_signal == signal.SIGUSR1
    assert launcher["max_num_timeout"] == 0  # submitit does not resubmit on its own


def test_ddp_processes_keep_hydras_flags_but_not_the_sweep():
    argv = ["-m", "--config-name", "train", "lr=1e-3,3e-3", "-cd=conf", "+x=1"]
    assert hydra_flags(argv) == ["--config-name", "train", "-cd=conf"]
