"""pytest fixtures shared by the whole suite: small MNIST folders on disk, and real runs that
several tests look at (helpers are in tests/fixtures.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from mnist_cnn.train import train
from tests.fixtures import (
    NO_REAL_DIGITS,
    REAL_DIGITS_ENV,
    REAL_DIGITS_OPTION,
    REPO,
    SLURM_TESTS_ENV,
    T10K_DIR,
    channels_last,
    compose_config,
    keras_io_convnet,
    real_digits,
    run_cli,
    synthetic_digits,
    train_args,
    write_dataset,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        REAL_DIGITS_OPTION,
        default=None,
        help=f"folder of the MNIST t10k IDX files (else ${REAL_DIGITS_ENV}, else {T10K_DIR})",
    )


def real_digits_dir(config: pytest.Config) -> Path:
    """The real-digit folder: the pytest option, else the environment variable, else ../shared."""
    chosen = config.getoption(REAL_DIGITS_OPTION) or os.environ.get(REAL_DIGITS_ENV)
    return Path(chosen).expanduser() if chosen else T10K_DIR


@pytest.fixture(scope="session")
def t10k(request):
    """The 10,000 real test digits, or None where the real-digit folder is absent."""
    folder = real_digits_dir(request.config)
    if folder != T10K_DIR and not folder.is_dir():
        # A folder named on purpose that is not there is a mistake, not a reason to skip.
        raise pytest.UsageError(f"{REAL_DIGITS_ENV} or {REAL_DIGITS_OPTION}: no folder {folder}")
    return real_digits(folder) if folder.is_dir() else None


@pytest.fixture(scope="session")
def real_data_dir(t10k, tmp_path_factory) -> Path:
    """Real digits as a small MNIST: the first 8,000 as training files, the last 2,000 as test."""
    if t10k is None:
        pytest.skip(NO_REAL_DIGITS)
    images, labels = t10k
    root = tmp_path_factory.mktemp("mnist_real")
    return write_dataset(root, (images[:8000], labels[:8000]), (images[8000:], labels[8000:]))


@pytest.fixture(scope="session")
def tiny_data_dir(t10k, tmp_path_factory) -> Path:
    """600 training and 300 test images: real digits when present, else synthetic ones."""
    images, labels = t10k if t10k is not None else synthetic_digits(900)
    root = tmp_path_factory.mktemp("mnist_tiny")
    return write_dataset(root, (images[:600], labels[:600]), (images[600:900], labels[600:900]))


@pytest.fixture(scope="session")
def reference_run(tiny_data_dir, tmp_path_factory) -> Path:
    """The uninterrupted run every resumed or repeated run must match."""
    run_dir = tmp_path_factory.mktemp("reference")
    result = run_cli("train.py", *train_args(tiny_data_dir, run_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


@pytest.fixture(scope="session")
def trained_run(tiny_data_dir, tmp_path_factory) -> tuple[Path, dict]:
    """2 epochs of 540 tiny-data images (batches of 32), tested, with TensorBoard."""
    run_dir = tmp_path_factory.mktemp("trained_run")
    overrides = [
        f"data.data_dir={tiny_data_dir}",
        "data.download=false",
        "trainer.accelerator=cpu",
        "data.batch_size=32",  # 17 steps an epoch: enough to learn, so predictions mean something
        "trainer.max_epochs=2",
        "logger=tensorboard",
    ]
    return run_dir, train(compose_config("train", overrides, run_dir))


@pytest.fixture(scope="session")
def checkpoint(trained_run) -> Path:
    return Path(trained_run[1]["best_checkpoint"])


@pytest.fixture(scope="session")
def keras_mnist(t10k, tmp_path_factory):
    """The keras.io MNIST convnet (Keras 3, torch backend) trained 32 steps on real digits and
    saved as .keras, .weights.h5 and legacy .h5; with its predictions on 500 held-out digits and
    a small MNIST folder (600 training images, those 500 as test set) for our side."""
    if t10k is None:
        pytest.skip(NO_REAL_DIGITS)
    os.environ["KERAS_BACKEND"] = "torch"  # before the first import of keras
    keras = pytest.importorskip("keras")
    images, labels = t10k
    keras.utils.set_random_seed(0)
    model = keras_io_convnet()
    model.fit(channels_last(images[:4096]), labels[:4096].numpy(), batch_size=128, verbose=0)
    root = tmp_path_factory.mktemp("keras_mnist")
    files = {kind: root / f"model{kind}" for kind in (".keras", ".weights.h5", ".h5")}
    model.save(files[".keras"])
    model.save_weights(files[".weights.h5"])
    model.save(files[".h5"])  # legacy HDF5: Keras 3.15 still writes it (with a warning)
    test_images, test_labels = images[9500:], labels[9500:]
    data_dir = write_dataset(
        root / "data", (images[4096:4696], labels[4096:4696]), (test_images, test_labels)
    )
    x_test = channels_last(test_images)
    return SimpleNamespace(
        model=model,
        files=files,
        data_dir=data_dir,
        test_images=test_images,
        probabilities=model.predict(x_test, verbose=0),
        accuracy=model.evaluate(x_test, test_labels.numpy(), verbose=0, return_dict=True)[
            "accuracy"
        ],
    )


@pytest.fixture(scope="session")
def slurm_partition():
    """A real one-node SLURM cluster's partition, only where asked for (MNIST_CNN_SLURM_TESTS=1,
    as .ci/run sets): scripts/local_slurm.sh then installs and starts one (as root) if none
    answers, shut down after the session. Otherwise, or when it fails, skips saying why."""
    if os.environ.get(SLURM_TESTS_ENV) != "1":
        pytest.skip(
            f"real-SLURM tests are opt-in: {SLURM_TESTS_ENV}=1 runs them (as root they install "
            f"Debian's slurmctld, slurmd and munge with apt and start a one-node cluster)"
        )
    script = REPO / "scripts" / "local_slurm.sh"
    munge_was_up = subprocess.run(["pgrep", "-x", "munged"], capture_output=True).returncode == 0
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        pytest.skip(f"no SLURM cluster: {result.stderr.strip()}")
    yield "debug"
    if result.stdout.strip() == "started":  # one that ran before the session stays up
        subprocess.run(["scontrol", "shutdown"], capture_output=True, timeout=60)
        if not munge_was_up:
            subprocess.run(["pkill", "-x", "munged"], capture_output=True, timeout=60)
