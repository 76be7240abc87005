"""Hydra launch code: configs, run folders, multirun + DDP, sweep summaries."""
