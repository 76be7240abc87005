"""hparams_search=optuna: a persistent study shared by several sweeps, pruning per epoch,
killed trials marked failed, bad input refused before any training."""

import csv
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from mnist_cnn.extras.optuna.storage import open_storage
from mnist_cnn.extras.optuna.study import open_study
from mnist_cnn.extras.optuna.sweeper import OptunaSweeper
from tests.fixtures import REPO, run_cli

QUICK = [
    "trainer.accelerator=cpu", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1", "logger=none", "callbacks.learning_report=null",
]  # fmt: skip
# A search space given on the command line (it replaces the configured one key by key), with
# learning rates so small that nothing is learnt: every trial is hopeless.
HOPELESS = [
    "model.optimizer.lr=tag(log, interval(1e-9, 1e-8))", "data.batch_size=choice(64)",
    "model.net.dropout=interval(0.0, 0.1)",
]  # fmt: skip
SPACE = {
    "model.optimizer.lr": FloatDistribution(1e-9, 1e-8, log=True),
    "data.batch_size": CategoricalDistribution([64]),
    "model.net.dropout": FloatDistribution(0.0, 0.1),
}


def _sweep(tiny_data_dir, tmp_path, storage, *overrides):
    return [
        sys.executable, str(REPO / "train.py"), "-m", "hparams_search=optuna",
        f"hydra.sweeper.storage={storage}", "hydra.sweeper.study_name=s",
        f"data.data_dir={tiny_data_dir}", f"paths.log_dir={tmp_path}", *QUICK, *overrides,
    ]  # fmt: skip


def _statuses(sweep_dir):
    with open(sweep_dir / "summary.csv") as f:
        return [row["status"] for row in csv.DictReader(f)]


def _study_with_a_good_trial(storage, direction="maximize"):
    study = optuna.create_study(storage=storage, study_name="s", direction=direction)
    params = {"model.optimizer.lr": 1e-9, "data.batch_size": 64, "model.net.dropout": 0.0}
    good = {0: 0.9, 1: 0.95, 2: 0.97}  # val/acc_best of a well-chosen earlier trial per epoch
    study.add_trial(create_trial(params=params, distributions=SPACE, value=0.97,
                                 intermediate_values=good))  # fmt: skip
    return study


@pytest.mark.slow
def test_two_sweeps_at_once_feed_one_study_and_hopeless_trials_are_pruned(tiny_data_dir, tmp_path):
    """One sweep runs its trials in-process, the other two at a time with submitit_local."""
    storage = f"sqlite:///{tmp_path}/study.db"
    _study_with_a_good_trial(storage)  # trial 0, as if from an earlier run of the command
    common = [*HOPELESS, "hydra.sweeper.n_trials=2", "trainer.max_epochs=3",
              "callbacks.optuna_pruning.n_startup_trials=1"]  # fmt: skip
    sweeps = {
        "basic": [f"hydra.sweep.dir={tmp_path / 'basic'}"],
        "local": [f"hydra.sweep.dir={tmp_path / 'local'}", "hydra/launcher=submitit_local",
                  "hydra.sweeper.n_jobs=2"],
    }  # fmt: skip
    running = [
        subprocess.Popen(_sweep(tiny_data_dir, tmp_path, storage, *common, *extra), cwd=REPO,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for extra in sweeps.values()
    ]  # fmt: skip
    for process in running:
        assert process.wait(timeout=600) == 0, process.stderr.read()[-3000:]

    trials = optuna.load_study(study_name="s", storage=storage).trials
    assert [trial.number for trial in trials] == [0, 1, 2, 3, 4]  # none lost, none twice
    # Every hopeless trial reported epoch 0 and was stopped there, 2 of its 3 epochs unrun.
    assert [trial.state for trial in trials[1:]] == [TrialState.PRUNED] * 4
    assert [list(trial.intermediate_values) for trial in trials[1:]] == [[0]] * 4
    assert all(trial.intermediate_values[0] < 0.9 for trial in trials[1:])
    for name in sweeps:
        assert _statuses(tmp_path / name) == ["pruned", "pruned"]
    assert (tmp_path / "local" / ".submitit").is_dir()


@pytest.mark.slow
def test_a_killed_sweeps_trial_is_failed_by_the_next_run_which_continues_the_study(
    tiny_data_dir, tmp_path
):
    """Heartbeats every second; the storage is a SQLite file given as a plain path."""
    storage = tmp_path / "optuna" / "s.db"
    command = _sweep(tiny_data_dir, tmp_path, storage, "hydra.sweeper.n_trials=1",
                     "hydra.sweeper.heartbeat_interval_s=1", "hydra.sweeper.grace_period_s=3",
                     "test=false")  # fmt: skip
    first = subprocess.Popen([*command, "trainer.max_epochs=50"], cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and first.poll() is None:
            if storage.exists() and _running(storage):
                break
            time.sleep(0.2)
        assert first.poll() is None, "the sweep ended before its trial was seen running"
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    time.sleep(4)  # longer than grace_period_s: the killed sweep's heartbeat is stale

    rerun = run_cli(*command[1:], "trainer.max_epochs=1")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "Trial 0: no heartbeat" in rerun.stdout + rerun.stderr
    trials = optuna.load_study(study_name="s", storage=open_storage(storage)).trials
    assert [(t.number, t.state) for t in trials] == [(0, TrialState.FAIL), (1, TrialState.COMPLETE)]


def _running(storage):
    study = optuna.load_study(study_name="s", storage=open_storage(storage))
    return study.get_trials(states=(TrialState.RUNNING,))


@pytest.mark.slow
def test_a_sweep_for_another_direction_is_refused_before_training_and_the_study_kept(
    tiny_data_dir, tmp_path
):
    """The command-line path of every check below (they run before any job starts)."""
    storage = f"sqlite:///{tmp_path}/study.db"
    _study_with_a_good_trial(storage)
    sweep_dir = tmp_path / "sweep"
    overrides = [*HOPELESS, "hydra.sweeper.direction=minimize", f"hydra.sweep.dir={sweep_dir}"]
    result = run_cli(*_sweep(tiny_data_dir, tmp_path, storage, *overrides)[1:])
    assert result.returncode != 0 and "created with direction=maximize" in result.stderr
    assert not (sweep_dir / "0").exists()  # no job started
    (trial,) = optuna.load_study(study_name="s", storage=storage).trials
    assert trial.state == TrialState.COMPLETE and trial.value == 0.97


def test_a_storage_that_cannot_be_opened_is_named_with_the_fix(tmp_path):
    (tmp_path / "file").write_text("")
    for storage in ("nosuchdb://host/x", f"{tmp_path}/file/study.db", f"{tmp_path}/file/s.log"):
        with pytest.raises(ValueError, match="cannot open this Optuna storage") as error:
            open_storage(storage)
        assert storage.split("/")[-1] in str(error.value) and "sqlite:///" in str(error.value)


def test_a_journal_file_holds_a_study_for_workers_on_a_shared_filesystem(tmp_path):
    storage = open_storage(tmp_path / "nfs" / "study.log")
    assert isinstance(storage, optuna.storages.JournalStorage)
    _study_with_a_good_trial(storage)
    (trial,) = optuna.load_study(
        study_name="s", storage=open_storage(tmp_path / "nfs/study.log")
    ).trials
    assert trial.intermediate_values == {0: 0.9, 1: 0.95, 2: 0.97}


def test_other_search_spaces_and_trial_counts_are_refused_before_anything_is_asked(tmp_path):
    storage = open_storage(tmp_path / "study.db")
    study = _study_with_a_good_trial(storage)
    narrower = {**SPACE, "model.net.dropout": FloatDistribution(0.0, 0.05)}
    with pytest.raises(ValueError, match="searched another space"):
        open_study(storage, "s", "maximize", None, narrower, "here")
    assert open_study(storage, "s", "maximize", None, SPACE, "here").trials == study.trials
    for bad in ({"n_trials": 0}, {"n_trials": -3}, {"n_jobs": 0}):
        with pytest.raises(ValueError, match=f"hydra.sweeper.{next(iter(bad))}=.*positive"):
            OptunaSweeper(storage="x.db", study_name="s", **bad)
