"""Callbacks that show what a run did: the learning report and the layer-shape printout."""

from mnist_cnn.callbacks.learning_report import LearningReport
from mnist_cnn.callbacks.layer_shapes import LayerShapes

__all__ = ["LayerShapes", "LearningReport"]
