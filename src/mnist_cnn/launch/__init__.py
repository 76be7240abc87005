"""Hydra launch code: the entry points' shared main, run folders, sweeps, DDP inside a multirun."""
