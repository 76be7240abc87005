"""Fixtures of the keras extra's tests: a real Keras model, trained and saved three ways."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from tests.extras.keras.fixtures import channels_last, keras_io_convnet
from tests.fixtures import NO_REAL_DIGITS, write_dataset


@pytest.fixture(scope="session")
def keras_mnist(t10k, tmp_path_factory):
    """The keras.io MNIST convnet (Keras 3, torch backend) trained 8 steps on real digits and
    saved as .keras, .weights.h5 and legacy .h5; with its predictions on 500 held-out digits and
    a small MNIST folder (600 training images, those 500 as test set) for our side."""
    if t10k is None:
        pytest.skip(NO_REAL_DIGITS)
    os.environ["KERAS_BACKEND"] = "torch"  # before the first import of keras
    keras = pytest.importorskip("keras")
    images, labels = t10k
    keras.utils.set_random_seed(0)
    model = keras_io_convnet()
    model.fit(channels_last(images[:1024]), labels[:1024].numpy(), batch_size=128, verbose=0)
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
        test_images=test_images,
        probabilities=model.predict(x_test, verbose=0),
        accuracy=model.evaluate(x_test, test_labels.numpy(), verbose=0, return_dict=True)[
            "accuracy"
        ],
    )
