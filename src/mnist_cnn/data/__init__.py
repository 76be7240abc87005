"""Data: IDX files → uint8 tensors → batches gathered by index."""

from mnist_cnn.data.datamodule import MNISTDataModule
from mnist_cnn.data.idx import IDXError, read_idx

__all__ = ["IDXError", "MNISTDataModule", "read_idx"]
