"""Launcher for `python from_keras.py keras_model=PATH output=PATH` (the keras extra; code:
mnist_cnn.extras.keras.from_keras)."""

from mnist_cnn.extras.keras.from_keras import main

if __name__ == "__main__":
    main()
