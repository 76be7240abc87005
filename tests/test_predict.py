"""Predict: PNG/JPEG files, folders and IDX files → one row per image, as the user sees them."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from mnist_cnn.inference import load_classifier
from mnist_cnn.inference.images import is_dark_on_light, to_mnist
from mnist_cnn.predict import run
from tests.fixtures import NO_REAL_DIGITS, compose_config, read_metrics, run_cli, synthetic_digits


def _write_pngs(images: torch.Tensor, labels: torch.Tensor, folder):
    folder.mkdir()
    for number, (image, label) in enumerate(zip(images, labels, strict=True)):
        Image.fromarray(image[0].numpy()).save(folder / f"{number:04d}_{label}.png")
    return folder


@pytest.mark.slow
def test_predict_on_300_real_digit_pngs_matches_eval_accuracy(
    t10k, tiny_data_dir, checkpoint, tmp_path
):
    if t10k is None:
        pytest.skip(NO_REAL_DIGITS)
    images, labels = t10k[0][600:900], t10k[1][600:900]  # the tiny data's test split
    folder = _write_pngs(images, labels, tmp_path / "pngs")
    result = run_cli(
        "predict.py", f"ckpt_path={checkpoint}", f"inputs=[{folder}]",
        f"output={tmp_path / 'preds.csv'}", f"hydra.run.dir={tmp_path / 'run'}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = list(csv.DictReader((tmp_path / "preds.csv").open()))
    assert len(rows) == 300 and rows[0].keys() >= {"file", "prediction", "confidence", "top3"}
    correct = sum(row["prediction"] == row["file"].rsplit("_", 1)[1][:-4] for row in rows)
    # The same digits through eval.py's path: the DataModule's test split.
    eval_cfg = compose_config(
        "eval", [f"ckpt_path={checkpoint}", f"data.data_dir={tiny_data_dir}"], tmp_path / "eval"
    )
    from mnist_cnn.eval import evaluate

    evaluate(eval_cfg)
    assert correct / 300 == pytest.approx(read_metrics(tmp_path / "eval")["test/acc"], abs=1e-6)
    # eval.py's run folder gets the test-time pictures too (no curves: it did not train).
    assert (tmp_path / "eval" / "confusion_matrix.png").is_file()
    assert not (tmp_path / "eval" / "curves.png").exists()
    assert correct / 300 > 0.5  # trained, not guessing
    # The printed table: a header and one row per image, with top-3.
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["file", "prediction", "confidence", "top3"] and len(lines) == 301


def test_dark_on_light_rgb_and_odd_size_images_become_mnist_digits(t10k, checkpoint):
    if t10k is None:
        pytest.skip(NO_REAL_DIGITS)
    classify = load_classifier(checkpoint)
    originals = [Image.fromarray(image[0].numpy()) for image in t10k[0][:40]]
    paper = [ImageOps.invert(image).convert("RGB") for image in originals]  # black ink on white
    assert all(is_dark_on_light(ImageOps.grayscale(image)) for image in paper)
    for original, image in zip(originals, paper, strict=True):
        assert torch.equal(to_mnist(image), to_mnist(original))  # inverted back, exactly
    # Photographed-size versions: 4x larger, off centre on a 150x120 white page.
    pages = []
    for image in paper:
        page = Image.new("RGB", (150, 120), "white")
        page.paste(image.resize((112, 112), Image.Resampling.BICUBIC), (30, 4))
        pages.append(page)
    reference = [p.index for p in classify(originals)]
    agree = sum(p.index == r for p, r in zip(classify(pages), reference, strict=True))
    assert agree >= 34, f"only {agree} of 40 odd-size pages predicted as their 28x28 originals"
    assert to_mnist(pages[0]).shape == (1, 28, 28)


def test_python_api_takes_paths_pil_arrays_and_tensors(t10k, tiny_data_dir, checkpoint, tmp_path):
    digits = t10k[0][:4] if t10k is not None else torch.randint(0, 256, (4, 1, 28, 28)).byte()
    path = tmp_path / "digit.png"
    Image.fromarray(digits[0, 0].numpy()).save(path)
    classify = load_classifier(checkpoint)
    as_float = digits.float() / 255  # (4, 1, 28, 28), as the DataModule feeds the network
    results = classify([path, Image.open(path), digits[0, 0].numpy(), as_float[0], as_float])
    assert len(results) == 8 and results[0].file == str(path)
    assert len({r.index for r in results[:4]}) == 1 and results[0].index == results[4].index
    with torch.inference_mode():
        expected = load_classifier(checkpoint).probabilities(as_float).argmax(dim=1)
    assert [r.index for r in results[4:]] == expected.tolist()
    assert len(results[0].top3) == 3 and results[0].top3[0][0] == results[0].prediction


def test_idx_input_and_json_output(tiny_data_dir, checkpoint, tmp_path):
    from mnist_cnn.predict import expand, predict, write_rows

    idx = tiny_data_dir / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    results = predict(load_classifier(checkpoint), expand([str(idx)], max_files=10))
    assert len(results) == 300 and results[7].file == f"{idx}[7]"
    write_rows(results, tmp_path / "preds.json")
    rows = json.loads((tmp_path / "preds.json").read_text())
    assert rows[7]["prediction"] == results[7].prediction and rows[7]["error"] is None
    with pytest.raises(ValueError, match=r"output=.*\.csv or \.json"):
        write_rows(results, tmp_path / "preds.txt")


def test_a_blank_page_is_predicted_not_refused(checkpoint):
    (result,) = load_classifier(checkpoint)(np.full((50, 40, 3), 255, dtype=np.uint8))
    assert result.error is None and 0.0 < result.confidence <= 1.0


@pytest.fixture
def digit_folder(t10k, tmp_path):
    """digits/ holding three real (or generated) test digits as PNG files."""
    images, labels = t10k if t10k is not None else synthetic_digits(3)
    return _write_pngs(images[:3], labels[:3], tmp_path / "digits")


def _predict(checkpoint, tmp_path, inputs, *extra):
    cfg = compose_config(
        "predict", [f"ckpt_path={checkpoint}", f"inputs={inputs}", *extra], tmp_path / "run"
    )
    return run(cfg)


def test_one_path_needs_no_brackets_relative_dot_or_absolute(
    digit_folder, checkpoint, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    first = sorted(digit_folder.iterdir())[0]
    for given in (f"digits/{first.name}", f"./digits/{first.name}", str(first)):
        (result,) = _predict(checkpoint, tmp_path, given)
        assert Path(result.file) == Path(given) and result.error is None and result.prediction
    assert [r.file for r in _predict(checkpoint, tmp_path, "digits")] == [
        f"digits/{path.name}" for path in sorted(digit_folder.iterdir())
    ]


def test_a_folder_never_leads_outside_itself(digit_folder, checkpoint, tmp_path):
    outside = tmp_path / "private"
    outside.mkdir()
    Image.new("L", (28, 28)).save(outside / "secret.png")
    (digit_folder / "link.png").symlink_to(outside / "secret.png")
    (digit_folder / "linked_folder").symlink_to(outside)
    (digit_folder / "same.png").symlink_to(next(digit_folder.glob("0000_*.png")))  # inside
    results = {Path(r.file).name: r for r in _predict(checkpoint, tmp_path, digit_folder)}
    assert set(results) == {*(p.name for p in digit_folder.iterdir())}
    for name in ("link.png", "linked_folder"):
        assert results[name].error.startswith(f"a link to {outside}"), results[name]
        assert results[name].prediction is None
    assert results["same.png"].error is None  # a link that stays inside is read
    assert sum(r.error is None for r in results.values()) == 4


def test_a_folder_of_too_many_files_is_refused_before_any_is_read(checkpoint, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for number in range(6):
        (folder / f"{number}.png").write_bytes(b"never read")
    with pytest.raises(ValueError, match=rf"inputs: {folder} holds more than max_files=5 files"):
        _predict(checkpoint, tmp_path, folder, "max_files=5")
    assert len(_predict(checkpoint, tmp_path, folder, "max_files=6")) == 6  # all refused: not PNG
