"""The Keras MNIST convnet, trained with PyTorch Lightning and configured with Hydra."""

__version__ = "0.1.0"
