"""The search space: Hydra's sweep syntax as Optuna distributions (the mapping of Hydra's Optuna
plugin, table in docs/sweeps.md), the grid for GridSampler, and conditional parameters drawn
by a function the user's own config names (`hydra.sweeper.custom_search_space`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import (
    ChoiceSweep,
    IntervalSweep,
    Override,
    RangeSweep,
    Transformer,
)
from hydra.utils import get_method
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from mnist_cnn.cli import UserError

# fn(cfg, trial) -> None (the parameters it suggested are the overrides, as in Hydra's plugin)
# or {override key: value} built from them (e.g. a list of widths).
CustomSpace = Callable[[Any, optuna.Trial], Mapping[str, Any] | None]


def distribution(override: Override) -> BaseDistribution:
    """The Optuna distribution of one sweep override, e.g. `int(interval(1, 5))`."""
    value, key = override.value(), override.get_key_element()
    if isinstance(value, IntervalSweep):
        log = "log" in value.tags
        if isinstance(value.start, int) and isinstance(value.end, int):  # int(interval(..))
            return IntDistribution(value.start, value.end, log=log)
        return FloatDistribution(float(value.start), float(value.end), log=log)
    if isinstance(value, RangeSweep) and not value.shuffle:
        # Hydra's range(a, b) stops before b, as in a grid sweep: its last value is the high end.
        # Hydra's plugin makes b itself the high end; we keep the grid's values.
        values = list(value.range())
        if not values:
            raise ValueError(f"{override.input_line}: an empty range; its stop must pass start.")
        low, high, step = min(values), max(values), abs(value.step)  # also range(5, 1, step=-1)
        if any(isinstance(x, float) for x in (value.start, value.stop, value.step)):
            return FloatDistribution(low, high, step=float(step))
        return IntDistribution(low, high, step=int(step))
    if isinstance(value, (ChoiceSweep, RangeSweep)):  # choice(..), a,b,c, shuffle(range(..))
        # encode: a list or dict choice becomes its override text, e.g. '[32,64]'.
        return CategoricalDistribution(list(override.sweep_iterator(Transformer.encode)))
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
            space[key] = distribution(override)
        elif override.is_delete():
            fixed[key] = str(override.input_line)  # ~key or ~key=value, as written
        else:
            fixed[key] = f"{key}={override.get_value_element_as_str()}"
    return space, list(fixed.values())


def grid(space: Mapping[str, BaseDistribution]) -> dict[str, list[Any]]:
    """Every value of each parameter, for optuna.samplers.GridSampler."""
    values: dict[str, list[Any]] = {}
    for key, dist in space.items():
        if isinstance(dist, CategoricalDistribution):
            values[key] = list(dist.choices)
        elif isinstance(dist, (IntDistribution, FloatDistribution)) and dist.step and not dist.log:
            count = round((dist.high - dist.low) / dist.step) + 1  # both ends, unlike the plugin
            values[key] = [dist.low + i * dist.step for i in range(count)]
        else:
            raise ValueError(
                f"{key}: {dist} has no finite set of values for hydra/sweeper/sampler=grid; "
                f"use choice(a, b, ...) or range(a, b, step=s)."
            )
    return values


def grid_size(values: Mapping[str, Sequence[Any]]) -> int:
    return math.prod(len(choices) for choices in values.values())


def suggest(trial: optuna.Trial, name: str, text: str) -> Any:
    """Draw parameter `name` for `trial` from a sweep expression, e.g. 'choice(16, 32)'."""
    (override,) = OverridesParser.create().parse_overrides([f"{name}={text}"])
    dist = distribution(override)
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    suggest_number = trial.suggest_int if isinstance(dist, IntDistribution) else trial.suggest_float
    return suggest_number(name, dist.low, dist.high, step=dist.step, log=dist.log)


def custom_space(target: str | CustomSpace | None) -> CustomSpace | None:
    """`hydra.sweeper.custom_search_space`: a dotted name (Hydra's plugin) or a `_partial_` node."""
    if target is None or callable(target):
        return target
    try:
        return get_method(target)
    except Exception as err:
        raise ValueError(
            f"hydra.sweeper.custom_search_space={target}: cannot import it ({err}). Name a "
            f"function fn(cfg, trial) as module.function, importable from where you run."
        ) from err


def conv_blocks(cfg: Any, trial: optuna.Trial, depth: str, width: str) -> dict[str, Any]:
    """MnistCNN's conv blocks: their number from `depth`, then block i's width from `width`
    only where depth >= i (width_2 exists only in trials with depth >= 2)."""
    blocks = suggest(trial, "depth", depth)
    widths = [suggest(trial, f"width_{block}", width) for block in range(1, blocks + 1)]
    return {"model.net.channels": widths}


def override_key(override: str) -> str:
    """The config key an override sets: `+w=3` and `~w` both set `w`."""
    return override.split("=", 1)[0].lstrip("+~")


def override_value(value: Any) -> str:
    """`value` as Hydra override text: lists as [a,b], everything else as written."""
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(override_value(item) for item in value) + "]"
    return str(value)


def trial_overrides(
    trial: optuna.Trial,
    space: Mapping[str, BaseDistribution],
    custom: CustomSpace | None,
    config: Any,
    fixed: Sequence[str],
) -> list[str]:
    """The overrides that make `trial`'s job: its parameters, those `custom` draws, its number."""
    overrides = {key: trial.params[key] for key in space}
    if custom is not None:
        drawn = custom(config, trial)
        if drawn is None:  # Hydra's plugin's contract: its parameters are the overrides
            drawn = {key: value for key, value in trial.params.items() if key not in space}
        if clash := {override_key(k) for k in drawn} & {override_key(o) for o in fixed}:
            raise UserError(
                f"{', '.join(sorted(clash))}: set as a fixed override and drawn by "
                f"hydra.sweeper.custom_search_space; drop one of the two."
            )
        overrides |= drawn
    params = [f"{key}={override_value(value)}" for key, value in overrides.items()]
    return [*params, f"++optuna_trial.number={trial.number}"]
