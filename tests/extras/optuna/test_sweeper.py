"""hparams_search=optuna: a persistent study shared by several sweeps, pruning per epoch,
killed trials marked failed, bad input refused before any training, the failure rate that stops
a sweep, the grid sampler, and each sampler of hydra/sweeper/sampler."""

import inspect
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from mnist_cnn.cli import CONFIG_DIR, register_resolvers
from mnist_cnn.extras.optuna.storage import open_storage
from mnist_cnn.extras.optuna.study import open_study
from mnist_cnn.extras.optuna.sweeper import OptunaSweeper
from tests.fixtures import REPO, run_cli, summary_rows

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
    return [row["status"] for row in summary_rows(sweep_dir)]


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

    # A short rerun: the study then holds trials of two budgets, which it is told to accept.
    rerun = run_cli(
        *command[1:], "trainer.max_epochs=1", "hydra.sweeper.allow_changed_settings=true"
    )
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "Trial 0: no heartbeat" in rerun.stdout + rerun.stderr
    trials = optuna.load_study(study_name="s", storage=open_storage(storage)).trials
    assert [(t.number, t.state) for t in trials] == [(0, TrialState.FAIL), (1, TrialState.COMPLETE)]


def _running(storage):
    study = optuna.load_study(study_name="s", storage=open_storage(storage))
    return study.get_trials(states=(TrialState.RUNNING,))


def test_a_sweep_for_another_direction_is_refused_before_training_and_the_study_kept(sweep, capsys):
    """The command-line path of every check below (they run before any job starts)."""
    storage = f"sqlite:///{sweep.root}/study.db"
    _study_with_a_good_trial(storage)
    overrides = [*HOPELESS, "hydra.sweeper.direction=minimize", f"hydra.sweeper.storage={storage}"]
    assert sweep("sweep", "hparams_search=optuna", "hydra.sweeper.study_name=s", *overrides) == 1
    error = capsys.readouterr().err
    assert "created with direction=maximize" in error and "Traceback" not in error
    assert not (sweep.root / "sweep" / "0").exists()  # no job started
    (trial,) = optuna.load_study(study_name="s", storage=storage).trials
    assert trial.state == TrialState.COMPLETE and trial.value == 0.97


@pytest.mark.parametrize(("max_failure_rate", "trials"), [(0.5, 1), (1.0, 3)])
def test_a_sweep_stops_with_the_errors_once_too_many_trials_fail(
    sweep, capsys, max_failure_rate, trials
):
    """Hydra's plugin's case: every trial fails (here lr < 0); 1.0 never stops the sweep."""
    status = sweep(
        "sweep", "hparams_search=optuna", "hydra.sweeper.n_trials=3", "hydra.sweeper.study_name=s",
        "model.optimizer.lr=choice(-1.0, -2.0)",
        f"hydra.sweeper.max_failure_rate={max_failure_rate}",
    )  # fmt: skip
    error = capsys.readouterr().err
    study = optuna.load_study(study_name="s", storage=open_storage(sweep.root / "optuna/s.db"))
    assert [trial.state for trial in study.trials] == [TrialState.FAIL] * trials
    assert _statuses(sweep.root / "sweep") == ["failed"] * trials
    if max_failure_rate < 1.0:
        assert status == 1 and "1 of this sweep's 1 trials failed, so it stops" in error
        assert "trial 0: UserError: Invalid learning rate" in error
    else:
        assert status == 0 and "so it stops" not in error
    results = OmegaConf.load(sweep.root / "sweep" / "optimization_results.yaml")
    assert results.trials == {"FAIL": trials} and "best_value" not in results


def test_the_grid_sampler_runs_each_point_once_and_a_failure_below_the_rate_is_kept(sweep, capsys):
    """Two points, one failing, in one batch of 2 (n_trials=10 is cut to the grid's size):
    1 of 2 is not more than max_failure_rate=0.5. A rerun finds the grid done."""
    search = [
        "hparams_search=optuna", "hydra/sweeper/sampler=grid", "hydra.sweeper.sampler.seed=0",
        "hydra.sweeper.study_name=s", "hydra.sweeper.n_trials=10", "hydra.sweeper.n_jobs=2",
        "model.optimizer.lr=choice(0.001, -1.0)", "data.batch_size=64", "model.net.dropout=0.5",
    ]  # fmt: skip
    assert sweep("grid", *search) == 0
    study = optuna.load_study(study_name="s", storage=open_storage(sweep.root / "optuna/s.db"))
    outcome = {trial.params["model.optimizer.lr"]: trial.state for trial in study.trials}
    assert outcome == {0.001: TrialState.COMPLETE, -1.0: TrialState.FAIL}
    assert sorted(_statuses(sweep.root / "grid")) == ["completed", "failed"]
    results = OmegaConf.load(sweep.root / "grid" / "optimization_results.yaml")
    assert results.best_params == {"model.optimizer.lr": 0.001} and results.name == "optuna"
    capsys.readouterr()
    assert sweep("again", *search) == 0
    assert "every point of the grid has been tried" in capsys.readouterr().out
    assert len(study.trials) == 2 and not (sweep.root / "again" / "0").exists()


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


def test_other_spaces_metrics_and_trial_counts_are_refused_before_anything_is_asked(tmp_path):
    storage = open_storage(tmp_path / "study.db")
    study = _study_with_a_good_trial(storage)
    narrower = {**SPACE, "model.net.dropout": FloatDistribution(0.0, 0.05)}
    with pytest.raises(ValueError, match="searched another space"):
        open_study(storage, "s", ["maximize"], None, narrower, "here")
    assert open_study(storage, "s", ["maximize"], None, SPACE, "here").trials == study.trials
    both = ["maximize", "minimize"]
    open_study(storage, "two", both, None, {}, "here", metrics=["val/acc_best", "params"])
    with pytest.raises(ValueError, match=r"optimised optimized_metric=\[val/acc_best, params\]"):
        open_study(storage, "two", both, None, {}, "here", metrics=["val/acc_best", "fit_time_s"])
    for bad in ({"n_trials": 0}, {"n_trials": -3}, {"n_jobs": 0}, {"max_failure_rate": 1.5}):
        with pytest.raises(ValueError, match=f"hydra.sweeper.{next(iter(bad))}=.*(positive|0, 1)"):
            OptunaSweeper(storage="x.db", study_name="s", **bad)


SAMPLERS = sorted(p.stem for p in (CONFIG_DIR / "hydra" / "sweeper" / "sampler").glob("*.yaml"))


@pytest.mark.parametrize("name", SAMPLERS)
def test_each_sampler_config_mirrors_its_constructor_and_takes_a_seed(name, tmp_path):
    assert SAMPLERS == ["cmaes", "gp", "grid", "nsgaii", "qmc", "random", "tpe"]
    overrides = [f"hydra/sweeper/sampler={name}", "hydra.sweeper.sampler.seed=7"]
    if name == "qmc":
        overrides.append("hydra.sweeper.sampler.scramble=true")  # its seed scrambles
    node = _sweeper([*overrides, f"paths.log_dir={tmp_path}"]).sampler
    target = get_class(node._target_)
    arguments = set(inspect.signature(target).parameters)
    assert set(node) - {"_target_", "_partial_"} <= arguments, name  # no foreign keys
    space = {"x": FloatDistribution(0.0, 1.0)}
    draws = []
    for _ in range(2):  # two samplers of one seed draw the same first trial
        sampler = instantiate(node)
        if name == "grid":  # a partial: the sweeper hands it the grid
            sampler = sampler({"x": [0.0, 0.5, 1.0]})
        assert type(sampler) is target
        draws.append(optuna.create_study(sampler=sampler).ask(space).params)
    assert draws[0] == draws[1]
    if name == "cmaes":  # past its first trial CMA-ES itself samples, with the cmaes package
        pytest.importorskip("cmaes", reason="pip install -e '.[optuna]' brings cmaes")
        study = optuna.create_study(sampler=instantiate(node))
        study.optimize(lambda trial: (trial.suggest_float("x", 0.0, 1.0) - 0.3) ** 2, n_trials=4)
        assert len(study.trials) == 4


def _sweeper(overrides):
    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        cfg = compose("train", ["hparams_search=optuna", *overrides], return_hydra_config=True)
    return cfg.hydra.sweeper
