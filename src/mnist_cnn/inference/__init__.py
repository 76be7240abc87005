"""Inference: images of any kind → MNIST-style digits → predictions, from a checkpoint or ONNX."""

from mnist_cnn.inference.classifier import Classifier, Prediction, load_classifier
from mnist_cnn.inference.images import ImageError

__all__ = ["Classifier", "ImageError", "Prediction", "load_classifier"]
