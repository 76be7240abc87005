"""The run's summary is Keras's model.summary() of the network, with the Keras example's numbers."""

import torch

from mnist_cnn.models import MnistCNN
from mnist_cnn.models.module import MnistLitModule
from mnist_cnn.models.summary import summary
from tests.fixtures import REPO, compose_config


def _rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        name, kind, *rest = [*line.split(), "", ""]
        if kind.startswith("(") and kind.endswith(")") and rest[0].startswith("(None"):
            rows[name] = [kind.strip("()"), " ".join(rest[:-3]), rest[-3]]
    return rows


def test_the_keras_convnet_is_summarised_as_keras_does():
    text = summary(MnistCNN())
    rows = _rows(text)
    # The keras.io example: Conv2D (None, 26, 26, 32) 320 ... Dense (None, 10) 16,010.
    assert rows["features.0"] == ["Conv2d", "(None, 32, 26, 26)", "320"]
    assert rows["features.1"] == ["MaxPool2d", "(None, 32, 13, 13)", "0"]
    assert rows["features.3"] == ["Conv2d", "(None, 64, 11, 11)", "18,496"]
    assert rows["classifier.0"] == ["Flatten", "(None, 1600)", "0"]
    assert rows["classifier.2"] == ["Linear", "(None, 10)", "16,010"]
    assert len(rows) == 9  # the layers alone: no metric objects, no softmax head
    assert "Total params: 34,826 (0.13 MB)" in text and "Non-trainable params: 0" in text
    assert text.startswith('Model: "MnistCNN"') and "pools before its ReLUs" in text


def test_the_module_prints_it_and_leaves_the_network_as_it_was(capsys):
    module = MnistLitModule(MnistCNN(channels=(8, 16)))
    module.train()
    module.summary()
    assert "Total params: " in capsys.readouterr().out and module.net.training
    frozen = MnistCNN()
    frozen.features.requires_grad_(False)
    text = summary(frozen)
    assert "Trainable params: 16,010" in text and "Non-trainable params: 18,816" in text
    assert not any(t.requires_grad for t in frozen.features.parameters())
    assert torch.is_grad_enabled()


def test_the_readme_shows_what_a_run_prints():
    assert summary(MnistCNN()) in (REPO / "README.md").read_text()


def test_lightnings_table_is_one_override_away(tmp_path):
    from lightning.pytorch.callbacks import ModelSummary

    from mnist_cnn.callbacks import KerasSummary
    from mnist_cnn.cli import instantiate_group

    override = "callbacks.model_summary._target_=lightning.pytorch.callbacks.ModelSummary"
    kinds = {type(c) for c in instantiate_group(compose_config("train", [], tmp_path).callbacks)}
    assert KerasSummary in kinds and ModelSummary not in kinds
    cfg = compose_config("train", [override], tmp_path)
    kinds = {type(c) for c in instantiate_group(cfg.callbacks)}
    assert ModelSummary in kinds and KerasSummary not in kinds
