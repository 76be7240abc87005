"""Experiment trackers (MLflow, W&B) beside Lightning's TensorBoard and CSV loggers: what they
record, and the checks that run before training."""

from mnist_cnn.loggers.fail_soft import FailSoft
from mnist_cnn.loggers.mlflow_tracker import MlflowTracker
from mnist_cnn.loggers.wandb_tracker import WandbTracker

__all__ = ["FailSoft", "MlflowTracker", "WandbTracker"]
