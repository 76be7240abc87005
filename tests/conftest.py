"""Shared fixtures: small MNIST folders on disk and the composed Hydra config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from mnist_cnn.data.samples import real_digits, synthetic_digits, write_dataset
from mnist_cnn.utils.config import compose_config  # the tests' way in

REPO = Path(__file__).resolve().parents[1]
# The official MNIST test set, laid beside the checkout in CI and on the team's machines.
T10K_DIR = REPO.parent / "shared" / "data" / "mnist-t10k"
NO_REAL_DIGITS = f"real MNIST digits not found at {T10K_DIR} (a clone without ../shared)"


@pytest.fixture(scope="session")
def t10k():
    """The 10,000 real test digits, or None where ../shared is absent."""
    return real_digits(T10K_DIR) if T10K_DIR.is_dir() else None


@pytest.fixture(scope="session")
def real_data_dir(t10k, tmp_path_factory) -> Path:
    """Real digits as a small MNIST: the first 8,000 as training files, the last 2,000 as test."""
    if t10k is None:
        pytest.skip(NO_REAL_DIGITS)
    images, labels = t10k
    root = tmp_path_factory.mktemp("mnist_real")
    return write_dataset(root, (images[:8000], labels[:8000]), (images[8000:], labels[8000:]))


@pytest.fixture(scope="session")
def tiny_data_dir(t10k, tmp_path_factory) -> Path:
    """600 training and 300 test images: real digits when present, else synthetic ones."""
    images, labels = t10k if t10k is not None else synthetic_digits(900)
    root = tmp_path_factory.mktemp("mnist_tiny")
    return write_dataset(root, (images[:600], labels[:600]), (images[600:900], labels[600:900]))


def run_cli(script: str, *overrides: str, cwd: Path = REPO, timeout: float = 300):
    """Run `python <script> overrides...` as a user would; return the finished process."""
    return subprocess.run(
        [sys.executable, str(REPO / script), *overrides],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


@pytest.fixture(scope="session")
def keras_mnist(t10k, tmp_path_factory):
    """The keras.io MNIST convnet (Keras 3, torch backend) trained 32 steps on real digits and
    saved as .keras, .weights.h5 and legacy .h5; with its predictions on 500 held-out digits and
    a small MNIST folder (600 training images, those 500 as test set) for our side."""
    if t10k is None:
        pytest.skip(NO_REAL_DIGITS)
    os.environ["KERAS_BACKEND"] = "torch"  # before the first import of keras
    keras = pytest.importorskip("keras")
    images, labels = t10k
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(), keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax"),
    ])  # fmt: skip
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

    def channels_last(x):
        return (x.permute(0, 2, 3, 1).float() / 255).numpy()  # Keras's (N, 28, 28, 1) in [0, 1]

    model.fit(channels_last(images[:4096]), labels[:4096].numpy(), batch_size=128, verbose=0)
    root = tmp_path_factory.mktemp("keras_mnist")
    files = {kind: root / f"model{kind}" for kind in (".keras", ".weights.h5", ".h5")}
    model.save(files[".keras"])
    model.save_weights(files[".weights.h5"])
    model.save(files[".h5"])  # legacy HDF5: Keras 3.15 still writes it (with a warning)
    test_images, test_labels = images[9500:], labels[9500:]
    data_dir = write_dataset(
        root / "data", (images[4096:4696], labels[4096:4696]), (test_images, test_labels)
    )
    x_test = channels_last(test_images)
    return SimpleNamespace(
        model=model,
        files=files,
        data_dir=data_dir,
        channels_last=channels_last,
        test_images=test_images,
        probabilities=model.predict(x_test, verbose=0),
        accuracy=model.evaluate(x_test, test_labels.numpy(), verbose=0, return_dict=True)[
            "accuracy"
        ],
    )


def import_keras_file(keras_model: Path, output: Path, *overrides: str) -> dict:
    """`python from_keras.py keras_model=... output=... overrides`, in this process."""
    from mnist_cnn.from_keras import import_keras

    args = [f"keras_model={keras_model}", f"output={output}", *overrides]
    return import_keras(compose_config("from_keras", args, output.parent / "run"))
