"""from_keras.py: a trained Keras model becomes a checkpoint that predicts, evaluates and trains on
exactly as the Keras model does (Keras 3, torch backend, on real digits)."""

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from mnist_cnn.checkpoint import CONFIG_KEY, read_checkpoint
from mnist_cnn.data.idx import to_unit_float
from mnist_cnn.eval import evaluate
from mnist_cnn.inference import load_classifier
from mnist_cnn.stored_config import stored_config
from mnist_cnn.train import train
from tests.extras.keras.fixtures import channels_last, import_keras_file
from tests.fixtures import compose_config

QUICK = ["trainer.accelerator=cpu", "logger=none", "callbacks=none"]


@pytest.fixture(scope="module")
def imported(keras_mnist, tmp_path_factory):
    """The .keras file imported once, for the tests that go on from it."""
    output = tmp_path_factory.mktemp("imported") / "model.ckpt"
    import_keras_file(keras_mnist.files[".keras"], output, f"data.data_dir={keras_mnist.data_dir}")
    return output


@pytest.mark.parametrize("kind", [".keras", ".weights.h5", ".h5"])
def test_predictions_equal_keras_predict_on_500_real_digits(kind, keras_mnist, tmp_path):
    output = tmp_path / "model.ckpt"
    import_keras_file(keras_mnist.files[kind], output)
    classify = load_classifier(output)  # as predict.py loads it
    with torch.inference_mode():
        ours = classify.probabilities(to_unit_float(keras_mnist.test_images)).numpy()
    theirs = keras_mnist.probabilities
    assert ours.shape == theirs.shape == (500, 10)
    assert np.array_equal(ours.argmax(1), theirs.argmax(1))
    assert np.abs(ours - theirs).max() <= 1e-5


def test_checkpoint_stores_train_config_with_the_widths_from_the_file(imported, tmp_path):
    config = read_checkpoint(imported)[CONFIG_KEY]
    expected = stored_config(OmegaConf.to_container(compose_config("train", [], tmp_path)))
    assert config.keys() == expected.keys()  # what train.py stores, no import-only keys
    assert (
        config["model"]["net"]["channels"] == [32, 64] and config["model"]["net"]["dropout"] == 0.5
    )
    assert config["model"]["optimizer"] == {
        "_target_": "torch.optim.Adam",
        "_partial_": True,
        "lr": 0.001,
        "fused": True,
    }


def test_eval_accuracy_equals_keras_evaluate(imported, keras_mnist, tmp_path):
    cfg = compose_config(
        "eval", [f"ckpt_path={imported}", f"data.data_dir={keras_mnist.data_dir}", *QUICK], tmp_path
    )
    accuracy = evaluate(cfg)["test/acc"]
    assert accuracy == pytest.approx(keras_mnist.accuracy, abs=1e-6)  # 1/500 apart otherwise


def _train(keras_mnist, run_dir, *overrides):
    args = [f"data.data_dir={keras_mnist.data_dir}", *QUICK, "test=false", "trainer.max_epochs=1"]
    return train(compose_config("train", [*args, *overrides], run_dir))


def test_init_from_starts_at_the_imported_models_validation_accuracy(
    imported, keras_mnist, tmp_path
):
    """With lr=0 one step leaves the weights as imported: the run's first validation accuracy
    must be Keras's own accuracy on the same 60 validation digits."""
    metrics = _train(
        keras_mnist, tmp_path, f"init_from={imported}", "model.optimizer.lr=0",
        "trainer.limit_train_batches=1",
    )  # fmt: skip
    cfg = compose_config("train", [f"data.data_dir={keras_mnist.data_dir}"], tmp_path)
    data = instantiate(cfg.data)  # the same split as the run's
    data.setup("fit")
    images, labels = data.val_set.images, data.val_set.labels
    keras_says = keras_mnist.model.predict(channels_last(images), verbose=0)
    expected = float((keras_says.argmax(1) == labels.numpy()).mean())
    assert metrics["val/acc"] == pytest.approx(expected, abs=1e-6)
    assert metrics["val/acc"] > 0.25  # trained (chance is 0.1): the check can tell weights apart


def test_init_from_trains_on_with_a_fresh_optimizer(imported, keras_mnist, tmp_path):
    metrics = _train(
        keras_mnist, tmp_path, f"init_from={imported}", "callbacks=model_checkpoint",
        "trainer.limit_train_batches=2",
    )  # fmt: skip
    saved = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    start = read_checkpoint(imported)["state_dict"]
    assert metrics["global_step"] == 2 and saved["epoch"] == 0
    assert [s["step"] for s in saved["optimizer_states"][0]["state"].values()] == [2.0] * 6
    moved = [
        k
        for k in start
        if k.startswith("net.") and not torch.equal(start[k], saved["state_dict"][k])
    ]
    assert len(moved) == 6  # every weight and bias trained on


def test_init_from_refuses_another_network(imported, keras_mnist, tmp_path):
    with pytest.raises(
        ValueError, match=r"init_from=.*different network \(model\.net differs in channels"
    ):
        _train(keras_mnist, tmp_path, f"init_from={imported}", "model.net.channels=[16,32]")


def test_ckpt_path_refuses_an_imported_checkpoint_and_names_init_from(
    imported, keras_mnist, tmp_path
):
    with pytest.raises(
        ValueError, match=r"weights only .* no training state to resume.*init_from="
    ):
        _train(keras_mnist, tmp_path, f"ckpt_path={imported}")
