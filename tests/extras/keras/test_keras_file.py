"""Keras files are untrusted: what is refused is refused with the reason, and nothing is written."""

import json
import shutil
import subprocess
import sys
import zipfile

import h5py
import pytest
import torch

from mnist_cnn.extras.keras.keras_config import KerasFileError
from mnist_cnn.extras.keras.keras_net import ArchitectureMismatch
from tests.extras.keras.fixtures import import_keras_file
from tests.fixtures import REPO


def _refused(keras_file, tmp_path, error, match):
    output = tmp_path / "out" / "model.ckpt"
    with pytest.raises(error, match=match):
        import_keras_file(keras_file, output)
    assert not output.exists() and not list(output.parent.glob("*.ckpt*"))


def _rewrite_config(source, target, change):
    """A copy of a .keras archive whose config.json went through `change`."""
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    change(config)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def test_another_architecture_is_refused_naming_each_mismatch(keras_mnist, tmp_path):
    keras = sys.modules["keras"]  # imported by the keras_mnist fixture, torch backend
    layers = keras.layers
    other = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 5, padding="same", activation="relu", name="wide"),
        layers.MaxPooling2D(2, name="pool_a"),
        layers.Conv2D(64, 3, activation="relu", name="conv"), layers.MaxPooling2D(2, name="pool_b"),
        layers.Flatten(name="flat"), layers.Dense(128, activation="relu", name="hidden"),
        layers.BatchNormalization(name="norm"), layers.Dense(10, name="head"),
    ])  # fmt: skip
    other.save(tmp_path / "other.keras")
    output = tmp_path / "out" / "model.ckpt"
    with pytest.raises(ArchitectureMismatch) as refusal:
        import_keras_file(tmp_path / "other.keras", output)
    message = str(refusal.value)
    for mismatch in [
        "extra layer: Dense 'hidden', 'head'; MnistCNN has 1",
        "extra layer: BatchNormalization 'norm'; MnistCNN has no such layer",
        "Conv2D 'wide' has padding=same; MnistCNN: valid",
        "Conv2D kernel sizes [(3, 3), (5, 5)] differ",
        "Dense 'head' has activation=linear (a softmax-free head); MnistCNN: softmax",
        "layer order Conv2D → MaxPooling2D → Conv2D → MaxPooling2D → Flatten → Dense → "
        "BatchNormalization → Dense; MnistCNN is",
    ]:
        assert mismatch in message
    assert "nothing was written" in message and not output.exists()


def test_a_lambda_layer_is_refused(keras_mnist, tmp_path):
    keras = sys.modules["keras"]
    model = keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Lambda(lambda x: x * 2.0),
        keras.layers.Conv2D(4, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax"),
    ])  # fmt: skip
    model.save(tmp_path / "lambda.keras")
    _refused(
        tmp_path / "lambda.keras", tmp_path, KerasFileError,
        r"holds code or custom objects, which are never run here: config\.layers\[1\] is a "
        r"Lambda \(Python code\)",
    )  # fmt: skip


def test_a_custom_object_is_refused(keras_mnist, tmp_path):
    def custom_activation(config):
        config["config"]["layers"][1]["config"]["activation"] = {
            "module": "my_package.layers", "class_name": "Swish",
            "registered_name": "my_package>Swish", "config": {},
        }  # fmt: skip

    custom = _rewrite_config(keras_mnist.files[".keras"], tmp_path / "c.keras", custom_activation)
    _refused(custom, tmp_path, KerasFileError, r"the custom object my_package>Swish")


@pytest.mark.parametrize("kind", [".keras", ".weights.h5", ".h5"])
def test_a_truncated_file_is_refused(kind, keras_mnist, tmp_path):
    whole = keras_mnist.files[kind].read_bytes()
    truncated = tmp_path / f"cut{kind}"
    truncated.write_bytes(whole[: len(whole) * 2 // 3])
    _refused(truncated, tmp_path, KerasFileError, r"truncated or damaged|damaged or truncated")


def test_files_that_are_not_keras_models_are_refused(keras_mnist, tmp_path):
    png = tmp_path / "digit.keras"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    _refused(png, tmp_path, KerasFileError, r"not a Keras model \(neither a \.keras zip")
    ckpt = tmp_path / "torch.keras"
    torch.save({"state_dict": {}}, ckpt)  # a zip archive too, of other entries
    _refused(ckpt, tmp_path, KerasFileError, r"an entry its writer never makes: 'torch/data\.pkl'")
    plain_h5 = tmp_path / "data.h5"
    with h5py.File(plain_h5, "w") as h5:
        h5["images"] = [1.0, 2.0]
    _refused(plain_h5, tmp_path, KerasFileError, r"neither a Keras model")


def test_weights_only_file_with_an_extra_layer_is_refused(keras_mnist, tmp_path):
    extra = tmp_path / "extra.weights.h5"
    shutil.copy(keras_mnist.files[".weights.h5"], extra)
    with h5py.File(extra, "a") as h5:
        h5["layers/batch_normalization/vars/0"] = [1.0] * 64
    _refused(extra, tmp_path, ArchitectureMismatch, r"extra layer 'batch_normalization'")


def test_weights_linked_from_another_file_are_refused(keras_mnist, tmp_path):
    linked = tmp_path / "linked.weights.h5"
    shutil.copy(keras_mnist.files[".weights.h5"], linked)
    with h5py.File(linked, "a") as h5:
        del h5["layers/dense/vars/0"]
        h5["layers/dense/vars/0"] = h5py.ExternalLink("/etc/hostname", "/x")
    _refused(linked, tmp_path, KerasFileError, r"/layers/dense/vars/0 is not a float array")


def test_a_zip_bomb_config_is_refused_before_it_is_unpacked(keras_mnist, tmp_path):
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b" " * (64 * 2**20))  # 64 MB of spaces, 64 kB packed
        archive.writestr("model.weights.h5", b"")
    _refused(bomb, tmp_path, KerasFileError, r"config\.json is 67,108,864 bytes, over 1,048,576")


@pytest.mark.slow
def test_the_command_imports_without_keras(keras_mnist, tmp_path):
    """`python from_keras.py` in a process where importing Keras fails."""
    output = tmp_path / "model.ckpt"
    argv = [
        "from_keras.py", f"keras_model={keras_mnist.files['.keras']}", f"output={output}",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]  # fmt: skip
    code = (
        "import sys; sys.modules['keras'] = None; "  # any `import keras` now raises ImportError
        f"sys.argv = {argv!r}; "
        "from mnist_cnn.extras.keras.from_keras import main; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "read " in result.stdout and f"wrote {output}" in result.stdout
    assert "34,826 parameters" in result.stdout and output.is_file()
