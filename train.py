"""Launcher for `python train.py [overrides]` from the repo root; the code is mnist_cnn.train."""

from mnist_cnn.train import main

if __name__ == "__main__":
    main()
