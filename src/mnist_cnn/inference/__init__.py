"""Inference: images of any kind → MNIST-style digits → predictions, from a checkpoint or ONNX.

`to_mnist` is the preprocessing every model of this project expects (export.py's ONNX files
too): crop to the ink, fit into 20×20, centre by mass in 28×28, white on black.
"""

from mnist_cnn.inference.classifier import Classifier, Prediction, load_classifier
from mnist_cnn.inference.images import ImageError, open_image, to_mnist

__all__ = ["Classifier", "ImageError", "Prediction", "load_classifier", "open_image", "to_mnist"]
