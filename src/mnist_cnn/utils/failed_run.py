"""A run that fails leaves its folder marked: FAILED.txt beside the log says what went wrong."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mnist_cnn.utils.io import write_text

MARKER = "FAILED.txt"


@contextmanager
def marked_if_failed(output_dir: str | Path) -> Iterator[None]:
    """Run the body; if it raises, write MARKER (the error) into `output_dir` and re-raise."""
    try:
        yield
    except (Exception, SystemExit) as err:
        # SystemExit(1) after a printed report (predict's refused inputs) is a result, not a crash.
        if not isinstance(err, SystemExit) or isinstance(err.code, str):
            write_text(Path(output_dir) / MARKER, f"{type(err).__name__}: {err}\n")
        raise
