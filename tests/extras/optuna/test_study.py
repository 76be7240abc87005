"""hparams_search=optuna searches lr and batch size for any network, and a network's own
parameters only where conf/hparams_search/search_space/<model>.yaml names them; a study refuses
sweeps under other fixed settings unless told, and records them."""

import optuna
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from mnist_cnn.cli import CONFIG_DIR, register_resolvers
from mnist_cnn.extras.optuna.storage import open_storage
from mnist_cnn.extras.optuna.study import CHANGES, SETTINGS, check_settings

GENERIC = {"model.optimizer.lr", "data.batch_size"}


def _sweeper(overrides):
    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        cfg = compose("train", overrides=["hparams_search=optuna", *overrides],
                      return_hydra_config=True)  # fmt: skip
    return cfg.hydra.sweeper


def test_the_keras_cnn_adds_its_dropout_to_the_generic_space():
    sweeper = _sweeper([])
    assert set(sweeper.params) == GENERIC
    assert set(sweeper.network_params) == {"model.net.dropout"}


def test_a_network_without_a_search_space_file_gets_only_the_generic_space(tmp_path):
    """A new network (here a copy of the CNN's config under another name, in a folder added to
    Hydra's search path) is searched over lr and batch size, never the CNN's dropout."""
    (tmp_path / "model").mkdir()
    cnn = OmegaConf.load(CONFIG_DIR / "model" / "keras_cnn.yaml")
    OmegaConf.save(cnn, tmp_path / "model" / "other_net.yaml")
    sweeper = _sweeper([f"hydra.searchpath=[file://{tmp_path}]", "model=other_net"])
    assert set(sweeper.params) == GENERIC and sweeper.network_params is None
    assert sweeper.study_name == "train_other_net"  # its own study, with its own space


def _study(tmp_path):
    storage = open_storage(tmp_path / "s.db")
    return optuna.create_study(storage=storage, study_name="s", load_if_exists=True)


def test_a_study_keeps_the_fixed_overrides_it_was_started_with(tmp_path):
    """Less those that say where outputs go (paths.*) and who records them (logger)."""
    started = ["trainer.limit_train_batches=5", "paths.log_dir=/a", "logger=none"]
    check_settings(_study(tmp_path), started, allow=False, where="here")
    assert _study(tmp_path).user_attrs[SETTINGS] == ["trainer.limit_train_batches=5"]
    check_settings(_study(tmp_path), ["trainer.limit_train_batches=5", "paths.log_dir=/b"],
                   allow=False, where="here")  # fmt: skip


def test_other_settings_are_refused_with_the_difference_then_allowed_and_recorded(tmp_path):
    check_settings(_study(tmp_path), ["trainer.limit_train_batches=5", "seed=1"], False, "here")
    other = ["trainer.limit_train_batches=10", "trainer.max_epochs=3", "seed=1"]
    with pytest.raises(ValueError) as refused:
        check_settings(_study(tmp_path), other, allow=False, where="here")
    message = str(refused.value)
    assert "trainer.limit_train_batches: 5 -> 10; trainer.max_epochs: (not set) -> 3)" in message
    assert "hydra.sweeper.study_name=" in message and "allow_changed_settings=true" in message
    assert CHANGES not in _study(tmp_path).user_attrs  # nothing written by a refusal

    check_settings(_study(tmp_path), other, allow=True, where="here")
    (change,) = _study(tmp_path).user_attrs[CHANGES]
    assert change[SETTINGS] == sorted(other) and change["from_trial"] == 0
    check_settings(_study(tmp_path), other, allow=False, where="here")  # allowed once: known now
    assert len(_study(tmp_path).user_attrs[CHANGES]) == 1


def test_a_rerun_with_another_training_budget_is_refused_before_any_job(sweep, capsys):
    """Issue 21's case: the same search, 10 training batches instead of 5."""
    search = ["hparams_search=optuna", "hydra.sweeper.n_trials=1", "hydra.sweeper.study_name=s"]
    assert sweep("first", *search, "trainer.limit_train_batches=5") == 0
    capsys.readouterr()
    assert sweep("second", *search, "trainer.limit_train_batches=10") == 1
    error = capsys.readouterr().err
    assert "started with other fixed settings (trainer.limit_train_batches: 5 -> 10)" in error
    assert not (sweep.root / "second" / "0").exists()
    allowed = "hydra.sweeper.allow_changed_settings=true"
    assert sweep("third", *search, "trainer.limit_train_batches=10", allowed) == 0
    study = optuna.load_study(study_name="s", storage=open_storage(sweep.root / "optuna/s.db"))
    assert [change["from_trial"] for change in study.user_attrs[CHANGES]] == [1]
    assert len(study.trials) == 2
