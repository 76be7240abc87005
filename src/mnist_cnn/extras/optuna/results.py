"""What a sweep leaves in its folder: `optimization_results.yaml` (Hydra's Optuna plugin's keys,
then ours) and, for two objectives, `pareto_front.png`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
from omegaconf import OmegaConf
from optuna.trial import FrozenTrial, TrialState


def write_results(
    study: optuna.Study, storage: str, metrics: Sequence[str], directions: Sequence[str],
    sweep_dir: Path,
) -> dict[str, Any]:  # fmt: skip
    """`name: optuna` with `best_params` and `best_value` (one objective) or `solutions`, the
    Pareto front (several), as Hydra's plugin writes them; then the study, its objectives and
    its trials by state. Returns what it wrote."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    states = [trial.state.name for trial in study.get_trials(deepcopy=False)]
    results: dict[str, Any] = {"name": "optuna"}
    if complete and len(directions) == 1:
        results.update(best_params=study.best_params, best_value=study.best_value)
    elif complete:
        results["solutions"] = [
            {"params": trial.params, "values": trial.values, "trial": trial.number}
            for trial in _front(study)
        ]
    results.update(study_name=study.study_name, storage=storage)
    results["objectives"] = dict(zip(metrics, directions, strict=True))
    results["trials"] = {state: states.count(state) for state in sorted(set(states))}
    if complete and len(directions) == 1:
        results["best_trial"] = study.best_trial.number
    OmegaConf.save(OmegaConf.create(results), sweep_dir / "optimization_results.yaml")
    if complete and len(directions) == 2:
        plot_front(study, metrics, sweep_dir / "pareto_front.png")
    return results


def _front(study: optuna.Study) -> list[FrozenTrial]:
    return sorted(study.best_trials, key=lambda trial: trial.number)


def plot_front(study: optuna.Study, metrics: Sequence[str], path: Path) -> None:
    """Every completed trial of a two-objective study, its Pareto front joined and numbered:
    the second objective across, the first up."""
    from matplotlib.figure import Figure  # no pyplot: no display needed, none chosen for others
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    front = sorted(_front(study), key=lambda trial: trial.values[1])
    figure = Figure(figsize=(6.4, 4.2), layout="constrained")
    axes = figure.subplots()
    axes.scatter([t.values[1] for t in complete], [t.values[0] for t in complete], s=18,
                 color="0.7", label=f"{len(complete)} completed trials")  # fmt: skip
    axes.plot([t.values[1] for t in front], [t.values[0] for t in front], "o-", color="C0",
              label=f"Pareto front ({len(front)})")  # fmt: skip
    for trial in front:
        axes.annotate(str(trial.number), (trial.values[1], trial.values[0]), fontsize=8,
                      xytext=(4, -10), textcoords="offset points")  # fmt: skip
    x_values = [t.values[1] for t in complete]
    if min(x_values) > 0 and max(x_values) / min(x_values) > 20:  # e.g. parameter counts
        axes.set_xscale("log")
        axes.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))  # 1,000  2,000  5,000 ...
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
        axes.xaxis.set_minor_formatter(NullFormatter())
    (y_way, x_way) = (d.name.lower() for d in study.directions)
    axes.set(xlabel=f"{metrics[1]} ({x_way})", ylabel=f"{metrics[0]} ({y_way})",
             title=f"Study '{study.study_name}', its front's trials numbered")  # fmt: skip
    axes.legend(loc="lower right")
    figure.savefig(path, dpi=120)
