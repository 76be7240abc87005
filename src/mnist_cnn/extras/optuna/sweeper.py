"""Hydra sweeper on current Optuna: ask the study for `n_jobs` trials, run them through the
configured `hydra/launcher` (basic, submitit_local, slurm), tell it their results, repeat.

Each job gets `++optuna_trial.{storage,study_name,number}` overrides, so the pruning callback
inside it (mnist_cnn.extras.optuna.pruning) reports every epoch to its own trial and stops
it when the pruner says so. The study lives in a persistent storage: rerunning a command, or
running it in several terminals or on SLURM at once, feeds the same study.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from mnist_cnn.extras.optuna.storage import open_storage, storage_url

# Hydra imports every sweeper on every start, also of plain runs: optuna (7.6 s against
# Lightning's 140 s, -X importtime on a heavily loaded 2-core machine) is imported only when a
# sweep runs.
if TYPE_CHECKING:
    import optuna

log = logging.getLogger(__name__)


def _quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class OptunaSweeper(Sweeper):
    """`hydra/sweeper=optuna` (conf/hydra/sweeper/optuna.yaml mirrors these arguments)."""

    def __init__(
        self,
        storage: str,
        study_name: str,
        direction: str = "maximize",
        n_trials: int = 20,
        n_jobs: int = 1,
        sampler: optuna.samplers.BaseSampler | None = None,  # Hydra builds it from _target_
        params: Mapping[str, str] | None = None,
        network_params: Mapping[str, str] | None = None,
        heartbeat_interval_s: float = 60.0,
        grace_period_s: float = 180.0,
    ) -> None:
        for name, value in (("n_trials", n_trials), ("n_jobs", n_jobs)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"hydra.sweeper.{name}={value}: must be a positive integer.")
        if grace_period_s <= heartbeat_interval_s:
            raise ValueError(
                f"hydra.sweeper.grace_period_s={grace_period_s} must exceed heartbeat_interval_s="
                f"{heartbeat_interval_s}, or live trials would be taken for killed ones."
            )
        self.storage, self.study_name, self.direction = storage, study_name, direction
        self.n_trials, self.n_jobs, self.sampler = n_trials, n_jobs, sampler
        # The generic space (lr, batch size), then the network's own (model/search_space/).
        self.params = {**(params or {}), **(network_params or {})}
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

        from mnist_cnn.extras.optuna.study import fail_stale_trials, heartbeats, open_study
        from mnist_cnn.extras.optuna.study import split_search_space as _split

        assert self.config is not None and self.hydra_context is not None  # set by setup()
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        params = [f"{key}={value}" for key, value in self.params.items()]
        space, fixed = _split(parser, params, arguments)
        if not space:
            raise ValueError("hparams_search=optuna: nothing to search; set hydra.sweeper.params.")
        url = storage_url(self.storage)
        storage = open_storage(url)  # before any job: a bad URL stops here
        study = open_study(storage, self.study_name, self.direction, self.sampler, space, url)
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

        identity = [
            f"++optuna_trial.storage={_quoted(url)}",
            f"++optuna_trial.study_name={_quoted(self.study_name)}",
        ]
        results, job_index = [], 0
        while job_index < self.n_trials:
            count = min(self.n_jobs, self.n_trials - job_index)
            trials = [study.ask(space) for _ in range(count)]
            batch = [[*fixed, *self._job_overrides(trial), *identity] for trial in trials]
            try:
                self.validate_batch_is_legal(batch)
                with heartbeats(trials, self.heartbeat_interval_s):
                    returns = self.launcher.launch(batch, initial_job_idx=job_index)
            except BaseException:  # a bad override, Ctrl-C: the trials did not run
                for trial in trials:
                    study.tell(trial, state=TrialState.FAIL)
                raise
            for trial, job in zip(trials, returns, strict=True):
                self._tell(study, trial, job)
            results.extend(returns)
            job_index += len(trials)
        self._write_results(study, sweep_dir)
        return results

    @staticmethod
    def _job_overrides(trial: optuna.Trial) -> list[str]:
        params = [f"{key}={value}" for key, value in trial.params.items()]
        return [*params, f"++optuna_trial.number={trial.number}"]

    @staticmethod
    def _tell(study: optuna.Study, trial: optuna.Trial, job: Any) -> None:
        import optuna
        from optuna.trial import TrialState

        try:
            value = job.return_value  # raises the job's exception if it failed
        except optuna.TrialPruned:
            study.tell(trial, state=TrialState.PRUNED)
            return
        except Exception as err:
            log.warning("Trial %d failed: %s: %s", trial.number, type(err).__name__, err)
            study.tell(trial, state=TrialState.FAIL)
            return
        if value is None:  # e.g. optimized_metric names a metric the run does not log
            log.warning("Trial %d returned no value (check optimized_metric)", trial.number)
            study.tell(trial, state=TrialState.FAIL)
        else:
            study.tell(trial, float(value))

    def _write_results(self, study: optuna.Study, sweep_dir: Path) -> None:
        from optuna.trial import TrialState

        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        states = [trial.state.name for trial in study.get_trials(deepcopy=False)]
        results: dict[str, Any] = {
            "study_name": self.study_name,
            "storage": storage_url(self.storage),
        }
        results["trials"] = {state: states.count(state) for state in sorted(set(states))}
        if complete:
            results.update(best_value=study.best_value, best_params=study.best_params)
            results["best_trial"] = study.best_trial.number
        OmegaConf.save(OmegaConf.create(results), sweep_dir / "optimization_results.yaml")
        log.info("Study '%s': %s", self.study_name, results)
