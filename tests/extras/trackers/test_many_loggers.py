"""Several loggers at once: each one gets the same metrics and pictures."""

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.fixtures import compose_config


def test_tensorboard_and_mlflow_record_the_same_run(tracked_run, mlflow_store):
    from mlflow import MlflowClient

    events = EventAccumulator(str(tracked_run / "tensorboard"))
    events.Reload()
    assert {"test/confusion_matrix", "test/mistakes", "test/curves"} <= set(events.Tags()["images"])
    client = MlflowClient(mlflow_store)
    (run,) = client.search_runs([client.get_experiment_by_name("train").experiment_id])
    in_tensorboard = [round(e.value, 6) for e in events.Scalars("val/acc")]
    in_mlflow = [round(m.value, 6) for m in client.get_metric_history(run.info.run_id, "val/acc")]
    assert in_tensorboard == in_mlflow and len(in_mlflow) == 2


def test_logger_many_is_tensorboard_mlflow_and_wandb(tmp_path):
    cfg = compose_config("train", ["logger=many"], tmp_path)
    assert list(cfg.logger) == ["tensorboard", "mlflow", "wandb"]
    assert cfg.logger.mlflow.tracking_uri == "sqlite:///outputs/mlflow.db"
    assert cfg.logger.mlflow.experiment_name == "train"
