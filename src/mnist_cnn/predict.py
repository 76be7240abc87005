"""Predict images: `python predict.py ckpt_path=PATH inputs=[a.png,folder/,IDX file]`."""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig, OmegaConf

from mnist_cnn.atomic import write_json
from mnist_cnn.cli import entry_point
from mnist_cnn.preflight import check_file

if TYPE_CHECKING:  # imported where used: listing the inputs needs no torch
    from mnist_cnn.inference.classifier import Classifier, Prediction

COLUMNS = ("file", "prediction", "index", "confidence", "top3", "error")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")  # what a folder input is searched for, with IDX


@dataclass(frozen=True)
class Refused:
    """An input refused while its folder was listed (a link out of the folder), and why."""

    path: Path
    reason: str


def expand(inputs: str | Sequence[str], max_files: int) -> list[Path | Refused]:
    """Files as given (a plain string is one input); folders → their PNG/JPEG/IDX files, sorted.

    A folder is walked without leaving it: a link inside it to an image or a folder outside
    it is Refused (its row says so), and links to folders are never followed. A folder holding
    more than `max_files` files is refused before any is read.
    """
    paths: list[Path | Refused] = []
    for item in [inputs] if isinstance(inputs, str) else inputs:
        path = Path(item)
        if path.is_dir():
            paths += _folder(path, max_files)
        elif path.exists():
            paths.append(path)
        else:
            raise FileNotFoundError(f"inputs: {path} does not exist; give image files or folders.")
    return paths


def _folder(folder: Path, max_files: int) -> list[Path | Refused]:
    found, root = [], folder.resolve()
    for parent, folders, files in os.walk(folder):  # never follows links to folders
        for name in sorted(files) + sorted(f for f in folders if (Path(parent) / f).is_symlink()):
            found.append(Path(parent) / name)
            if len(found) > max_files:
                raise ValueError(
                    f"inputs: {folder} holds more than max_files={max_files} files (found while "
                    f"listing, before reading any); give a smaller folder or raise max_files."
                )
    kept: list[Path | Refused] = []
    for path in sorted(found):
        outside = path.is_symlink() and not path.resolve().is_relative_to(root)
        if outside and (path.is_dir() or _is_known(path)):
            kept.append(Refused(path, f"a link to {path.resolve()}, outside the folder {folder}"))
        elif not outside and path.is_file() and _is_known(path):
            kept.append(path)
    return kept


def _is_known(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES or _is_idx(path)


def _is_idx(path: Path) -> bool:
    return "-ubyte" in path.name or path.suffix == ".idx"


def predict(classifier: Classifier, paths: list[Path | Refused]) -> list[Prediction]:
    """One row per image, in input order; an IDX file gives one row per image it holds."""
    from mnist_cnn.data.idx import read_idx
    from mnist_cnn.inference.images import ImageError

    names, digits = [], []
    for path in paths:
        if isinstance(path, Refused):  # while listing its folder
            names.append(str(path.path))
            digits.append(ImageError(path.reason))
            continue
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


def run(cfg: DictConfig) -> list[Prediction]:
    """Predict `cfg.inputs` with `cfg.ckpt_path`; write the rows to `cfg.output` if set."""
    if Path(cfg.ckpt_path).suffix != ".onnx":
        check_file(cfg.ckpt_path, "ckpt_path")
    paths = expand(cfg.inputs if isinstance(cfg.inputs, str) else list(cfg.inputs), cfg.max_files)
    from mnist_cnn.inference.classifier import load_classifier

    classifier = load_classifier(
        cfg.ckpt_path,
        OmegaConf.to_container(cfg.data, resolve=True),
        cfg.allow_other_data,
        batch_size=cfg.batch_size,
        invert=cfg.invert,
        max_pixels=cfg.max_pixels,
    )
    if classifier.origin:
        print(classifier.origin, file=sys.stderr)  # stdout is the table
    results = predict(classifier, paths)
    if cfg.output:
        write_rows(results, Path(cfg.output))
    return results


@entry_point("predict")
def main(cfg: DictConfig) -> None:
    """classify images, print a table, optionally write it."""
    results = run(cfg)
    print_table(results)
    failed = [result for result in results if result.error]
    if failed:
        print(f"{len(failed)} of {len(results)} inputs refused (reasons above).", file=sys.stderr)
        raise SystemExit(1)
