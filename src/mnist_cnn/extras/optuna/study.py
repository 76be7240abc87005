"""The study a sweep feeds: its search space from Hydra's sweep syntax, opening it with checks
that leave an existing study untouched, and marking trials whose sweep died as failed."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState

HEARTBEAT = "heartbeat"  # user attribute: unix time the sweep last saw the trial's job alive


def _distribution(key: str, value: Any) -> BaseDistribution:
    if isinstance(value, IntervalSweep):
        log = "log" in value.tags
        if isinstance(value.start, int) and isinstance(value.end, int):
            return IntDistribution(value.start, value.end, log=log)
        return FloatDistribution(float(value.start), float(value.end), log=log)
    if isinstance(value, RangeSweep):
        return CategoricalDistribution(list(value.range()))
    if isinstance(value, ChoiceSweep):
        return CategoricalDistribution(list(value.list))
    raise ValueError(f"{key}={value}: not a search range; use interval(a, b) or choice(a, b).")


def split_search_space(
    parser: OverridesParser, params: Sequence[str], arguments: Sequence[str]
) -> tuple[dict[str, BaseDistribution], list[str]]:
    """The search space (`key=interval(..)`, `choice(..)`, `range(..)`, `a,b,c`) and the fixed
    overrides; a command-line argument replaces a configured parameter of the same key."""
    space: dict[str, BaseDistribution] = {}
    fixed: dict[str, str] = {}
    for override in parser.parse_overrides([*params, *arguments]):
        key = override.get_key_element()
        space.pop(key, None)
        fixed.pop(key, None)
        if override.is_sweep_override():
            space[key] = _distribution(key, override.value())
        else:
            fixed[key] = f"{key}={override.get_value_element_as_str()}"
    return space, list(fixed.values())


def open_study(
    storage: optuna.storages.BaseStorage,
    study_name: str,
    direction: str,
    sampler: optuna.samplers.BaseSampler | None,
    space: Mapping[str, BaseDistribution],
    where: str,
) -> optuna.Study:
    """Load or create the study; refuse one that was made for another direction or search space
    (before any trial is asked, so nothing in it changes)."""
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"hydra.sweeper.direction={direction}: use maximize or minimize.")
    # load_if_exists: a second sweep starting at the same moment loads the first one's study.
    study = optuna.create_study(
        storage=storage, study_name=study_name, direction=direction, sampler=sampler,
        load_if_exists=True,
    )  # fmt: skip
    stored = study.direction.name.lower()
    fix = "name a new study with hydra.sweeper.study_name=..., or keep its settings"
    if stored != direction:
        raise ValueError(
            f"Study '{study_name}' in {where} maximises or minimises otherwise: it was created "
            f"with direction={stored}, this sweep asks for {direction}. {fix}."
        )
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if dict(trial.distributions) != dict(space):
            raise ValueError(
                f"Study '{study_name}' in {where} searched another space: trial "
                f"{trial.number} has {_show(trial.distributions)}, this sweep searches "
                f"{_show(space)}. {fix}."
            )
    return study


def _show(space: Mapping[str, BaseDistribution]) -> str:
    return "{" + ", ".join(f"{key}: {dist}" for key, dist in sorted(space.items())) + "}"


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
