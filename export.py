"""Launcher for `python export.py [overrides]` (code: mnist_cnn.export)."""

from mnist_cnn.export import main

if __name__ == "__main__":
    main()
