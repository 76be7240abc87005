"""Launcher for `python predict.py [overrides]` from the repo root (code: mnist_cnn.predict)."""

from mnist_cnn.predict import main

if __name__ == "__main__":
    main()
