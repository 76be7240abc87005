"""Callbacks that show what a run did: the learning report and the layer-shape printout."""

from mnist_cnn.callbacks.layer_shapes import LayerShapes
from mnist_cnn.callbacks.learning_report import LearningReport

__all__ = ["LayerShapes", "LearningReport"]
