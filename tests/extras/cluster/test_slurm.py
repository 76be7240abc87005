"""Multiruns as real SLURM jobs (hydra/launcher=slurm) on the one-node cluster that
src/mnist_cnn/extras/cluster/local_slurm.sh starts; a grid sweep, and an Optuna study fed by
SLURM jobs."""

import optuna
import pytest
from optuna.trial import TrialState

from tests.fixtures import QUICK_JOB, run_cli, summary_rows

QUICK = [*QUICK_JOB, "trainer.devices=1"]
# The local cluster has 2 CPUs and no GPU: two one-CPU jobs run side by side.
ON_SLURM = [
    "hydra/launcher=slurm", "hydra.launcher.gpus_per_node=0", "hydra.launcher.cpus_per_task=1",
    "hydra.launcher.timeout_min=10",
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    "sweep",
    [["model.optimizer.lr=1e-3,3e-3"], ["hparams_search=optuna", "hydra.sweeper.n_trials=2",
                                        "hydra.sweeper.n_jobs=2", "hydra.sweeper.study_name=s"]],
    ids=["grid", "optuna"],
)  # fmt: skip
def test_a_sweep_runs_as_slurm_jobs(slurm_partition, tiny_data_dir, tmp_path, sweep):
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        "train.py", "-m", *sweep, *ON_SLURM, f"hydra.launcher.partition={slurm_partition}",
        f"data.data_dir={tiny_data_dir}", *QUICK, f"paths.log_dir={tmp_path}",
        f"hydra.sweep.dir={sweep_dir}", timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = summary_rows(sweep_dir)
    assert [row["status"] for row in rows] == ["completed", "completed"]
    # submitit's sbatch logs: one real SLURM job id per job.
    logs = sorted((sweep_dir / ".submitit").glob("*/*_log.out"))
    assert len({log.parent.name for log in logs}) == 2
    if "hparams_search=optuna" in sweep:
        storage = f"sqlite:///{tmp_path}/optuna/s.db"  # the default place for study s
        trials = optuna.load_study(study_name="s", storage=storage).trials
        assert [trial.state for trial in trials] == [TrialState.COMPLETE] * 2
        values = sorted(float(row["val/acc_best"]) for row in rows)
        assert sorted(trial.value for trial in trials) == pytest.approx(values)
        assert all(list(trial.intermediate_values) == [0] for trial in trials)
