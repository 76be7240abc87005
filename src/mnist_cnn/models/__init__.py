"""Models: the plain network and the LightningModule that trains it."""

from mnist_cnn.models.cnn import MnistCNN
from mnist_cnn.models.module import MnistLitModule

__all__ = ["MnistCNN", "MnistLitModule"]
