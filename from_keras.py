"""Launcher for `python from_keras.py keras_model=PATH output=PATH` (code: mnist_cnn.from_keras)."""

from mnist_cnn.from_keras import main

if __name__ == "__main__":
    main()
