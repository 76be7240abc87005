"""The search space: each form of Hydra's sweep syntax becomes the Optuna distribution Hydra's
plugin makes of it (its test cases, adapted), grids, and parameters that exist only in some
trials; each reaches the real train.py's jobs."""

import json

import optuna
import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution as Categorical
from optuna.distributions import FloatDistribution as Float
from optuna.distributions import IntDistribution as Int

from mnist_cnn.cli import UserError
from mnist_cnn.extras.optuna.space import (
    custom_space,
    distribution,
    grid,
    split_search_space,
    suggest,
    trial_overrides,
)

PARSER = OverridesParser.create()


def _distribution(text):
    return distribution(PARSER.parse_overrides([f"key={text}"])[0])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("choice(1,2)", Categorical([1, 2])),
        ("choice(true, false)", Categorical([True, False])),
        ("choice('hello', 'world')", Categorical(["hello", "world"])),
        ("1,2,3", Categorical([1, 2, 3])),
        ("choice([16,32],[16,32,64])", Categorical(["[16,32]", "[16,32,64]"])),  # as overrides
        ("interval(1, 5)", Float(1, 5)),
        ("int(interval(1, 5))", Int(1, 5)),
        ("tag(log, interval(1, 5))", Float(1, 5, log=True)),
        ("tag(log, int(interval(1, 5)))", Int(1, 5, log=True)),
        # Ours stop before b, as Hydra's range does in a grid; the plugin's include b:
        ("range(1,3)", Int(1, 2)),  # plugin: Int(1, 3)
        ("range(32, 129, step=32)", Int(32, 128, step=32)),
        ("range(0.5, 5.5, step=1)", Float(0.5, 4.5, step=1)),  # plugin: Float(0.5, 5.5, step=1)
        ("range(5, 1, step=-2)", Int(3, 5, step=2)),  # 5, 3
    ],
)  # fmt: skip
def test_each_sweep_form_becomes_the_plugins_distribution(text, expected):
    assert _distribution(text) == expected


def test_shuffle_range_is_a_choice_of_the_ranges_values():
    dist = _distribution("shuffle(range(1,4))")
    assert isinstance(dist, Categorical) and sorted(dist.choices) == [1, 2, 3]


def test_fixed_and_deleted_overrides_stay_as_given_and_the_command_line_wins():
    """The plugin's create_params_from_overrides cases: key=5 fixed, ~z kept as written."""
    space, fixed = split_search_space(
        PARSER, ["key1=choice(1,2)", "key3=interval(0, 1)"], ["key2=5", "~z", "key3=range(1,3)"]
    )
    assert space == {"key1": Categorical([1, 2]), "key3": Int(1, 2)}
    assert fixed == ["key2=5", "~z"]


def test_a_grid_holds_every_value_of_both_ends_and_refuses_an_interval():
    space = {"a": Int(32, 128, step=32), "b": Float(0.0, 0.5, step=0.25), "c": Categorical([1])}
    assert grid(space) == {"a": [32, 64, 96, 128], "b": [0.0, 0.25, 0.5], "c": [1]}
    with pytest.raises(ValueError, match=r"dropout: .* use choice\(a, b, ...\) or range"):
        grid({"model.net.dropout": _distribution("interval(0.0, 0.6)")})


def test_suggest_draws_a_parameter_from_a_sweep_expression():
    trial = optuna.create_study().ask()
    assert 1 <= suggest(trial, "blocks", "int(interval(1, 3))") <= 3
    assert suggest(trial, "width", "choice(16, 32)") in (16, 32)
    assert trial.distributions == {"blocks": Int(1, 3), "width": Categorical([16, 32])}


def dropout_by_lr(cfg, trial):
    """Hydra's plugin's kind of custom_search_space: a range that depends on a drawn value."""
    high = 0.5 if trial.params["model.optimizer.lr"] < 1e-3 else 0.2
    trial.suggest_float("model.net.dropout", 0.0, high)


def test_a_plugin_style_function_named_by_its_dotted_name_adds_its_parameters():
    custom = custom_space("tests.extras.optuna.test_space.dropout_by_lr")
    space = {"model.optimizer.lr": Float(1e-4, 1e-2, log=True)}
    trial = optuna.create_study().ask(space)
    overrides = trial_overrides(trial, space, custom, config=None, fixed=["seed=1"])
    lr, dropout = trial.params["model.optimizer.lr"], trial.params["model.net.dropout"]
    number = f"++optuna_trial.number={trial.number}"
    assert overrides == [f"model.optimizer.lr={lr}", f"model.net.dropout={dropout}", number]
    assert dropout <= (0.5 if lr < 1e-3 else 0.2)
    with pytest.raises(UserError, match=r"model\.net\.dropout: set as a fixed override and drawn"):
        trial_overrides(
            optuna.create_study().ask(space), space, custom, None, ["model.net.dropout=0.1"]
        )
    with pytest.raises(ValueError, match=r"custom_search_space=no_such\.fn: cannot import it"):
        custom_space("no_such.fn")


def test_every_form_reaches_the_job_as_its_value(sweep):
    forms = [
        "model.net.keras_init=choice(true, false)",
        "model.scheduler_interval=choice('epoch', 'step')",
        "model.net.dropout=range(0.0, 0.5, step=0.25)",
        "data.batch_size=shuffle(range(32, 97, step=32))",
        "model.net.kernel_size=int(interval(3, 5))",
        "model.optimizer.lr=tag(log, interval(1e-4, 1e-2))",
    ]
    assert sweep("s", "hparams_search=optuna", "hydra.sweeper.n_trials=1", *forms) == 0
    cfg = OmegaConf.load(sweep.root / "s" / "0" / ".hydra" / "config.yaml")
    assert isinstance(cfg.model.net.keras_init, bool)
    assert cfg.model.scheduler_interval in ("epoch", "step")
    assert cfg.model.net.dropout in (0.0, 0.25) and cfg.data.batch_size in (32, 64, 96)
    assert cfg.model.net.kernel_size in (3, 4, 5) and 1e-4 <= cfg.model.optimizer.lr <= 1e-2
    assert json.loads((sweep.root / "s" / "0" / "metrics.json").read_text())["epochs"] == 1


def test_a_conditional_width_exists_only_in_trials_deep_enough(front_sweep):
    """hparams_search=accuracy_vs_size: conv_blocks draws depth, then width_i for i <= depth."""
    storage = OmegaConf.load(front_sweep / "optimization_results.yaml").storage
    study = optuna.load_study(study_name="train_keras_cnn_accuracy_vs_size", storage=storage)
    trials = study.trials
    assert {trial.params["depth"] for trial in trials} == {1, 2, 3}  # seeded: all three drawn
    for trial in trials:
        depth = trial.params["depth"]
        assert set(trial.params) == {"depth", *(f"width_{i}" for i in range(1, depth + 1))}
        config = OmegaConf.load(front_sweep / str(trial.number) / ".hydra" / "config.yaml")
        widths = [trial.params[f"width_{i}"] for i in range(1, depth + 1)]
        assert list(config.model.net.channels) == widths and all(4 <= w <= 64 for w in widths)
