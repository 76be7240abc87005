"""Untrusted images: predict refuses damaged, fake and oversized files one by one, with a reason,
predicts the rest, writes every row, and exits non-zero."""

from __future__ import annotations

import csv
import io
import struct
import zlib
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from PIL import Image

from mnist_cnn.checkpoint import CONFIG_KEY
from mnist_cnn.inference.images import ImageError, open_image
from mnist_cnn.stored_config import stored_config
from tests.fixtures import compose_config, run_cli, synthetic_digits


def _png_bytes(image: Image.Image, format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format)
    return buffer.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A valid PNG header for a huge grey image, with a few bytes of data: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b"")
    )  # fmt: skip


def _untrusted_files(folder: Path) -> dict[str, str]:
    """Writes good and bad files; returns file name → the reason predict must give (or "")."""
    folder.mkdir()
    digit = Image.fromarray(synthetic_digits(1)[0][0, 0].numpy())
    good = _png_bytes(digit)
    photo = _png_bytes(digit.convert("RGB").resize((300, 300)), "JPEG")
    corrupt = bytearray(good)
    corrupt[60:120] = bytes(60)  # zeroed compressed data: the checksum no longer matches
    files = {
        "good.png": (good, ""),
        "photo.jpg": (photo, ""),
        "truncated.png": (good[: len(good) // 2], "image file is truncated"),
        "truncated.jpg": (photo[: len(photo) // 2], "image file is truncated"),
        "corrupt.png": (bytes(corrupt), "broken data stream"),
        "notes.png": (b"shopping list: milk, eggs\n", "not a PNG or JPEG"),
        "bomb.png": (_png_claiming(30_000, 30_000), "decompression bomb"),
        "big.png": (_png_claiming(8_000, 8_000), "over the limit of 40,000,000"),
    }
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    return {name: reason for name, (_, reason) in files.items()}


@pytest.fixture
def untrained_checkpoint(tmp_path) -> Path:
    """A checkpoint as train.py writes it (weights plus config), without spending time training."""
    cfg = compose_config("train", [], tmp_path / "run")
    model = instantiate(cfg.model)
    path = tmp_path / "model.ckpt"
    config = stored_config(OmegaConf.to_container(cfg, resolve=True))
    torch.save({"state_dict": model.state_dict(), CONFIG_KEY: config}, path)
    return path


def test_each_bad_file_is_refused_with_its_reason(tmp_path):
    for name, reason in _untrusted_files(tmp_path / "images").items():
        path = tmp_path / "images" / name
        if reason:
            with pytest.raises(ImageError, match=reason):
                open_image(path)
        else:
            assert open_image(path).size in ((28, 28), (300, 300))


@pytest.mark.slow
def test_predict_refuses_bad_files_predicts_the_rest_and_exits_non_zero(
    untrained_checkpoint, tmp_path
):
    expected = _untrusted_files(tmp_path / "images")
    result = run_cli(
        "predict.py", f"ckpt_path={untrained_checkpoint}", f"inputs=[{tmp_path / 'images'}]",
        f"output={tmp_path / 'preds.csv'}", f"hydra.run.dir={tmp_path / 'run'}", timeout=120,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-3000:]
    assert "6 of 8 inputs refused" in result.stderr
    rows = {Path(row["file"]).name: row for row in csv.DictReader((tmp_path / "preds.csv").open())}
    assert rows.keys() == expected.keys()
    for name, reason in expected.items():
        if reason:
            assert reason in rows[name]["error"] and rows[name]["prediction"] == "", rows[name]
            assert f"refused: {rows[name]['error']}" in result.stdout
        else:
            assert rows[name]["error"] == "" and rows[name]["prediction"] in "0123456789"
