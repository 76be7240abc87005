"""MLflow: one SQLite store for every run and sweep job, or a tracking server."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from lightning.pytorch.loggers import MLFlowLogger
from matplotlib.figure import Figure
from omegaconf import OmegaConf

from mnist_cnn.extras.trackers.checks import check_mlflow_store, require, sqlite_file
from mnist_cnn.extras.trackers.fail_soft import FailSoft

# MLflow's own tags for the code of a run (mlflow.utils.mlflow_tags), from the provenance record.
GIT_TAGS = {"commit": "mlflow.source.git.commit", "branch": "mlflow.source.git.branch"}


class MlflowTracker(FailSoft, MLFlowLogger):
    """Lightning's MLFlowLogger that is checked as it is built (the store opens, the server
    answers), keeps artifacts beside a SQLite store, records the run's config, provenance,
    pictures and best checkpoint, and never ends a run by failing (FailSoft)."""

    def __init__(
        self,
        experiment_name: str = "train",
        tracking_uri: str = "sqlite:///outputs/mlflow.db",
        run_name: str | None = None,
        tags: dict[str, Any] | None = None,
        log_model: bool | Literal["all"] = False,
        artifact_location: str | None = None,
    ) -> None:
        require("mlflow", "mlflow")
        check_mlflow_store(tracking_uri, "logger.mlflow.tracking_uri")
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

    def log_run_config(self, config: dict[str, Any]) -> None:
        """The resolved run config as flat params (`model/optimizer/lr`) and as config.yaml."""
        self.log_hyperparams(config)
        yaml = OmegaConf.to_yaml(config)
        self.attempt(lambda: self.experiment.log_text(self.run_id, yaml, "config.yaml"))

    def log_provenance(self, record: dict[str, Any]) -> None:
        """The provenance record as `provenance/...` params, its commit under MLflow's own tags."""
        self.log_hyperparams({"provenance": record})
        code = record.get("code") or {}
        tags = {tag: code[key] for key, tag in GIT_TAGS.items() if code.get(key)}
        self._set_tags({**tags, "mlflow.source.git.dirty": str(code.get("dirty"))})

    def log_figure(self, name: str, figure: Figure, png: Path, step: int) -> None:
        self.attempt(lambda: self.experiment.log_artifact(self.run_id, str(png)))

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        best = getattr(checkpoint_callback, "best_model_path", "")
        if best:
            self._set_tags({"best_checkpoint": str(Path(best).resolve())})
        # With log_model=true Lightning logs, at the end of training, the checkpoints of the one
        # callback that saved last; periodic_checkpoint tracks no best one, so it is skipped.
        if self.log_model is True and getattr(checkpoint_callback, "monitor", None) is None:
            return
        super().after_save_checkpoint(checkpoint_callback)

    def _set_tags(self, tags: dict[str, str]) -> None:
        def set_tags() -> None:
            for key, value in tags.items():
                self.experiment.set_tag(self.run_id, key, value)

        self.attempt(set_tags)
