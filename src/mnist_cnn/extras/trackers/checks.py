"""Checks a tracker makes as it is built, before any training: its package is installed and its
store or server answers."""

from __future__ import annotations

import contextlib
import importlib.util
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path

INSTALL = 'pip install -e ".[trackers]"'
# Long enough for a server across the internet, short enough to fail before anyone waits.
TIMEOUT_S = 5
SQLITE_PREFIX = "sqlite:///"


def require(package: str, choice: str) -> None:
    """Refuse `logger=<choice>` where `package` is not installed, naming the install command."""
    if importlib.util.find_spec(package) is None:
        message = f"logger={choice} needs the {package} package: {INSTALL}"
        raise ModuleNotFoundError(message, name=package)


def sqlite_file(tracking_uri: str) -> Path | None:
    """The database file of a `sqlite:///path` URI (`sqlite:////abs/path` for an absolute one),
    else None."""
    path = tracking_uri.removeprefix(SQLITE_PREFIX)
    if path == tracking_uri or path in ("", ":memory:"):
        return None
    return Path(path)


def check_mlflow_store(uri: str, key: str) -> None:
    """Refuse an MLflow tracking URI that cannot be opened or reached, naming `key`."""
    if uri.startswith(("http://", "https://")):
        fix = (
            "Start it (mlflow server --backend-store-uri sqlite:///outputs/mlflow.db "
            "--host 127.0.0.1 --port 5000) or leave tracking_uri at its default."
        )
        check_reachable(uri.rstrip("/") + "/health", f"{key}={uri}", fix)
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


def check_reachable(url: str, what: str, fix: str, any_answer: bool = False) -> None:
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
