"""A tracker that fails mid-run (server gone, disk full, quota) must not end the training."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)


class FailSoft:
    """Mixin for a Lightning logger: its first error is logged as a warning and the tracker is
    switched off for the rest of the run, so training goes on and the run's checkpoints and
    metrics.json are still written. Put it before the logger class: `class X(FailSoft, Logger)`.
    """

    failed: bool = False

    def attempt(self, action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`action(*args, **kwargs)`, or None once this tracker has failed."""
        if self.failed:
            return None
        try:
            return action(*args, **kwargs)
        # Trackers fail in many ways (HTTP, SQL, OS errors, their own exceptions); any of them
        # costs the tracker, never the run.
        except Exception as error:
            self.failed = True
            log.warning(
                "%s failed and logs nothing more for this run; training goes on, and its "
                "checkpoints and metrics.json are still written. %s: %s",
                type(self).__name__,
                type(error).__name__,
                error,
            )
            return None

    # The methods Lightning calls during a run.
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        self.attempt(super().log_hyperparams, params, *args, **kwargs)  # type: ignore[misc]

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self.attempt(super().log_metrics, metrics, step)  # type: ignore[misc]

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        self.attempt(super().after_save_checkpoint, checkpoint_callback)  # type: ignore[misc]

    def finalize(self, status: str) -> None:
        self.attempt(super().finalize, status)  # type: ignore[misc]
