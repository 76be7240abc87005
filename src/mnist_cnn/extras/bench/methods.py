"""The timed methods of the benchmark; each returns seconds for one full epoch (training, then
validation, then saving the weights) unless its docstring says otherwise."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import ClassVar

import lightning as L
import torch
import torch.nn.functional as F
from omegaconf import open_dict
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy

from mnist_cnn.cli import CONFIG_DIR, compose_config
from mnist_cnn.data.datamodule import MnistDataModule
from mnist_cnn.data.idx import to_unit_float
from mnist_cnn.models import MnistCNN
from mnist_cnn.train import train

BATCH = 128
CHECKOUT = CONFIG_DIR.parent  # where train.py and eval.py are
Digits = tuple[torch.Tensor, torch.Tensor]  # uint8 images (N, 1, 28, 28), labels (N,)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---------------------------------------------------------------- the article's plain loop
def article_epoch(train: Digits, val: Digits, device: torch.device, save_to: Path) -> float:
    """The article's PyTorch port as written there: float TensorDataset, DataLoader, Adam."""
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10),
    ).to(device)  # fmt: skip
    train_loader = DataLoader(
        TensorDataset(train[0].float() / 255, train[1]), batch_size=BATCH, shuffle=True
    )
    val_loader = DataLoader(TensorDataset(val[0].float() / 255, val[1]), batch_size=BATCH)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    started = time.perf_counter()
    model.train()
    for x, y in train_loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in val_loader:
            correct += (model(x.to(device)).argmax(1) == y.to(device)).sum().item()
    torch.save(model.state_dict(), save_to)
    return time.perf_counter() - started


# ---------------------------------------------------------------- Keras 3 fit, torch backend
def keras_io_convnet():
    """The keras.io MNIST convnet, compiled as there (the caller chooses KERAS_BACKEND first)."""
    import keras

    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(), keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax"),
    ])  # fmt: skip
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def keras_epoch(train: Digits, val: Digits) -> float:
    model = keras_io_convnet()  # benchmark.main() chose the backend before this

    def channels_last(digits: Digits) -> tuple:  # Keras's float32 (N, 28, 28, 1) in [0, 1]
        return (digits[0].permute(0, 2, 3, 1).float() / 255).numpy(), digits[1].numpy()

    x, y = channels_last(train)
    started = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, validation_data=channels_last(val))
    return time.perf_counter() - started


# ---------------------------------------------------------------- this project's train()
class EpochClock(L.Callback):
    """Times each whole training epoch: from its first batch to the end of its validation,
    checkpoint writes and every other callback's epoch-end work."""

    seconds: ClassVar[list[float]] = []

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.started = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        synchronize(trainer.strategy.root_device)
        EpochClock.seconds.append(time.perf_counter() - self.started)


def project_epoch(
    data_dir: Path, train_images: int, val_images: int, device: torch.device, *overrides: str
) -> float:
    """One epoch of `python train.py` (its real train(), all default callbacks and logger)."""
    accelerator = "gpu" if device.type == "cuda" else device.type
    with tempfile.TemporaryDirectory() as output_dir:
        cfg = compose_config(
            "train",
            [
                f"data.data_dir={data_dir}", "data.download=false", "trainer.max_epochs=1",
                f"trainer.accelerator={accelerator}", "test=false",
                f"trainer.limit_train_batches={-(-train_images // BATCH)}",
                f"trainer.limit_val_batches={-(-val_images // BATCH)}", *overrides,
            ],
            output_dir,
        )  # fmt: skip
        with open_dict(cfg):
            cfg.callbacks["epoch_clock"] = {"_target_": f"{__name__}.EpochClock"}
        # The ModelCheckpoint callbacks run last: Lightning moves them behind all others.
        # Still, they save in on_validation_end, before the clock stops in on_train_epoch_end.
        EpochClock.seconds = []
        train(cfg)
        return EpochClock.seconds[-1]


def speedrun(data_dir: Path, device: torch.device, seed: int, *overrides: str) -> dict:
    """`python train.py experiment=speedrun seed=S`: its fit time and official test accuracy."""
    accelerator = "gpu" if device.type == "cuda" else device.type
    with tempfile.TemporaryDirectory() as output_dir:
        cfg = compose_config(
            "train",
            [
                "experiment=speedrun", f"seed={seed}", f"data.data_dir={data_dir}",
                "data.download=false", f"trainer.accelerator={accelerator}", *overrides,
            ],
            output_dir,
        )  # fmt: skip
        summary = train(cfg)
    return {"seed": seed, "fit_time_s": summary["fit_time_s"], "test_acc": summary["test/acc"]}


# ---------------------------------------------------------------- an equally optimised hand loop
def hand_epoch(
    datamodule: MnistDataModule, train_images: int, val_images: int, device: torch.device
) -> float:
    """What train() runs, by hand: same net, loader, scaling, metrics, optimiser, checkpoint."""
    model = MnistCNN().to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    accuracy = MulticlassAccuracy(10, average="micro", validate_args=False).to(device)
    mean_loss = MeanMetric(nan_strategy="disable").to(device)
    steps = -(-train_images // BATCH)
    started = time.perf_counter()
    model.train()
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
    model.eval()
    with torch.inference_mode():
        for step, (x, y) in enumerate(datamodule.val_dataloader()):
            if step == -(-val_images // BATCH):
                break
            accuracy.update(model(to_unit_float(x)).argmax(dim=1), y)
    accuracy.compute()
    with tempfile.NamedTemporaryFile() as file:
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, file)
    synchronize(device)
    return time.perf_counter() - started


# ---------------------------------------------------------------- the data path alone
def project_batches(datamodule: MnistDataModule, device: torch.device) -> float:
    """Seconds to gather and scale one epoch of training batches."""
    started = time.perf_counter()
    for x, _ in datamodule.train_dataloader():
        to_unit_float(x)
    synchronize(device)
    return time.perf_counter() - started


def torchvision_batches(data_dir: Path) -> float:
    """Seconds for torchvision's MNIST + ToTensor + DataLoader to yield the training file."""
    from torchvision import datasets, transforms

    dataset = datasets.MNIST(str(data_dir), train=True, transform=transforms.ToTensor())
    started = time.perf_counter()
    for _ in DataLoader(dataset, batch_size=BATCH, shuffle=True):
        pass
    return time.perf_counter() - started


# ---------------------------------------------------------------- start-up and checkpoint reads
def command_s(*args: str) -> float:
    """Seconds for `python <args>` from the checkout, start to exit (its status not checked:
    the error rows exit 1 on purpose)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=CHECKOUT, capture_output=True, timeout=600)
    return time.perf_counter() - started


def first_step_s(data_dir: Path, run_dir: Path) -> float:
    """`python train.py` for one training step and nothing else: start-up to the first batch."""
    return command_s(
        "train.py", f"data.data_dir={data_dir}", "data.download=false", "trainer.max_epochs=1",
        "trainer.limit_train_batches=1", "trainer.limit_val_batches=0", "test=false",
        "callbacks=none", "logger=none",
        f"hydra.run.dir={run_dir}",
    )  # fmt: skip


def checkpoint_loads_s(path: Path, checked: bool, loads: int = 20) -> float:
    """Seconds for `loads` reads of a checkpoint into a model: as eval and predict read it
    (checked: the archive, the stored config, the weights), or as a plain torch.load would."""
    from mnist_cnn.checkpoint import CONFIG_KEY, build_model, read_checkpoint
    from mnist_cnn.stored_config import build_module

    started = time.perf_counter()
    for _ in range(loads):
        if checked:
            build_model(read_checkpoint(path), path)
        else:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
            build_module(checkpoint[CONFIG_KEY]).load_state_dict(checkpoint["state_dict"])
    return time.perf_counter() - started
