"""Extra: experiment trackers (MLflow, W&B) beside Lightning's TensorBoard and CSV loggers.

`logger=mlflow`, `logger=wandb`, `logger=many` (conf/logger/); `pip install -e ".[trackers]"`.
Each is a Lightning logger that also implements what the core hands to trackers
(`mnist_cnn.tracking.Tracker`): the run's config, its provenance record and the report's pictures.
"""

from mnist_cnn.extras.trackers.fail_soft import FailSoft
from mnist_cnn.extras.trackers.mlflow_tracker import MlflowTracker
from mnist_cnn.extras.trackers.wandb_tracker import WandbTracker

__all__ = ["FailSoft", "MlflowTracker", "WandbTracker"]
