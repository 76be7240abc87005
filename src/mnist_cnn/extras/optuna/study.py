"""The study a sweep feeds: opening it with checks that leave an existing study untouched (its
directions, metrics, search space, fixed settings), telling it each job's outcome, and marking
trials whose sweep died as failed."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import TrialState

from mnist_cnn.extras.optuna.space import override_key

log = logging.getLogger(__name__)
HEARTBEAT = "heartbeat"  # user attribute: unix time the sweep last saw the trial's job alive
# Study user attributes: the fixed overrides it was started with, and the later sweeps that
# ran under other ones (hydra.sweeper.allow_changed_settings=true).
SETTINGS, CHANGES = "fixed_overrides", "changed_settings"
# Where outputs go and which trackers record them: they do not change what a trial trains.
UNCOMPARED = ("logger", "paths.")
DIRECTIONS = ("maximize", "minimize")


def open_study(
    storage: optuna.storages.BaseStorage,
    study_name: str,
    directions: Sequence[str],
    sampler: optuna.samplers.BaseSampler | None,
    space: Mapping[str, BaseDistribution],
    where: str,
    metrics: Sequence[str] | None = None,
) -> optuna.Study:
    """Load or create the study; refuse one that was made for other directions, metrics or
    another search space (before any trial is asked, so nothing in it changes)."""
    for direction in directions:
        if direction not in DIRECTIONS:
            raise ValueError(
                f"hydra.sweeper.direction={direction}: use maximize or minimize, or a list of "
                f"them, one per optimized_metric, e.g. [maximize, minimize]."
            )
    # load_if_exists: a second sweep starting at the same moment loads the first one's study.
    study = optuna.create_study(
        storage=storage, study_name=study_name, directions=list(directions), sampler=sampler,
        load_if_exists=True,
    )  # fmt: skip
    stored = [direction.name.lower() for direction in study.directions]
    fix = "name a new study with hydra.sweeper.study_name=..., or keep its settings"
    if stored != list(directions):
        raise ValueError(
            f"Study '{study_name}' in {where} maximises or minimises otherwise: it was created "
            f"with direction={_listed(stored)}, this sweep asks for {_listed(directions)}. {fix}."
        )
    if metrics and study.metric_names not in (None, list(metrics)):
        raise ValueError(
            f"Study '{study_name}' in {where} optimised optimized_metric="
            f"{_listed(study.metric_names)}, this sweep asks for {_listed(metrics)}. {fix}."
        )
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        # Only the configured space: parameters of a custom_search_space come and go by trial.
        if {key: trial.distributions.get(key) for key in space} != dict(space):
            raise ValueError(
                f"Study '{study_name}' in {where} searched another space: trial "
                f"{trial.number} has {_show(trial.distributions)}, this sweep searches "
                f"{_show(space)}. {fix}."
            )
    if metrics and study.metric_names is None and not study.trials:  # a new study
        with warnings.catch_warnings():  # experimental since Optuna 3.2, unchanged to 5.0
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(list(metrics))  # optuna-dashboard labels its axes with them
    return study


def check_settings(study: optuna.Study, fixed: Sequence[str], allow: bool, where: str) -> None:
    """Refuse to feed `study` from a sweep whose fixed overrides differ from those it was
    started with (or was since allowed): its trials would not compare. Allowed changes are
    recorded in the study."""
    current = sorted(o for o in fixed if not override_key(o).startswith(UNCOMPARED))
    started = study.user_attrs.get(SETTINGS)
    if started is None:  # a new study, or one from before studies kept their settings
        study.set_user_attr(SETTINGS, current)
        return
    changes = study.user_attrs.get(CHANGES, [])
    if current in (started, *(change[SETTINGS] for change in changes)):
        return
    if not allow:
        raise ValueError(
            f"Study '{study.study_name}' in {where} was started with other fixed settings "
            f"({_difference(started, current)}): its trials would not compare with this "
            f"sweep's. Name a new study with hydra.sweeper.study_name=..., or continue this one "
            f"anyway with hydra.sweeper.allow_changed_settings=true (recorded in the study)."
        )
    at = datetime.now().isoformat(timespec="seconds")
    change = {"from_trial": len(study.trials), SETTINGS: current, "at": at}
    study.set_user_attr(CHANGES, [*changes, change])


def _difference(before: Sequence[str], after: Sequence[str]) -> str:
    """`key: old -> new` for each fixed override that differs."""
    old = {override_key(o): o.partition("=")[2] or "(deleted)" for o in before}
    new = {override_key(o): o.partition("=")[2] or "(deleted)" for o in after}
    return "; ".join(
        f"{key}: {old.get(key, '(not set)')} -> {new.get(key, '(not set)')}"
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    )


def _listed(directions: Sequence[str]) -> str:
    return directions[0] if len(directions) == 1 else "[" + ", ".join(directions) + "]"


def _show(space: Mapping[str, BaseDistribution]) -> str:
    return "{" + ", ".join(f"{key}: {dist}" for key, dist in sorted(space.items())) + "}"


def tell(study: optuna.Study, trial: optuna.Trial, job: Any, objectives: int) -> str | None:
    """Tell the study the outcome of `trial`'s Hydra job; the error, if the trial failed."""
    try:
        value = job.return_value  # raises the job's exception if it failed
    except optuna.TrialPruned:
        study.tell(trial, state=TrialState.PRUNED)
        return None
    except Exception as err:
        error = f"{type(err).__name__}: {err}"
    else:
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        error = None
        if len(values) != objectives or None in values:  # optimized_metric not logged?
            error = f"returned {value}, not {objectives} value(s) of optimized_metric"
    if error:
        log.warning("Trial %d failed: %s", trial.number, error)
        study.tell(trial, state=TrialState.FAIL)
        return error
    try:
        study.tell(trial, [float(v) for v in values])
    except RuntimeError as err:
        # GridSampler stops the study once the grid is done, which Optuna (4.9 to 5.0) refuses
        # outside study.optimize; the trial was told all the same.
        if "Study.stop" not in str(err):
            raise
    return None


def fail_stale_trials(study: optuna.Study, grace_period_s: float) -> list[int]:
    """Mark RUNNING trials failed whose sweep has sent no heartbeat for `grace_period_s`: their
    sweep was killed (or its machine lost). Returns their numbers."""
    now, stale = time.time(), []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        started = trial.datetime_start.timestamp() if trial.datetime_start else now
        if now - float(trial.user_attrs.get(HEARTBEAT, started)) > grace_period_s:
            try:
                study.tell(trial.number, state=TrialState.FAIL)
                stale.append(trial.number)
            except RuntimeError:  # another sweep finished or failed it a moment ago
                pass
    return stale


@contextmanager
def heartbeats(trials: Sequence[optuna.Trial], interval_s: float) -> Iterator[None]:
    """While the trials' jobs run, stamp each trial with the time every `interval_s` seconds."""
    stop = threading.Event()

    def beat() -> None:
        while True:
            for trial in trials:
                # RuntimeError: the trial finished meanwhile (another process told it).
                with contextlib.suppress(RuntimeError):
                    trial.set_user_attr(HEARTBEAT, time.time())
            if stop.wait(interval_s):
                return

    beat_thread = threading.Thread(target=beat, name="optuna-heartbeat", daemon=True)
    beat_thread.start()
    try:
        yield
    finally:
        stop.set()
        beat_thread.join()
