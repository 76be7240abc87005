"""Report the optimised metric to the job's Optuna trial after every validation epoch, and stop
the trial when the pruner says it cannot catch up."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import lightning as L
import optuna

from mnist_cnn.extras.optuna.storage import open_storage

PRUNERS = ("median", "hyperband", "none")
log = logging.getLogger(__name__)


def make_pruner(
    name: str, n_startup_trials: int, n_warmup_epochs: int
) -> optuna.pruners.BasePruner:
    """The pruner called `name`; the job builds it, since only the job asks it."""
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials, n_warmup_steps=n_warmup_epochs)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=max(1, n_warmup_epochs))
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"callbacks.optuna_pruning.pruner={name}: choose one of {', '.join(PRUNERS)}.")


class OptunaPruning(L.Callback):
    """Trial `trial_number` of study `study_name` in `storage` (set per job by the sweeper) gets
    `monitor` after each validation epoch as its intermediate value for that epoch; a pruned
    trial ends with optuna.TrialPruned, which the sweeper records as PRUNED. Without a trial
    (the job's config run on its own), or in a study of several objectives, which Optuna cannot
    prune, the callback does nothing."""

    def __init__(
        self,
        monitor: str | Sequence[str],
        storage: str | None = None,
        study_name: str | None = None,
        trial_number: int | None = None,
        pruner: str = "median",
        n_startup_trials: int = 5,
        n_warmup_epochs: int = 0,
    ) -> None:
        # optimized_metric: one name, or a list of them (one per objective of the study)
        self.monitor = monitor if isinstance(monitor, str) else str(next(iter(monitor)))
        self.pruner = make_pruner(pruner, n_startup_trials, n_warmup_epochs)
        self.trial: optuna.Trial | None = None
        self._where = (storage, study_name, trial_number)

    def _open_trial(self) -> optuna.Trial | None:
        storage_name, study_name, number = self._where
        storage = open_storage(storage_name)
        study = optuna.load_study(study_name=study_name, storage=storage, pruner=self.pruner)
        if len(study.directions) > 1:  # Trial.report and should_prune raise NotImplementedError
            log.info("%s: pruning is off (Optuna cannot prune multi-objective trials)", study_name)
            return None
        study_id = storage.get_study_id_from_name(study_name)
        # study.ask() builds its Trial the same way; here in the job's own process.
        return optuna.Trial(
            study, storage.get_trial_id_from_study_id_trial_number(study_id, number)
        )

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._where[2] is not None and trainer.is_global_zero:  # rank 0 speaks for the job
            self.trial = self._open_trial()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or self._where[2] is None:
            return
        prune = False
        if self.trial is not None:
            if self.monitor not in trainer.callback_metrics:
                raise KeyError(
                    f"optimized_metric={self.monitor} is not logged; logged are "
                    f"{sorted(trainer.callback_metrics)}."
                )
            value = float(trainer.callback_metrics[self.monitor])
            self.trial.report(value, step=trainer.current_epoch)
            prune = self.trial.should_prune()
        # Every DDP process stops at the same epoch, or the others would wait for it forever.
        if trainer.strategy.broadcast(prune, src=0):
            raise optuna.TrialPruned(f"pruned after epoch {trainer.current_epoch}")
