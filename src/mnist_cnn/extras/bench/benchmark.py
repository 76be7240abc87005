"""Training speed, side by side in one process: the article's plain loop, Keras 3 `fit`, this
project's `python train.py` (fp32 and bf16), an equally optimised hand loop, the speedrun's time
to 99%, and the data path alone.

    python -m mnist_cnn.extras.bench.benchmark [--data-dir D] [--json out.json] [--repeats R]

Same digits for all: full MNIST from ../shared/data/mnist when present, else the 10,000 official
test digits (8,000 to train on), else generated ones. Same recipe (the Keras CNN, batch 128, Adam
1e-3, fp32). A row's figure is the median of R rounds after a warm-up round; rounds interleave the
methods (A B C, A B C, ...), so a machine whose speed drifts slows all of them alike. Per epoch
means training, validation and saving the weights. The speedrun row pairs each seed with an
article epoch run just before it. Measured figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch

from mnist_cnn.cli import CONFIG_DIR
from mnist_cnn.data.datamodule import MnistDataModule
from mnist_cnn.data.idx import load_split, write_dataset
from mnist_cnn.data.synthetic import synthetic_digits
from mnist_cnn.extras.bench import methods as bm

# The checkout's parent, where the team's machines and CI keep the MNIST files.
SHARED = CONFIG_DIR.parents[1] / "shared" / "data"
EPOCH_ROWS = ("article_epoch", "keras_epoch", "project_epoch", "project_epoch_bf16", "hand_epoch")


def find_digits(data_dir: Path | None, scratch: Path) -> tuple[Path, str]:
    """A folder holding MNIST/raw, and what it holds."""
    if data_dir is not None:
        return data_dir, str(data_dir)
    if (SHARED / "mnist" / "MNIST" / "raw").is_dir():
        return SHARED / "mnist", "full MNIST (60,000 + 10,000)"
    if (SHARED / "mnist-t10k").is_dir():
        images, labels = load_split(SHARED / "mnist-t10k", "test")
        train, test = (images[:8000], labels[:8000]), (images[8000:], labels[8000:])
        return write_dataset(scratch, train, test), "MNIST t10k digits (8,000 + 2,000)"
    train = synthetic_digits(60_000, seed=0)
    test = synthetic_digits(10_000, seed=1)
    return write_dataset(scratch, train, test), "generated digits (60,000 + 10,000)"


def machine() -> dict[str, object]:
    import platform

    import lightning as L

    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    return {
        "cpu": names[0] if names else platform.processor(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "torch": torch.__version__,
        "lightning": L.__version__,
        "python": platform.python_version(),
    }


def interleaved(runs: dict[str, Callable[[], float]], repeats: int) -> dict[str, dict]:
    """One warm-up round, then `repeats` rounds of every method in turn; seconds per round."""
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for round_index in range(repeats + 1):
        for name, run in runs.items():
            elapsed = run()
            if round_index:
                seconds[name].append(elapsed)
    return {name: {"median_s": statistics.median(s), "seconds": s} for name, s in seconds.items()}


def print_table(report: dict) -> None:
    rows, base = report["results"], report["results"].get("article_epoch", {}).get("median_s")
    print(f"\n{'method':<20} {'s/epoch':>8} {'article/this':>13}  all rounds (s)")
    for name, row in rows.items():
        if "skipped" in row:
            print(f"{name:<20} {'-':>8} {'-':>13}  skipped: {row['skipped']}")
        elif "median_s" in row:
            ratio = f"{base / row['median_s']:.2f}x" if base and name in EPOCH_ROWS else "-"
            rounds = " ".join(f"{s:.2f}" for s in row["seconds"])
            print(f"{name:<20} {row['median_s']:>8.2f} {ratio:>13}  {rounds}")
    if "vs_plain" in rows.get("checkpoint_load", {}):
        print(
            f"checking a checkpoint costs {rows['checkpoint_load']['vs_plain']:.3f}x a plain read"
        )
    run = rows.get("speedrun")
    if run and "runs" in run:
        print(
            f"speedrun: test acc {run['mean_test_acc']:.4f} (min {run['min_test_acc']:.4f}) over "
            f"{len(run['runs'])} seeds, median fit {run['median_fit_s']:.2f} s; fit / article "
            f"epoch run just before it, median over seeds: {run['fit_per_article_epoch']:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="a folder holding MNIST/raw")
    parser.add_argument("--train-images", type=int, default=54_000, help="per timed epoch")
    parser.add_argument("--val-images", type=int, default=6_000, help="per timed epoch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--speedrun-seeds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--skip", nargs="*", default=[], help="rows to leave out, e.g. keras_epoch")
    parser.add_argument(
        "--speedrun-overrides", nargs="*", default=[], help="e.g. trainer.max_epochs=1 (tests)"
    )
    args = parser.parse_args()
    os.environ.setdefault("KERAS_BACKEND", "torch")  # must precede the first `import keras`
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # no summary per round
    logging.getLogger("mnist_cnn").setLevel(logging.WARNING)
    device = torch.device(args.device)

    with tempfile.TemporaryDirectory() as scratch:
        data_dir, data_name = find_digits(args.data_dir, Path(scratch) / "digits")
        datamodule = MnistDataModule(data_dir=str(data_dir), download=False)
        datamodule.setup("fit")
        n = min(args.train_images, len(datamodule.train_set))
        train = datamodule.train_set.images[:n], datamodule.train_set.labels[:n]
        v = min(args.val_images, len(datamodule.val_set))
        val = datamodule.val_set.images[:v], datamodule.val_set.labels[:v]
        datamodule.move_to(device)
        report: dict = {"machine": machine(), "data": data_name, "train_images": n}
        report["val_images"] = v
        print(f"# {json.dumps(report)}", flush=True)

        weights = Path(scratch) / "article.pt"
        runs: dict[str, Callable[[], float]] = {
            "article_epoch": lambda: bm.article_epoch(train, val, device, weights),
            "keras_epoch": lambda: bm.keras_epoch(train, val),
            "project_epoch": lambda: bm.project_epoch(data_dir, n, v, device),
            "project_epoch_bf16": lambda: bm.project_epoch(
                data_dir, n, v, device, "trainer.precision=bf16-mixed"
            ),
            "hand_epoch": lambda: bm.hand_epoch(datamodule, n, v, device),
            "data_project": lambda: bm.project_batches(datamodule, device),
            # Start-up, which every run, sweep job and subprocess test pays (whole processes).
            "startup_help": lambda: bm.command_s("train.py", "--help"),
            "startup_config_error": lambda: bm.command_s("train.py", "trainer.max_epoch=2"),
            "startup_missing_ckpt": lambda: bm.command_s("eval.py", "ckpt_path=missing.ckpt"),
            "startup_first_step": lambda: bm.first_step_s(data_dir, Path(scratch) / "step"),
        }
        skipped = {name: "--skip" for name in args.skip}
        if "keras_epoch" not in skipped and not _has("keras"):
            skipped["keras_epoch"] = "keras not installed (pip install -e '.[bench]')"
        bf16 = device.type == "cuda" or torch.backends.mkldnn.is_available()
        if not bf16:
            skipped["project_epoch_bf16"] = "no bf16 support on this device"
        rows = interleaved({k: v for k, v in runs.items() if k not in skipped}, args.repeats)
        if "data_torchvision" not in skipped:
            try:
                rows["data_torchvision"] = interleaved(
                    {"t": lambda: bm.torchvision_batches(data_dir)}, 1
                )["t"]
            except RuntimeError as err:  # torchvision wants the uncompressed files
                skipped["data_torchvision"] = f"torchvision cannot read {data_dir}: {err}"[:160]
        if "checkpoint_load" not in skipped:
            rows |= checkpoint_rows(data_dir, Path(scratch), args.repeats)
        if "speedrun" not in skipped:
            rows["speedrun"] = speedrun_row(data_dir, device, args, runs["article_epoch"])
        report["results"] = {**rows, **{k: {"skipped": v} for k, v in skipped.items()}}
    print_table(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


def checkpoint_rows(data_dir: Path, scratch: Path, repeats: int) -> dict[str, dict]:
    """20 reads of a real checkpoint with every check (archive, stored config, weights) against
    20 plain torch.load reads, interleaved: what the checks cost a legitimate checkpoint."""
    run = scratch / "ckpt_run"
    overrides = [
        f"data.data_dir={data_dir}", "data.download=false", "trainer.max_epochs=1",
        "trainer.limit_train_batches=2", "trainer.limit_val_batches=1", "test=false", "logger=none",
    ]  # fmt: skip
    ckpt = Path(bm.train(bm.compose_config("train", overrides, run))["best_checkpoint"])
    rows = interleaved(
        {
            "checkpoint_load": lambda: bm.checkpoint_loads_s(ckpt, checked=True),
            "checkpoint_load_plain": lambda: bm.checkpoint_loads_s(ckpt, checked=False),
        },
        repeats,
    )
    checked, plain = rows["checkpoint_load"]["seconds"], rows["checkpoint_load_plain"]["seconds"]
    rows["checkpoint_load"]["vs_plain"] = statistics.median(
        a / b for a, b in zip(checked, plain, strict=True)
    )
    return rows


def speedrun_row(
    data_dir: Path, device: torch.device, args: argparse.Namespace, article: Callable[[], float]
) -> dict:
    """experiment=speedrun over several seeds: fit times, official test accuracies, and each fit
    over an article epoch run just before it (so drift in the machine's speed moves both alike)."""
    runs = []
    for seed in range(args.speedrun_seeds):
        article_s = article()
        run = bm.speedrun(data_dir, device, seed, *args.speedrun_overrides)
        runs.append({**run, "article_epoch_s": article_s})
    accuracies = [run["test_acc"] for run in runs]
    return {
        "runs": runs,
        "mean_test_acc": statistics.mean(accuracies),
        "std_test_acc": statistics.stdev(accuracies) if len(runs) > 1 else 0.0,
        "min_test_acc": min(accuracies),
        "median_fit_s": statistics.median(run["fit_time_s"] for run in runs),
        "fit_per_article_epoch": statistics.median(
            run["fit_time_s"] / run["article_epoch_s"] for run in runs
        ),
    }


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


if __name__ == "__main__":
    sys.exit(main())
