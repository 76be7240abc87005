import pytest
import torch

from mnist_cnn.data.idx import IDXError, load_split, read_idx, write_idx
from mnist_cnn.data.samples import synthetic_digits, write_dataset


@pytest.mark.parametrize("name", ["x-ubyte", "x-ubyte.gz"])
def test_round_trip(tmp_path, name):
    data = torch.randint(0, 256, (4, 3, 2), dtype=torch.uint8)
    assert torch.equal(read_idx(write_idx(tmp_path / name, data)), data)


def test_truncated_file_is_named(tmp_path):
    path = write_idx(tmp_path / "images", torch.zeros(10, 28, 28, dtype=torch.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(IDXError, match=r"images: .*truncated.*Delete"):
        read_idx(path)


def test_wrong_magic_is_named(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(b"\x1f\x8b\x08\x00" + bytes(20))
    with pytest.raises(IDXError, match="not an unsigned-byte IDX file"):
        read_idx(path)


def test_half_written_gzip_is_named(tmp_path):
    path = write_idx(tmp_path / "images.gz", torch.zeros(100, 28, 28, dtype=torch.uint8))
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(IDXError, match="cannot be read"):
        read_idx(path)


def test_split_checks_shapes_and_labels(tmp_path):
    images, labels = synthetic_digits(20)
    write_dataset(tmp_path, (images, labels), (images, labels))
    raw = tmp_path / "MNIST" / "raw"
    got_images, got_labels = load_split(raw, "train")
    assert got_images.shape == (20, 1, 28, 28) and got_images.dtype == torch.uint8
    assert torch.equal(got_labels, labels)

    write_idx(raw / "train-labels-idx1-ubyte", torch.full((20,), 10, dtype=torch.uint8))
    with pytest.raises(IDXError, match=r"label 10 is out of range 0\.\.9"):
        load_split(raw, "train")
    write_idx(raw / "train-labels-idx1-ubyte", labels[:19])
    with pytest.raises(IDXError, match=r"20 images .* but 19 labels"):
        load_split(raw, "train")
    write_idx(raw / "train-images-idx3-ubyte", torch.zeros(20, 784, dtype=torch.uint8))
    with pytest.raises(IDXError, match=r"must be \(N, H, W\)"):
        load_split(raw, "train")


def test_gz_files_are_read_like_plain_ones(tmp_path):
    images, labels = synthetic_digits(8)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images[:, 0])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    got_images, got_labels = load_split(tmp_path, "test")
    assert torch.equal(got_images, images) and torch.equal(got_labels, labels)
