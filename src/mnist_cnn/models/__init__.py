"""Models: the plain networks and their registry (torch only); the LightningModule that trains
them is mnist_cnn.models.module."""

from mnist_cnn.models.cnn import MnistCNN
from mnist_cnn.models.registry import NETWORKS

__all__ = ["NETWORKS", "MnistCNN"]
