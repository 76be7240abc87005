"""Launcher for `python eval.py [overrides]` from the repo root; the code is mnist_cnn.eval."""

from mnist_cnn.eval import main

if __name__ == "__main__":
    main()
