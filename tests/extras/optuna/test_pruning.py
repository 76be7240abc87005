"""The pruning callback: its pruners by name, and nothing done outside a trial."""

import optuna
import pytest

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
