"""Callbacks: what a run shows (learning report, layer shapes) and what keeps it trustworthy
(clean stops, exact resume, refusing bad numbers)."""

from mnist_cnn.callbacks.finite_loss import StopOnNonFiniteLoss
from mnist_cnn.callbacks.interruption import SaveOnInterrupt
from mnist_cnn.callbacks.keras_summary import KerasSummary
from mnist_cnn.callbacks.learning_report import LearningReport
from mnist_cnn.callbacks.rng_state import RestoreRNGState

__all__ = [
    "KerasSummary",
    "LearningReport",
    "RestoreRNGState",
    "SaveOnInterrupt",
    "StopOnNonFiniteLoss",
]
