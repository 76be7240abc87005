"""Damaged data files stop the run before training, naming the file, what is wrong and the fix."""

import gzip
import shutil

import pytest
import torch

from mnist_cnn.data.idx import IDXError
from mnist_cnn.train import train
from tests.fixtures import compose_config, overrides, write_idx

IMAGES, LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"


def _truncate(raw):
    path = raw / IMAGES
    path.write_bytes(path.read_bytes()[:-100])
    return path


def _wrong_magic(raw):
    path = raw / LABELS
    path.write_bytes(b"\x00\x00\x0d\x01" + path.read_bytes()[4:])
    return path


def _wrong_shape(raw):
    return write_idx(raw / IMAGES, torch.zeros(600, 784, dtype=torch.uint8))


def _label_out_of_range(raw):
    return write_idx(raw / LABELS, torch.full((600,), 12, dtype=torch.uint8))


def _half_downloaded_archive(raw):
    # torchvision keeps the .gz beside the extracted file; only the archive is here, cut short.
    path = raw / f"{IMAGES}.gz"
    path.write_bytes(gzip.compress((raw / IMAGES).read_bytes())[:5000])
    (raw / IMAGES).unlink()
    return path


@pytest.mark.parametrize(
    ("damage", "what"),
    [
        (_truncate, "truncated"),
        (_wrong_magic, "not an unsigned-byte IDX file"),
        (_wrong_shape, r"must be \(N, H, W\)"),
        (_label_out_of_range, r"label 12 is out of range 0\.\.9"),
        (_half_downloaded_archive, "cannot be read"),
    ],
)
def test_damaged_file_stops_the_run_before_training(damage, what, tiny_data_dir, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(tiny_data_dir, data_dir)
    path = damage(data_dir / "MNIST" / "raw")
    run_dir = tmp_path / "run"
    cfg = compose_config("train", overrides(data_dir), run_dir)
    with pytest.raises(IDXError, match=what) as info:
        train(cfg)
    message = str(info.value)
    assert str(path) in message and f"Delete {path}" in message
    # Stopped before the first step: no checkpoint, no metrics claiming a result.
    assert not (run_dir / "checkpoints").exists()
    assert not (run_dir / "metrics.json").exists()
