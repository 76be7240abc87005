"""Data: IDX files → uint8 tensors (idx, no Lightning) → batches gathered by index
(datamodule.MnistDataModule)."""

from mnist_cnn.data.idx import IDXError, read_idx

__all__ = ["IDXError", "read_idx"]
