import re
import sys
import time

import pytest
import torch
from torch.utils.data import BatchSampler, RandomSampler

from mnist_cnn.data.datamodule import DataNotFoundError, MnistDataModule, TensorDigits
from mnist_cnn.data.idx import load_split


def _setup(data_dir, **kwargs) -> MnistDataModule:
    datamodule = MnistDataModule(data_dir=str(data_dir), download=False, **kwargs)
    datamodule.prepare_data()
    datamodule.setup()
    return datamodule


def test_splits_sizes_dtypes_and_range(tiny_data_dir):
    dm = _setup(tiny_data_dir, batch_size=64)
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (540, 60, 300)
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (64, 1, 28, 28) and images.dtype == torch.uint8
    assert labels.dtype == torch.int64
    images, _ = dm.on_after_batch_transfer((images, labels), 0)
    assert images.dtype == torch.float32
    assert images.min() >= 0.0 and images.max() <= 1.0 and images.max() > 0.5


def test_val_split_is_seeded_and_disjoint_from_train(tiny_data_dir):
    first, again = _setup(tiny_data_dir), _setup(tiny_data_dir)
    other = _setup(tiny_data_dir, split_seed=7)
    assert torch.equal(first.val_set.images, again.val_set.images)
    assert not torch.equal(first.val_set.images, other.val_set.images)
    # Every training image goes to exactly one side: the union is the official training set.
    official = load_split(tiny_data_dir / "MNIST" / "raw", "train")[0]
    train_rows, val_rows = _rows(first.train_set.images), _rows(first.val_set.images)
    assert not train_rows & val_rows
    assert train_rows | val_rows == _rows(official)


def _rows(images: torch.Tensor) -> set[bytes]:
    return {bytes(image.numpy()) for image in images}


def test_official_test_set_is_kept_whole_and_in_order(tiny_data_dir):
    dm = _setup(tiny_data_dir, batch_size=128)
    images, labels = load_split(tiny_data_dir / "MNIST" / "raw", "test")
    batches = list(dm.test_dataloader())
    assert torch.equal(torch.cat([b[0] for b in batches]), images)
    assert torch.equal(torch.cat([b[1] for b in batches]), labels)


def test_batched_gather_yields_what_a_plain_sampler_would():
    images = torch.arange(1000, dtype=torch.int64).view(1000, 1, 1, 1)
    dataset = TensorDigits(images, torch.arange(1000))
    generator = torch.Generator().manual_seed(3)
    sampler = BatchSampler(RandomSampler(dataset, generator=generator), 128, drop_last=False)
    seen = []
    for indices in sampler:
        batch_images, batch_labels = dataset.__getitems__(indices)
        assert torch.equal(batch_images.flatten(), torch.tensor(indices))
        assert torch.equal(batch_labels, torch.tensor(indices))
        seen += indices
    assert sorted(seen) == list(range(1000))  # nothing lost, nothing repeated


def test_missing_data_fails_fast_with_the_fix(tmp_path):
    started = time.perf_counter()
    dm = MnistDataModule(data_dir=str(tmp_path / "nowhere"), download=False)
    with pytest.raises(DataNotFoundError) as info:
        dm.prepare_data()
    message = str(info.value)
    for expected in [
        str((tmp_path / "nowhere" / "MNIST" / "raw").resolve()),
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
        "data.data_dir=",
    ]:
        assert expected in message
    assert time.perf_counter() - started < 5


def test_a_dataset_of_your_own_is_never_downloaded(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # any download attempt fails to import
    dm = MnistDataModule(data_dir=str(tmp_path), dataset="MyDigits", download=True)
    with pytest.raises(DataNotFoundError) as info:
        dm.prepare_data()
    message = str(info.value)
    assert (
        "MyDigits files not found in " + str((tmp_path / "MyDigits" / "raw").resolve()) in message
    )
    assert "never downloaded" in message and "t10k-labels-idx1-ubyte" in message


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [({"batch_size": 0}, "data.batch_size=0"), ({"val_fraction": 1.0}, "data.val_fraction=1.0")],
)
def test_bad_values_name_their_key(kwargs, key):
    with pytest.raises(ValueError, match=re.escape(key)):
        MnistDataModule(**kwargs)


def _labels_seen(loader) -> list[int]:
    return [int(label) for _, labels in loader for label in labels]


def test_every_sample_once_per_epoch_under_ddp(tiny_data_dir):
    """Each training image once per epoch, on one process and over two ranks; each val/test
    image exactly once even when the split does not divide evenly."""
    from types import SimpleNamespace

    from lightning.pytorch.utilities.data import _update_dataloader
    from torch.utils.data import DistributedSampler

    dm = _setup(tiny_data_dir, batch_size=64)
    for dataset in (dm.train_set, dm.val_set, dm.test_set):
        dataset.labels = torch.arange(len(dataset))  # label = index, to track samples
    dm.test_set = TensorDigits(dm.test_set.images[:299], dm.test_set.labels[:299])  # odd size

    # One process: the project's own training loader (ResumableShuffle) is one permutation.
    assert sorted(_labels_seen(dm.train_dataloader())) == list(range(540))

    train_seen, val_seen, test_seen = [], [], []
    for rank in (0, 1):
        # What Lightning does to a training DataLoader under DDP.
        sampler = DistributedSampler(dm.train_set, num_replicas=2, rank=rank, shuffle=True, seed=0)
        train_seen += _labels_seen(_update_dataloader(dm.train_dataloader(), sampler))
        dm.trainer = SimpleNamespace(world_size=2, global_rank=rank)
        dm.batch_size_per_device = 32
        val_seen += _labels_seen(dm.val_dataloader())
        test_seen += _labels_seen(dm.test_dataloader())
    assert sorted(train_seen) == list(range(540))
    assert sorted(val_seen) == list(range(60))
    assert sorted(test_seen) == list(range(299))
