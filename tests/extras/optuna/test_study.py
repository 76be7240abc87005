"""hparams_search=optuna searches lr and batch size for any network, and a network's own
parameters only where conf/model/search_space/<model>.yaml names them."""

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from mnist_cnn.cli import CONFIG_DIR, register_resolvers

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
