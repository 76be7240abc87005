"""Data: IDX files → uint8 tensors → batches gathered by index."""

from mnist_cnn.data.datamodule import MnistDataModule
from mnist_cnn.data.idx import IDXError, read_idx

__all__ = ["IDXError", "MnistDataModule", "read_idx"]
