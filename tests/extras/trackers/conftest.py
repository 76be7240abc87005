"""One MLflow store, one run tracked three ways and one MLflow server, shared by the session."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from mnist_cnn.train import train
from tests.fixtures import compose_config, free_port, tiny_overrides


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
