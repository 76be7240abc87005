"""Open an Optuna storage from one string: a database URL, a SQLite file or a journal file.

The sweeper and the pruning callback inside each job both call `open_storage` with the same
string, so a job on another machine (SLURM) reaches the study its sweep asked the trial from.
"""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # optuna is imported where a study is used: Hydra imports sweepers at start
    from optuna.storages import BaseStorage

SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
# Seconds a SQLite writer waits for another one's lock (several sweeps, heartbeats) before
# SQLAlchemy reports "database is locked"; Python's default of 5 s is short under load.
SQLITE_LOCK_TIMEOUT_S = 60


def storage_url(storage: str | Path) -> str:
    """`storage` with relative file paths made absolute (jobs may run in other folders)."""
    text = str(storage)
    if text.startswith("sqlite:///") and not text.startswith("sqlite:////"):
        return "sqlite:///" + str(Path(text.removeprefix("sqlite:///")).resolve())
    if "://" in text:
        return text  # a server database (postgresql://, mysql://): used as given
    path = Path(text).expanduser().resolve()
    return f"sqlite:///{path}" if path.suffix in SQLITE_SUFFIXES else str(path)


@contextmanager
def _file_lock(path: Path):
    """One process at a time: two sweeps starting together would both create the tables."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _open(url: str) -> BaseStorage:
    import optuna

    if url.startswith("sqlite:///"):
        kwargs: dict[str, Any] = {"connect_args": {"timeout": SQLITE_LOCK_TIMEOUT_S}}
        with _file_lock(Path(url.removeprefix("sqlite:///"))):
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
    if "://" in url:
        return optuna.storages.RDBStorage(url)
    from optuna.storages.journal import JournalFileBackend

    Path(url).parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(JournalFileBackend(url))


def open_storage(storage: str | Path) -> BaseStorage:
    """The storage `storage` names (see `storage_url`); a clear error if it cannot be opened."""
    url = storage_url(storage)
    try:
        return _open(url)
    except Exception as err:  # SQLAlchemy, a missing driver, a folder we may not write...
        reason = " ".join(str(err).split())[:300]
        raise ValueError(
            f"hydra.sweeper.storage={storage}: cannot open this Optuna storage "
            f"({type(err).__name__}: {reason}). Use a SQLite file (sqlite:///path/study.db or "
            f"path/study.db), a journal file (path/study.log, for a shared filesystem) or a "
            f"database URL the server accepts (postgresql://user@host/db, with its driver)."
        ) from err
