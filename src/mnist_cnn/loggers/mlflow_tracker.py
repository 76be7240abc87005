"""MLflow: one SQLite store for every run and sweep job, or a tracking server."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from lightning.pytorch.loggers import MLFlowLogger

from mnist_cnn.loggers.fail_soft import FailSoft

SQLITE_PREFIX = "sqlite:///"


def sqlite_file(tracking_uri: str) -> Path | None:
    """The database file of a `sqlite:///path` URI (`sqlite:////abs/path` for an absolute one),
    else None."""
    path = tracking_uri.removeprefix(SQLITE_PREFIX)
    if path == tracking_uri or path in ("", ":memory:"):
        return None
    return Path(path)


class MlflowTracker(FailSoft, MLFlowLogger):
    """Lightning's MLFlowLogger that keeps artifacts beside a SQLite store and never ends a run
    by failing (FailSoft)."""

    def __init__(
        self,
        experiment_name: str = "train",
        tracking_uri: str = "sqlite:///outputs/mlflow.db",
        run_name: str | None = None,
        tags: dict[str, Any] | None = None,
        log_model: bool | Literal["all"] = False,
        artifact_location: str | None = None,
    ) -> None:
        self.log_model = log_model
        store = sqlite_file(tracking_uri)
        if artifact_location is None and store is not None:
            # MLflow's own default, ./mlartifacts, depends on the directory you run from.
            artifact_location = str(store.parent.resolve() / "mlartifacts")
        super().__init__(
            experiment_name=experiment_name,
            run_name=run_name,
            tracking_uri=tracking_uri,
            # An empty value (e.g. `sweep` outside a sweep) would only clutter the run's tags.
            tags={
                key: str(value) for key, value in (tags or {}).items() if value not in ("", None)
            },
            log_model=log_model,
            artifact_location=artifact_location,
        )

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        # With log_model=true Lightning logs, at the end of training, the checkpoints of the one
        # callback that saved last; periodic_checkpoint tracks no best one, so it is skipped.
        if self.log_model is True and getattr(checkpoint_callback, "monitor", None) is None:
            return
        super().after_save_checkpoint(checkpoint_callback)
