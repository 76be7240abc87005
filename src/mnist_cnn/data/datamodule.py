"""LightningDataModule: MNIST-format splits as in-memory uint8 tensors, gathered a batch at a
time by index, shuffled in an order a checkpoint can resume mid-epoch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from mnist_cnn.data.idx import (
    DataNotFoundError,
    load_split,
    missing_files,
    not_found,
    resolve_class_names,
    to_unit_float,
)
from mnist_cnn.private_apis import batches_done_this_epoch, unrepeated_distributed_sampler

# The MNIST-format datasets torchvision can download; any other name is a dataset of your own.
DOWNLOADABLE = ("MNIST", "FashionMNIST", "KMNIST")


class TensorDigits(Dataset):
    """Images and labels held as tensors; a whole batch is gathered with one index op."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[index], self.labels[index]

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        # DataLoader calls this with a batch's indices instead of one __getitem__ per sample;
        # its collate_fn (whole_batch) then has nothing left to do.
        return self[torch.as_tensor(indices, device=self.images.device)]


def whole_batch(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    return batch


class ResumableShuffle(Sampler[int]):
    """A new random order every epoch (`set_epoch`, as Lightning calls it), a function of (seed,
    epoch) alone: a resumed run rebuilds the interrupted epoch's order and skips what it did."""

    def __init__(self, num_samples: int, batch_size: int, seed: int) -> None:
        self.num_samples, self.batch_size, self.seed = num_samples, batch_size, seed
        self.epoch, self.start = 0, 0  # start: samples of this epoch done (only after a resume)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        # The whole epoch, also when resuming: Lightning counts the batches already done itself.
        return self.num_samples

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed((self.seed + self.epoch) % 2**63)
        order = torch.randperm(self.num_samples, generator=generator)  # (num_samples,)
        start, self.start = self.start, 0
        yield from order[start:].tolist()

    def state_dict(self, batches_done: int, batches_per_epoch: int) -> dict[str, Any]:
        """Where training stands after `batches_done` batches of the current epoch."""
        if batches_done >= batches_per_epoch:  # the epoch is over: the next one starts afresh
            return {"seed": self.seed, "epoch": self.epoch + 1, "start": 0}
        return {"seed": self.seed, "epoch": self.epoch, "start": batches_done * self.batch_size}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.seed, self.epoch, self.start = state["seed"], state["epoch"], state["start"]


class MnistDataModule(L.LightningDataModule):
    """MNIST (or FashionMNIST, KMNIST): a seeded validation split of the official training set
    (or fold `fold` of `num_folds`), the official test set untouched, all held on the training
    device (`on_device`). `batch_size` is global, as in Keras: N DDP processes take 1/N each."""

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
        self.train_set = self.val_set = self.test_set = None
        self.train_sampler: ResumableShuffle | None = None
        self._train_sampler_state: dict[str, Any] = {}

    def _not_found(self, reason: str) -> DataNotFoundError:
        data_dir, dataset = Path(self.hparams.data_dir), self.hparams.dataset
        return DataNotFoundError(not_found(data_dir, dataset, reason))

    def prepare_data(self) -> None:
        """Download with torchvision what is missing (once per node); your own datasets never."""
        if not missing_files(Path(self.hparams.data_dir), self.hparams.dataset):
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
        if missing_files(Path(self.hparams.data_dir), self.hparams.dataset):
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
        """Keep the uint8 datasets on `device`: batches are gathered there, with no copies per
        step but the batch's indices (MNIST is 55 MB as uint8; a GPU holds it easily)."""
        for dataset in filter(None, (self.train_set, self.val_set, self.test_set)):
            dataset.images, dataset.labels = dataset.images.to(device), dataset.labels.to(device)

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
        # Keyword arguments only: Lightning rebuilds the loader under DDP from them.
        return DataLoader(
            dataset, batch_size=self.batch_size_per_device, shuffle=shuffle, sampler=sampler,
            collate_fn=whole_batch,
        )  # fmt: skip

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
        """uint8 images → float in [0, 1] on the batch's device (4x less to copy); (images,
        labels) or images alone."""
        if isinstance(batch, (tuple, list)):
            return (to_unit_float(batch[0]), *batch[1:])
        return to_unit_float(batch)
