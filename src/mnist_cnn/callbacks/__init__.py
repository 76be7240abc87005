"""Callbacks that make runs trustworthy: stop cleanly, resume exactly, refuse bad numbers."""

from mnist_cnn.callbacks.finite_loss import StopOnNonFiniteLoss
from mnist_cnn.callbacks.interruption import SaveOnInterrupt
from mnist_cnn.callbacks.rng_state import RestoreRNGState

__all__ = ["RestoreRNGState", "SaveOnInterrupt", "StopOnNonFiniteLoss"]
