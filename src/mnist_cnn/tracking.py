"""The interface between a run and the experiment trackers: what a Lightning logger may add to
record more of a run than metrics (the trackers extra's loggers implement it)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class Tracker(Protocol):
    """What a Lightning logger may add to record more of a run than metrics: each method is
    optional, and the core calls only those a logger has (the trackers extra's have them)."""

    def log_run_config(self, config: dict[str, Any]) -> None:
        """The resolved run config, before training (else it gets `log_hyperparams(config)`)."""

    def log_provenance(self, record: dict[str, Any]) -> None:
        """The run's provenance record (mnist_cnn.provenance), before training."""

    def log_figure(self, name: str, figure: Figure, png: Path, step: int) -> None:
        """A picture of the learning report, already saved as `png`."""

    def finish(self) -> None:
        """The run is over (train and eval call it last; Lightning's finalize comes after fit
        and after test alike)."""


def tell_trackers(loggers: Iterable[Any], method: str, *args: Any) -> None:
    """Call `Tracker.<method>(*args)` on each logger that has it."""
    for logger in loggers:
        if callable(call := getattr(logger, method, None)):
            call(*args)
