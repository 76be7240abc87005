"""Checks before any work: the tracker's package is installed and its store or server answers."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sqlite3
import urllib.error
import urllib.request
from typing import Any

from hydra.utils import get_class
from lightning.pytorch.loggers import MLFlowLogger, WandbLogger

from mnist_cnn.loggers.mlflow_tracker import sqlite_file
from mnist_cnn.loggers.wandb_tracker import wandb_offline

INSTALL = 'pip install -e ".[tracking]"'
# Long enough for a server across the internet, short enough to fail before anyone waits.
TIMEOUT_S = 5


def check_loggers(group: Any) -> None:
    """Refuse a `logger=...` choice that would fail at its first use, naming the key and fix."""
    for name, node in (group or {}).items():
        if not node or "_target_" not in node:
            continue
        logger_class = get_class(node["_target_"])
        if issubclass(logger_class, MLFlowLogger):
            _require("mlflow", name)
            _check_mlflow_store(str(node.get("tracking_uri")), f"logger.{name}.tracking_uri")
        elif issubclass(logger_class, WandbLogger):
            _require("wandb", name)
            if not wandb_offline(node.get("offline")):
                url = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")
                fix = f"Run offline: unset WANDB_API_KEY or set logger.{name}.offline=true."
                _check_reachable(url, f"logger.{name} (W&B online)", fix, any_answer=True)


def _require(package: str, name: str) -> None:
    if importlib.util.find_spec(package) is None:
        raise RuntimeError(f"logger={name} needs the {package} package: {INSTALL}")


def _check_mlflow_store(uri: str, key: str) -> None:
    if uri.startswith(("http://", "https://")):
        fix = (
            "Start it (mlflow server --backend-store-uri sqlite:///outputs/mlflow.db "
            "--host 127.0.0.1 --port 5000) or leave tracking_uri at its default."
        )
        _check_reachable(uri.rstrip("/") + "/health", f"{key}={uri}", fix)
        return
    store = sqlite_file(uri)
    try:
        if store is not None:
            # MLflow itself retries a store it cannot open for about 100 s; SQLite says at once.
            store.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.closing(sqlite3.connect(store)) as db:
                db.execute("PRAGMA schema_version")
        else:  # databases, databricks...: let MLflow open the store
            from mlflow import MlflowClient  # slow import, only for these

            MlflowClient(uri).search_experiments(max_results=1)
    except Exception as error:  # OSError, sqlite3.Error, MlflowException and more
        raise ValueError(
            f"{key}={uri}: cannot open this MLflow store ({type(error).__name__}: {error}). "
            f"Use a writable SQLite file, e.g. sqlite:///outputs/mlflow.db, or a server's "
            f"http:// address."
        ) from error


def _check_reachable(url: str, what: str, fix: str, any_answer: bool = False) -> None:
    """Refuse `url` unless it answers OK (or, with `any_answer`, answers at all)."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S):
            pass
    except urllib.error.HTTPError as error:
        if not any_answer:
            raise ValueError(f"{what}: {url} answered HTTP {error.code}. {fix}") from error
    except (OSError, ValueError) as error:  # URLError, timeouts, malformed addresses
        reason = getattr(error, "reason", error)
        raise ValueError(f"{what}: cannot reach {url} ({reason}). {fix}") from error
