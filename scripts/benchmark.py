"""Training throughput, side by side, in one process: the article's plain loop, Keras 3 `fit`,
this project's `Trainer.fit`, an equally optimised hand loop, and the data path alone.

    python scripts/benchmark.py [--data-dir D] [--json out.json] [--train-images N] [--repeats R]

Same data (real digits from D/MNIST/raw, else 60,000 generated ones), same recipe (the Keras
CNN, batch 128, Adam 1e-3, fp32). Each figure is the median of R timed training epochs after a
warm-up, validation excluded. Figures measured on this project's machines are in the README.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy

from mnist_cnn.data.datamodule import MnistDataModule
from mnist_cnn.data.digits import to_unit_float
from mnist_cnn.launch.config import compose_config, instantiate_group
from mnist_cnn.models import MnistCNN

REPO = Path(__file__).resolve().parents[1]
# Generated stand-in digits come from the tests' helpers: they do not ship in the package.
_spec = importlib.util.spec_from_file_location("fixtures", REPO / "tests" / "fixtures.py")
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)
synthetic_digits, write_dataset = fixtures.synthetic_digits, fixtures.write_dataset
BATCH = 128
TRAINING = ("article_loop", "keras_fit", "project_fit", "optimised_loop")


# ---------------------------------------------------------------- (a) the article's plain loop
def article_loop(images: torch.Tensor, labels: torch.Tensor, device: torch.device) -> float:
    """The article's PyTorch port, as written there: float TensorDataset, DataLoader, Adam."""
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10),
    ).to(device)  # fmt: skip
    loader = DataLoader(TensorDataset(images.float() / 255, labels), batch_size=BATCH, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    started = time.perf_counter()
    running_loss = 0.0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    return time.perf_counter() - started  # .item() waited for the device


# ---------------------------------------------------------------- (b) Keras 3 fit, torch backend
def keras_fit(images: torch.Tensor, labels: torch.Tensor) -> float:
    import keras  # the backend was chosen in main(), before the first import

    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(), keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax"),
    ])  # fmt: skip
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    x = (images.permute(0, 2, 3, 1).float() / 255).numpy()  # Keras is channels-last
    y = labels.numpy()
    started = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    return time.perf_counter() - started


# ---------------------------------------------------------------- (c) this project's Trainer.fit
class _EpochTimer(L.Callback):
    """Times the training batches of the epoch (validation and checkpointing excluded)."""

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.started = time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        _synchronize(trainer.strategy.root_device)
        self.seconds = time.perf_counter() - self.started


def project_fit(data_dir: Path, train_images: int, device: torch.device) -> float:
    accelerator = "gpu" if device.type == "cuda" else device.type
    with tempfile.TemporaryDirectory() as output_dir:
        overrides = ["trainer.max_epochs=1", f"trainer.accelerator={accelerator}"]
        overrides += [f"data.data_dir={data_dir}"]
        cfg = compose_config("train", overrides, output_dir)
        timer = _EpochTimer()
        callbacks = [*instantiate_group(cfg.callbacks), timer]
        trainer = instantiate(
            cfg.trainer,
            callbacks=callbacks,
            logger=instantiate_group(cfg.logger),
            limit_train_batches=-(-train_images // BATCH),
        )
        trainer.fit(instantiate(cfg.model), datamodule=instantiate(cfg.data))
        return timer.seconds


# ---------------------------------------------------------------- (d) equally optimised hand loop
def optimised_loop(datamodule: MnistDataModule, train_images: int, device: torch.device) -> float:
    """What Trainer.fit runs, by hand: same net, loader, device scaling, metrics, optimiser."""
    model = MnistCNN().to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    accuracy = MulticlassAccuracy(10, average="micro", validate_args=False).to(device)
    mean_loss = MeanMetric(nan_strategy="disable").to(device)
    steps = -(-train_images // BATCH)
    started = time.perf_counter()
    for step, (x, y) in enumerate(datamodule.train_dataloader()):
        if step == steps:
            break
        logits = model(to_unit_float(x))
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        mean_loss.update(loss.detach(), weight=len(y))
        accuracy.update(logits.detach().argmax(dim=1), y)
    _synchronize(device)
    return time.perf_counter() - started


# ---------------------------------------------------------------- (e) the data path alone
def project_batches(datamodule: MnistDataModule, device: torch.device) -> float:
    started = time.perf_counter()
    for x, _ in datamodule.train_dataloader():
        to_unit_float(x)
    _synchronize(device)
    return time.perf_counter() - started


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def torchvision_batches(data_dir: Path) -> float:
    from torchvision import datasets, transforms

    dataset = datasets.MNIST(str(data_dir), train=True, transform=transforms.ToTensor())
    started = time.perf_counter()
    for _ in DataLoader(dataset, batch_size=BATCH, shuffle=True):
        pass
    return time.perf_counter() - started


# ---------------------------------------------------------------- memory, machine, main
def peak_rss_mb(data_dir: Path, train_images: int) -> float:
    """Peak resident memory of `python train.py` (default config, one epoch) in a subprocess."""
    with tempfile.TemporaryDirectory() as run_dir:
        command = [
            sys.executable, str(REPO / "train.py"), f"data.data_dir={data_dir}",
            "trainer.max_epochs=1", f"trainer.limit_train_batches={-(-train_images // BATCH)}",
            f"hydra.run.dir={run_dir}",
        ]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        if status:
            raise RuntimeError(
                f"{' '.join(command)} failed: {process.stderr.read().decode()[-2000:]}"
            )
    return usage.ru_maxrss / 1024  # KiB on Linux


def machine() -> dict[str, object]:
    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "lightning": L.__version__,
        "python": platform.python_version(),
    }


def timed(run: Callable[[], float], images: int, repeats: int) -> dict[str, object]:
    run()  # warm-up: allocator, oneDNN kernels, lazy imports
    seconds = [run() for _ in range(repeats)]
    return {"images_per_s": images / statistics.median(seconds), "seconds": seconds}


def _has_keras() -> bool:
    import importlib.util

    return importlib.util.find_spec("keras") is not None


def print_table(report: dict[str, object]) -> None:
    rows = report["results"]
    base = rows.get("article_loop", {}).get("images_per_s")
    print(f"\n{'method':<18} {'images/s':>10} {'vs article':>11}  seconds per epoch")
    for name, row in rows.items():
        if "skipped" in row:
            print(f"{name:<18} {'-':>10} {'-':>11}  skipped: {row['skipped']}")
            continue
        ratio = f"{row['images_per_s'] / base:.2f}x" if base and name in TRAINING else "-"
        seconds = " ".join(f"{s:.3f}" for s in row["seconds"])
        print(f"{name:<18} {row['images_per_s']:>10,.0f} {ratio:>11}  {seconds}")
    if "data_project" in rows and "data_torchvision" in rows:
        speedup = rows["data_project"]["images_per_s"] / rows["data_torchvision"]["images_per_s"]
        per_60k = 60_000 / rows["data_project"]["images_per_s"]
        print(f"data path: {per_60k:.3f} s per 60,000 images, {speedup:.0f}x torchvision's")
    if "peak_rss_mb_default_cpu_run" in report:
        peak = report["peak_rss_mb_default_cpu_run"]
        print(f"peak RSS of a default CPU training run: {peak:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir", type=Path, help="folder holding MNIST/raw (default: generated)"
    )
    parser.add_argument("--train-images", type=int, default=54_000, help="images per timed epoch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--skip", nargs="*", default=[], help="rows to leave out, e.g. keras_fit memory"
    )
    args = parser.parse_args()
    os.environ.setdefault("KERAS_BACKEND", "torch")  # must precede the first `import keras`
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # no summary per repeat

    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.data_dir
        if data_dir is None:
            train, test = synthetic_digits(60_000, seed=0), synthetic_digits(10_000, seed=1)
            data_dir = write_dataset(Path(scratch) / "data", train, test)
        device = torch.device(args.device)
        datamodule = MnistDataModule(data_dir=str(data_dir), download=False)
        datamodule.setup("fit")
        n = min(args.train_images, len(datamodule.train_set))
        images, labels = datamodule.train_set.images[:n], datamodule.train_set.labels[:n]
        datamodule.move_to(device)
        report: dict[str, object] = {
            "machine": machine(),
            "train_images": n,
            "data": str(args.data_dir or "generated"),
        }
        print(f"# {json.dumps(report)}")
        print(f"# batch {BATCH}, median of {args.repeats} epochs after a warm-up")

        runs = {
            "article_loop": lambda: article_loop(images, labels, device),
            "keras_fit": lambda: keras_fit(images, labels),
            "project_fit": lambda: project_fit(data_dir, n, device),
            "optimised_loop": lambda: optimised_loop(datamodule, n, device),
        }
        rows: dict[str, dict[str, object]] = {}
        for name, run in runs.items():
            if name == "keras_fit" and not _has_keras():
                rows[name] = {"skipped": "keras not installed (pip install -e '.[bench]')"}
            elif name not in args.skip:
                rows[name] = timed(run, n, args.repeats)
        if "data_path" not in args.skip:
            epoch = len(datamodule.train_set)
            file_images = epoch + len(datamodule.val_set)
            rows["data_project"] = timed(
                lambda: project_batches(datamodule, device), epoch, args.repeats
            )
            rows["data_torchvision"] = timed(lambda: torchvision_batches(data_dir), file_images, 1)
        report["results"] = rows
        if "memory" not in args.skip:
            report["peak_rss_mb_default_cpu_run"] = peak_rss_mb(data_dir, n)
    print_table(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
