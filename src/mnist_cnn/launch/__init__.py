"""Hydra launch code: sweepers, the sweep summary, DDP inside a multirun."""
