"""Hydra sweeper on current Optuna: ask the study for `n_jobs` trials, run them through the
configured `hydra/launcher` (basic, submitit_local, slurm), tell it their results, repeat.

Each job gets `++optuna_trial.{storage,study_name,number}` overrides, so the pruning callback
inside it (mnist_cnn.extras.optuna.pruning) reports every epoch to its own trial and stops
it when the pruner says so. The study lives in a persistent storage: rerunning a command, or
running it in several terminals or on SLURM at once, feeds the same study. One objective or
several (`direction: [maximize, minimize]`, one per `optimized_metric`: a Pareto front).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from mnist_cnn.cli import UserError
from mnist_cnn.extras.optuna.storage import open_storage, storage_url

# Hydra imports every sweeper on every start, also of plain runs: optuna (7.6 s against
# Lightning's 140 s, -X importtime on a heavily loaded 2-core machine) is imported only when a
# sweep runs.
if TYPE_CHECKING:
    from mnist_cnn.extras.optuna.space import CustomSpace

log = logging.getLogger(__name__)


def _quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class OptunaSweeper(Sweeper):
    """`hydra/sweeper=optuna` (conf/hydra/sweeper/optuna.yaml mirrors these arguments)."""

    def __init__(
        self,
        storage: str,
        study_name: str,
        direction: str | Sequence[str] = "maximize",
        n_trials: int = 20,
        n_jobs: int = 1,
        sampler: Any = None,  # Hydra builds it from _target_ (grid: a partial, given the grid)
        params: Mapping[str, str] | None = None,
        network_params: Mapping[str, str] | None = None,
        custom_search_space: str | CustomSpace | None = None,
        max_failure_rate: float = 0.5,
        allow_changed_settings: bool = False,
        heartbeat_interval_s: float = 60.0,
        grace_period_s: float = 180.0,
    ) -> None:
        for name, value in (("n_trials", n_trials), ("n_jobs", n_jobs)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"hydra.sweeper.{name}={value}: must be a positive integer.")
        if not 0.0 <= max_failure_rate <= 1.0:
            raise ValueError(
                f"hydra.sweeper.max_failure_rate={max_failure_rate}: must lie in [0, 1] (1.0 "
                f"never stops a sweep for its failed trials, 0.0 stops at the first)."
            )
        if grace_period_s <= heartbeat_interval_s:
            raise ValueError(
                f"hydra.sweeper.grace_period_s={grace_period_s} must exceed heartbeat_interval_s="
                f"{heartbeat_interval_s}, or live trials would be taken for killed ones."
            )
        self.storage, self.study_name = storage, study_name
        self.directions = [direction] if isinstance(direction, str) else [*map(str, direction)]
        self.n_trials, self.n_jobs, self.sampler = n_trials, n_jobs, sampler
        # The generic space (lr, batch size), then the network's own (model/search_space/).
        self.params = {**(params or {}), **(network_params or {})}
        self.custom_search_space = custom_search_space
        self.max_failure_rate = max_failure_rate
        self.allow_changed_settings = allow_changed_settings
        self.heartbeat_interval_s, self.grace_period_s = heartbeat_interval_s, grace_period_s
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        try:
            import optuna  # noqa: F401
        except ModuleNotFoundError as missing:
            raise ModuleNotFoundError(
                f"hparams_search=optuna needs {missing.name}: pip install -e '.[optuna]'"
            ) from None
        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> list[Any]:
        """Run `n_trials` trials, `n_jobs` at a time; return their job results."""
        from optuna.trial import TrialState

        from mnist_cnn.extras.optuna.results import write_results
        from mnist_cnn.extras.optuna.space import trial_overrides
        from mnist_cnn.extras.optuna.study import fail_stale_trials, heartbeats, tell

        assert self.config is not None and self.hydra_context is not None  # set by setup()
        try:  # every check before the first trial; a refusal is shown as its message alone
            study, space, fixed, custom, n_trials = self._open(arguments)
        except ValueError as err:
            raise UserError(str(err)) from err
        url = storage_url(self.storage)
        for number in fail_stale_trials(study, self.grace_period_s):
            log.warning(
                "Trial %d: no heartbeat for %s s (killed?), marked failed",
                number,
                self.grace_period_s,
            )
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        log.info("Study '%s' in %s: %d trials so far", self.study_name, url, len(study.trials))
        if len(self.directions) > 1:
            log.info("%d objectives: pruning is off (Optuna cannot prune multi-objective trials)",
                     len(self.directions))  # fmt: skip

        identity = [
            f"++optuna_trial.storage={_quoted(url)}",
            f"++optuna_trial.study_name={_quoted(self.study_name)}",
        ]
        results: list[Any] = []
        failures: list[str] = []
        while len(results) < n_trials:
            if getattr(study.sampler, "is_exhausted", lambda _: False)(study):  # GridSampler
                log.info("Study '%s': every point of the grid has been tried", self.study_name)
                break
            count = min(self.n_jobs, n_trials - len(results))
            trials = [study.ask(space) for _ in range(count)]
            try:
                batch = [
                    [*fixed, *trial_overrides(trial, space, custom, self.config, fixed), *identity]
                    for trial in trials
                ]
                self.validate_batch_is_legal(batch)
                with heartbeats(trials, self.heartbeat_interval_s):
                    returns = self.launcher.launch(batch, initial_job_idx=len(results))
            except BaseException:  # a bad override, Ctrl-C: the trials did not run
                for trial in trials:
                    study.tell(trial, state=TrialState.FAIL)
                raise
            for trial, job in zip(trials, returns, strict=True):
                if error := tell(study, trial, job, len(self.directions)):
                    failures.append(f"trial {trial.number}: {error}")
            results.extend(returns)
            if len(failures) > self.max_failure_rate * len(results):
                write_results(study, url, self._metrics(), self.directions, sweep_dir)
                raise UserError(
                    f"hydra.sweeper.max_failure_rate={self.max_failure_rate}: {len(failures)} of "
                    f"this sweep's {len(results)} trials failed, so it stops:\n  "
                    + "\n  ".join(failures)
                    + "\nFix the cause, or raise hydra.sweeper.max_failure_rate (1.0 never stops)."
                )
        summary = write_results(study, url, self._metrics(), self.directions, sweep_dir)
        log.info("Study '%s': %s", self.study_name, summary)
        return results

    def _open(self, arguments: list[str]) -> tuple[Any, ...]:
        """The study, its space, the fixed overrides, the custom space and the trials to run."""
        from mnist_cnn.extras.optuna.space import custom_space, grid, grid_size, split_search_space
        from mnist_cnn.extras.optuna.study import check_settings, open_study

        assert self.config is not None and self.hydra_context is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        params = [f"{key}={value}" for key, value in self.params.items()]
        space, fixed = split_search_space(parser, params, arguments)
        custom = custom_space(self.custom_search_space)
        if not space and custom is None:
            raise ValueError(
                "hparams_search=optuna: nothing to search; set hydra.sweeper.params or "
                "hydra.sweeper.custom_search_space."
            )
        metrics = self._metrics()
        if len(metrics) != len(self.directions):
            raise ValueError(
                f"hydra.sweeper.direction={self.directions} and optimized_metric={metrics}: "
                f"give one direction per metric, e.g. direction=[maximize,minimize] for "
                f"optimized_metric=[val/acc_best,params]."
            )
        sampler, n_trials = self.sampler, self.n_trials
        if callable(sampler):  # hydra/sweeper/sampler=grid: GridSampler, given the grid here
            if custom is not None:
                raise ValueError(
                    "hydra/sweeper/sampler=grid cannot search hydra.sweeper.custom_search_space "
                    "(its parameters are drawn trial by trial); choose another sampler."
                )
            values = grid(space)
            sampler, n_trials = sampler(values), min(n_trials, grid_size(values))
            log.info("Grid of %d points: at most %d trials", grid_size(values), n_trials)
        url = storage_url(self.storage)
        storage = open_storage(url)  # before any job: a bad URL stops here
        study = open_study(
            storage, self.study_name, self.directions, sampler, space, url, metrics=metrics
        )
        check_settings(study, fixed, self.allow_changed_settings, url)
        return study, space, fixed, custom, n_trials

    def _metrics(self) -> list[str]:
        assert self.config is not None
        metric = self.config.get("optimized_metric")
        return [metric] if isinstance(metric, str) else [*map(str, metric or [])]
