"""LightningDataModule: MNIST-format splits as in-memory uint8 tensors, batched by index."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader

from mnist_cnn.data.digits import TensorDigits, resolve_class_names, to_unit_float, whole_batch
from mnist_cnn.data.idx import FILES, find_file, load_split
from mnist_cnn.data.sampler import ResumableShuffle
from mnist_cnn.private_apis import batches_done_this_epoch, unrepeated_distributed_sampler

# The MNIST-format datasets torchvision can download; any other name is a dataset of your own.
DOWNLOADABLE = ("MNIST", "FashionMNIST", "KMNIST")


class DataNotFoundError(FileNotFoundError):
    """The dataset files are missing and could not be downloaded."""


class MnistDataModule(L.LightningDataModule):
    """MNIST (or FashionMNIST, KMNIST): a seeded validation split of the official training set,
    and the official test set untouched. With `num_folds`=K the validation set is fold `fold`
    of K disjoint folds of the training set (k-fold cross-validation; `val_fraction` unused).

    With `on_device` the tensors move to the training device in `setup` (a no-op on CPU).
    `batch_size` is global, as in Keras: under DDP each of the N processes gets batch_size / N,
    so the optimiser sees the same batch (and the same number of steps) on any device count.
    """

    def __init__(
        self,
        data_dir: str = "data",
        dataset: str = "MNIST",
        batch_size: int = 128,
        val_fraction: float = 0.1,
        split_seed: int = 42,
        download: bool = True,
        num_classes: int = 10,
        class_names: Sequence[str] | None = None,
        on_device: bool = True,
        num_folds: int | None = None,
        fold: int = 0,
    ) -> None:
        super().__init__()
        if batch_size <= 0:
            raise ValueError(f"data.batch_size={batch_size}: must be a positive integer, e.g. 128.")
        if not 0.0 < val_fraction < 1.0:
            raise ValueError(f"data.val_fraction={val_fraction}: must lie in (0, 1), e.g. 0.1.")
        if num_folds is not None and not (num_folds >= 2 and 0 <= fold < num_folds):
            raise ValueError(
                f"data.num_folds={num_folds} data.fold={fold}: need num_folds >= 2 and "
                f"0 <= fold < num_folds, e.g. data.num_folds=5 data.fold=0 (up to 4)."
            )
        # A plain list before save_hyperparameters: Hydra passes a ListConfig, which
        # torch.load(weights_only=True) refuses to read back from a checkpoint.
        class_names = self.class_names = resolve_class_names(class_names, num_classes)
        self.save_hyperparameters()
        self.raw_dir = Path(data_dir) / dataset / "raw"
        self.batch_size_per_device = batch_size
        self.train_set: TensorDigits | None = None
        self.val_set: TensorDigits | None = None
        self.test_set: TensorDigits | None = None
        self.train_sampler: ResumableShuffle | None = None
        self._train_sampler_state: dict[str, Any] = {}

    def _missing_files(self) -> list[str]:
        names = [name for split in FILES.values() for name in split]
        return [name for name in names if find_file(self.raw_dir, name) is None]

    def _not_found(self, reason: str) -> DataNotFoundError:
        expected = "\n  ".join(name for split in FILES.values() for name in split)
        return DataNotFoundError(
            f"{self.hparams.dataset} files not found in {self.raw_dir.resolve()} ({reason}).\n"
            f"Expected these four files there (each may also end in .gz):\n  {expected}\n"
            f"Copy them there, or point to a folder holding {self.hparams.dataset}/raw/ with "
            f"data.data_dir=/path/to/folder (and data.download=false when offline)."
        )

    def prepare_data(self) -> None:
        """Download with torchvision when files are missing (runs on one process per node);
        datasets of your own are never downloaded."""
        if not self._missing_files():
            return
        if not self.hparams.download:
            raise self._not_found("data.download=false")
        if self.hparams.dataset not in DOWNLOADABLE:
            raise self._not_found(
                f"{self.hparams.dataset} is not one of torchvision's {', '.join(DOWNLOADABLE)}, "
                f"so it is never downloaded"
            )
        from torchvision import datasets  # imported here: only downloads need it

        dataset_class = getattr(datasets, self.hparams.dataset)
        try:
            for train in (True, False):
                dataset_class(self.hparams.data_dir, train=train, download=True)
        except Exception as err:  # torchvision raises RuntimeError/URLError/OSError variously
            reason = " ".join(str(err).split())[:300]
            raise self._not_found(f"download failed: {reason}") from None

    def setup(self, stage: str | None = None) -> None:
        """Read the IDX files into tensors once; split train/val with a fixed seed."""
        if self.trainer is not None:
            world_size = self.trainer.world_size
            if self.hparams.batch_size % world_size:
                raise ValueError(
                    f"data.batch_size={self.hparams.batch_size} is not divisible by the "
                    f"{world_size} processes; choose a multiple of {world_size}."
                )
            self.batch_size_per_device = self.hparams.batch_size // world_size
        if self._missing_files():
            raise self._not_found("run prepare_data or download them")
        if stage in (None, "fit", "validate") and self.train_set is None:
            images, labels = load_split(self.raw_dir, "train", self.hparams.num_classes)
            generator = torch.Generator().manual_seed(self.hparams.split_seed)
            order = torch.randperm(len(labels), generator=generator)
            val_index, train_index = self._split(order)
            self.train_set = TensorDigits(images[train_index], labels[train_index])
            self.val_set = TensorDigits(images[val_index], labels[val_index])
        if stage in (None, "test", "predict") and self.test_set is None:
            self.test_set = TensorDigits(
                *load_split(self.raw_dir, "test", self.hparams.num_classes)
            )
        if self.trainer is not None and self.hparams.on_device:
            self.move_to(self.trainer.strategy.root_device)

    def _split(self, order: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(validation, training) indices: the first val_fraction of the shuffled order, or
        fold `fold` of `num_folds` near-equal consecutive chunks of it."""
        if self.hparams.num_folds is not None:
            folds = torch.tensor_split(order, self.hparams.num_folds)
            rest = [chunk for i, chunk in enumerate(folds) if i != self.hparams.fold]
            return folds[self.hparams.fold], torch.cat(rest)
        val_count = round(len(order) * self.hparams.val_fraction)
        if not 0 < val_count < len(order):
            raise ValueError(
                f"data.val_fraction={self.hparams.val_fraction} of {len(order)} training "
                f"images leaves an empty train or validation split."
            )
        return order[:val_count], order[val_count:]

    def move_to(self, device: torch.device | str) -> None:
        """Keep the uint8 datasets on `device`: batches are then gathered there, with no copies
        per step but the batch's indices (MNIST is 55 MB as uint8; a GPU holds it easily)."""
        for dataset in (self.train_set, self.val_set, self.test_set):
            if dataset is not None:
                dataset.images, dataset.labels = (
                    dataset.images.to(device),
                    dataset.labels.to(device),
                )

    def _loader(self, dataset: TensorDigits | None, shuffle: bool) -> DataLoader:
        if dataset is None:
            raise RuntimeError("call setup() before asking for a dataloader")
        sampler = None
        if shuffle and (self.trainer is None or self.trainer.world_size == 1):
            # Under DDP, Lightning's DistributedSampler shuffles by (seed, epoch) instead.
            sampler, shuffle = self._resumable_shuffle(dataset), False
        if not shuffle and self.trainer is not None and self.trainer.world_size > 1:
            # Lightning's default DistributedSampler pads ranks to equal length by repeating
            # samples; evaluation must see each official test image exactly once.
            sampler = unrepeated_distributed_sampler()(
                dataset,
                num_replicas=self.trainer.world_size,
                rank=self.trainer.global_rank,
                shuffle=False,
            )
        # No workers: gathering a batch from memory is cheaper than handing it between processes.
        return DataLoader(
            dataset,
            batch_size=self.batch_size_per_device,
            shuffle=shuffle,
            sampler=sampler,
            collate_fn=whole_batch,
        )

    def _resumable_shuffle(self, dataset: TensorDigits) -> ResumableShuffle:
        # torch.initial_seed() is the run's `seed` (seed_everything), so shuffling follows it.
        self.train_sampler = ResumableShuffle(
            len(dataset), self.batch_size_per_device, seed=torch.initial_seed()
        )
        if self._train_sampler_state:
            self.train_sampler.load_state_dict(self._train_sampler_state)
        return self.train_sampler

    def state_dict(self) -> dict[str, Any]:
        """Where the training epoch stands, so a resumed run trains on the batches it had left."""
        if self.train_sampler is None or self.trainer is None:
            return {}
        done = batches_done_this_epoch(self.trainer)
        state = self.train_sampler.state_dict(done, self.trainer.num_training_batches)
        return {"train_sampler": state}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._train_sampler_state = state_dict.get("train_sampler", {})

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, shuffle=False)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """uint8 images → float in [0, 1], on the device the batch now lives on (4x less to copy).

        Takes (images, labels) or images alone (the model summary's example input, predict).
        """
        if isinstance(batch, (tuple, list)):
            return (to_unit_float(batch[0]), *batch[1:])
        return to_unit_float(batch)
