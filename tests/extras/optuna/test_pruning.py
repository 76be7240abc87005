"""The pruning callback: its pruners by name, nothing done outside a trial or in a study of
several objectives."""

import optuna
import pytest
from omegaconf import OmegaConf

from mnist_cnn.extras.optuna.pruning import OptunaPruning, make_pruner


@pytest.mark.parametrize(
    ("name", "kind"),
    [("median", optuna.pruners.MedianPruner), ("hyperband", optuna.pruners.HyperbandPruner),
     ("none", optuna.pruners.NopPruner)],
)  # fmt: skip
def test_pruners_are_chosen_by_name(name, kind):
    assert isinstance(make_pruner(name, n_startup_trials=5, n_warmup_epochs=0), kind)


def test_an_unknown_pruner_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="pruner=asha: choose one of median, hyperband, none"):
        OptunaPruning(monitor="val/acc_best", pruner="asha")


def test_without_a_trial_the_callback_opens_no_study():
    """A job's config run on its own (optuna_trial.number is null) trains as usual."""
    callback = OptunaPruning(monitor="val/acc_best", storage="nosuchdb://x", study_name="s")
    callback.on_fit_start(trainer=None, pl_module=None)  # would fail on the storage if it tried
    assert callback.trial is None


def test_trials_of_two_objectives_are_not_pruned_and_each_job_says_so(front_sweep):
    """Optuna cannot prune multi-objective trials (report and should_prune raise)."""
    storage = OmegaConf.load(front_sweep / "optimization_results.yaml").storage
    study = optuna.load_study(study_name="train_keras_cnn_accuracy_vs_size", storage=storage)
    assert all(trial.intermediate_values == {} for trial in study.trials)
    log = (front_sweep / "0" / "train.log").read_text()
    assert "pruning is off (Optuna cannot prune multi-objective trials)" in log
