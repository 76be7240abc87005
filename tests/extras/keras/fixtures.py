"""Helpers of the keras extra's tests: the keras.io model, Keras's image layout, the importer."""

from __future__ import annotations

from pathlib import Path

import torch

from tests.fixtures import compose_config


def keras_io_convnet():
    """The keras.io MNIST convnet, compiled as there (set KERAS_BACKEND before calling)."""
    import keras  # not at import time: the caller chooses the backend first

    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(), keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax"),
    ])  # fmt: skip
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def channels_last(images: torch.Tensor):
    """uint8 (N, 1, 28, 28) digits as Keras takes them: float32 (N, 28, 28, 1) in [0, 1]."""
    return (images.permute(0, 2, 3, 1).float() / 255).numpy()


def import_keras_file(keras_model: Path, output: Path, *overrides: str) -> dict:
    """`python from_keras.py keras_model=... output=... overrides`, in this process."""
    from mnist_cnn.extras.keras.from_keras import import_keras

    args = [f"keras_model={keras_model}", f"output={output}", *overrides]
    return import_keras(compose_config("from_keras", args, output.parent / "run"))
