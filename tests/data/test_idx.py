import gzip
import struct
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from mnist_cnn.checkpoint import CONFIG_KEY
from mnist_cnn.data.idx import IDXError, load_split, read_idx
from mnist_cnn.stored_config import stored_config
from tests.fixtures import compose_config, peak_kib, synthetic_digits, write_dataset, write_idx


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


def _gzip_bomb(path: Path, gib: int = 2) -> Path:
    """A small .gz with a valid 60000x28x28 header whose data goes on for `gib` GiB of zeros."""
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 60000, 28, 28)
    chunk = gzip.compress(bytes(64 << 20), compresslevel=1)  # gzip members concatenate
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.write(gzip.compress(header + bytes(60000 * 28 * 28), compresslevel=1))
        f.writelines([chunk] * (gib * 16))
    return path


def test_header_promising_too_much_is_refused_unread(tmp_path):
    path = tmp_path / "huge-ubyte"
    path.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">3I", 100_000, 4096, 4096))
    with pytest.raises(IDXError, match=r"promises 1,677,721,600,000 bytes, over the limit"):
        read_idx(path)


def test_plain_file_size_is_checked_before_reading(tmp_path):
    path = write_idx(tmp_path / "images", torch.zeros(10, 28, 28, dtype=torch.uint8))
    with path.open("ab") as f:
        f.truncate(path.stat().st_size + (1 << 30))  # 1 GiB of padding, sparse on disk
    with pytest.raises(IDXError, match=r"needs 7856 \(truncated or padded\)"):
        read_idx(path)


@pytest.mark.slow
def test_gzip_bomb_is_refused_by_train_and_predict_within_1_gib(tmp_path):
    # Importing torch (a CUDA build) and Lightning takes ~0.75 GiB here, so besides the 1 GiB
    # bound each command is held against itself refusing a small bad file.
    raw = tmp_path / "MNIST" / "raw"
    bomb = _gzip_bomb(raw / "train-images-idx3-ubyte.gz")
    labels = torch.zeros(60000, dtype=torch.uint8)
    write_idx(raw / "train-labels-idx1-ubyte", labels)
    write_idx(raw / "t10k-images-idx3-ubyte", torch.zeros(10, 28, 28, dtype=torch.uint8))
    write_idx(raw / "t10k-labels-idx1-ubyte", labels[:10])
    # The same four files but a small damaged training file: refused at the same point, after
    # torch and Lightning are imported (missing files are refused before that).
    small_bad = tmp_path / "small" / "MNIST" / "raw"
    small_bad.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (small_bad / name).write_bytes(b"not idx")
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (small_bad / name).write_bytes((raw / name).read_bytes())
    reader = tmp_path / "read.py"
    reader.write_text(
        "import sys\nfrom mnist_cnn.data.idx import read_idx\nread_idx(sys.argv[1])\n"
    )
    peak, output = peak_kib(str(reader), str(bomb))
    assert "(truncated or padded)" in output
    assert peak < 1 << 20, f"reading the bomb peaked at {peak / 1024:.0f} MiB"
    train = ["data.download=false", "logger=none", "trainer.accelerator=cpu"]
    peak, output = peak_kib(
        "train.py", f"data.data_dir={tmp_path}", *train, f"hydra.run.dir={tmp_path / 'run'}"
    )
    assert f"{bomb}: 48088592+ bytes, but its header (60000, 28, 28) needs 47040016" in output
    baseline, _ = peak_kib(
        "train.py", f"data.data_dir={tmp_path / 'small'}", *train, f"hydra.run.dir={tmp_path / 'r'}"
    )
    assert peak < 1 << 20, f"train.py peaked at {peak / 1024:.0f} MiB"
    assert peak - baseline < 128 << 10, f"train.py: {peak - baseline} KiB more than a small file"
    cfg = compose_config("train", [], tmp_path / "model")
    ckpt = tmp_path / "model.ckpt"
    config = stored_config(OmegaConf.to_container(cfg, resolve=True))
    torch.save({CONFIG_KEY: config, "state_dict": instantiate(cfg.model).state_dict()}, ckpt)
    predict = [f"ckpt_path={ckpt}", f"hydra.run.dir={tmp_path / 'p'}"]
    peak, output = peak_kib("predict.py", *predict, f"inputs=[{bomb}]")
    assert "refused: " in output and "(truncated or padded)" in output
    baseline, _ = peak_kib(
        "predict.py", *predict, f"inputs=[{small_bad / 'train-images-idx3-ubyte'}]"
    )
    assert peak < 1 << 20, f"predict.py peaked at {peak / 1024:.0f} MiB"
    assert peak - baseline < 128 << 10, f"predict.py: {peak - baseline} KiB more than a small file"
