"""Predict images: `python predict.py ckpt_path=PATH inputs=[a.png,folder/,IDX file]`."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from mnist_cnn.data.idx import read_idx
from mnist_cnn.inference.classifier import Classifier, Prediction, load_classifier
from mnist_cnn.inference.images import IMAGE_SUFFIXES, ImageError
from mnist_cnn.launch.entry_point import entry_point
from mnist_cnn.utils.io import write_json

COLUMNS = ("file", "prediction", "index", "confidence", "top3", "error")


def expand(inputs: list[str]) -> list[Path]:
    """Files as given; folders → their PNG/JPEG/IDX files, sorted."""
    paths = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            paths += sorted(p for p in path.rglob("*") if p.is_file() and _is_known(p))
        elif path.exists():
            paths.append(path)
        else:
            raise FileNotFoundError(f"inputs: {path} does not exist; give image files or folders.")
    return paths


def _is_known(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES or _is_idx(path)


def _is_idx(path: Path) -> bool:
    return "-ubyte" in path.name or path.suffix == ".idx"


def predict(classifier: Classifier, paths: list[Path]) -> list[Prediction]:
    """One row per image, in input order; an IDX file gives one row per image it holds."""
    names, digits = [], []
    for path in paths:
        if not _is_idx(path):
            names.append(str(path))
            digits.append(classifier.prepare(path))
            continue
        try:
            images = read_idx(path)  # (N, H, W) uint8
            if images.ndim != 3:
                raise ImageError(f"IDX of shape {tuple(images.shape)}: expected images (N, H, W)")
        except ValueError as err:  # IDXError and ImageError
            names.append(str(path))
            digits.append(ImageError(str(err)))
            continue
        names += [f"{path}[{i}]" for i in range(len(images))]
        digits += [classifier.prepare(image) for image in images]
    return classifier.predict_digits(names, digits)


def _row(result: Prediction) -> dict[str, object]:
    top3 = "; ".join(f"{name} {p:.3f}" for name, p in result.top3)
    return {**result.__dict__, "top3": top3, "error": result.error or ""}


def write_rows(results: list[Prediction], output: Path) -> None:
    """`.csv` (top3 as "7 0.998; 2 0.001; 3 0.000") or `.json` (top3 as [name, p] pairs)."""
    if output.suffix == ".json":
        write_json(output, [result.__dict__ for result in results])
    elif output.suffix == ".csv":
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(_row(result) for result in results)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text.getvalue())
    else:
        raise ValueError(f"output={output}: must end in .csv or .json, e.g. output=preds.csv.")


def print_table(results: list[Prediction]) -> None:
    width = max([len("file"), *(len(result.file) for result in results)])
    print(f"{'file':<{width}}  {'prediction':<12}{'confidence':>10}  top3")
    for result in results:
        if result.error:
            prediction, confidence, top3 = "-", "-", f"refused: {result.error}"
        else:
            prediction, confidence = result.prediction, f"{result.confidence:.3f}"
            top3 = _row(result)["top3"]
        print(f"{result.file:<{width}}  {prediction:<12}{confidence:>10}  {top3}")


@entry_point("predict")
def main(cfg: DictConfig) -> None:
    """classify images, print a table, optionally write it."""
    classifier = load_classifier(
        cfg.ckpt_path,
        OmegaConf.to_container(cfg.data, resolve=True),
        cfg.allow_other_data,
        batch_size=cfg.batch_size,
        invert=cfg.invert,
        max_pixels=cfg.max_pixels,
    )
    results = predict(classifier, expand(list(cfg.inputs)))
    if cfg.output:
        write_rows(results, Path(cfg.output))
    print_table(results)
    failed = [result for result in results if result.error]
    if failed:
        print(f"{len(failed)} of {len(results)} inputs refused (reasons above).", file=sys.stderr)
        raise SystemExit(1)
