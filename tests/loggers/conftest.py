"""One MLflow store, one run tracked three ways and one MLflow server, shared by the session."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from mnist_cnn.train import train

from ..conftest import compose_config

# Two epochs of 3 batches: enough for a per-epoch history, small enough to take seconds.
TINY = [
    "data.download=false", "trainer.accelerator=cpu", "trainer.max_epochs=2",
    "trainer.limit_train_batches=3", "trainer.limit_val_batches=2", "trainer.limit_test_batches=2",
    "callbacks.progress_bar=null",
]  # fmt: skip


def tiny_overrides(data_dir: Path, *extra: str) -> list[str]:
    return [f"data.data_dir={data_dir}", *TINY, *extra]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rest(url: str, body: dict | None = None) -> dict:
    """GET `url`, or POST `body` as JSON; the JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="session")
def mlflow_dir(tmp_path_factory) -> Path:
    """paths.log_dir of the tracked runs: mlflow.db and mlartifacts/ go here."""
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture(scope="session")
def mlflow_store(mlflow_dir) -> str:
    """The SQLite store, its tables made once (MLflow's migrations take seconds)."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{mlflow_dir / 'mlflow.db'}"
    MlflowClient(uri).search_experiments(max_results=1)
    return uri


@pytest.fixture(scope="session")
def tracked_run(tiny_data_dir, mlflow_dir, mlflow_store) -> Path:
    """The run folder of one tiny run logged to TensorBoard, MLflow and W&B (offline) at once."""
    run_dir = mlflow_dir / "run"
    overrides = tiny_overrides(
        tiny_data_dir, "logger=[tensorboard,mlflow,wandb]", f"paths.log_dir={mlflow_dir}"
    )
    with pytest.MonkeyPatch.context() as env:
        env.delenv("WANDB_API_KEY", raising=False)
        train(compose_config("train", overrides, run_dir))
    return run_dir


@pytest.fixture(scope="session")
def mlflow_server(mlflow_dir, mlflow_store):
    """`mlflow server` on a free loopback port over the session's store; its address."""
    port = free_port()
    address = f"http://127.0.0.1:{port}"
    command = [
        *(str(Path(sys.executable).parent / "mlflow"), "server", "--workers", "1"),
        *("--backend-store-uri", mlflow_store, "--host", "127.0.0.1", "--port", str(port)),
        *("--artifacts-destination", str(mlflow_dir / "served-artifacts")),
    ]
    server = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its workers too are stopped through the process group
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{address}/health", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"mlflow server did not start on {address}") from None
                time.sleep(0.25)
        yield address
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
