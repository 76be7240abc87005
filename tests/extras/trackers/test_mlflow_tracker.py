"""logger=mlflow: what one run records, a sweep on a real server, and a tracker failing mid-run."""

import json
from pathlib import Path

import pytest

from mnist_cnn.train import train
from tests.fixtures import TINY, compose_config, read_metrics, rest, run_cli, tiny_overrides

PICTURES = ["confusion_matrix.png", "curves.png", "mistakes.png"]


@pytest.fixture(scope="module")
def mlflow_run(tracked_run, mlflow_store):
    """The tracked run as MLflow stored it, and a client of the store."""
    from mlflow import MlflowClient

    client = MlflowClient(mlflow_store)
    experiment = client.get_experiment_by_name("train")  # named after task_name
    (run,) = client.search_runs([experiment.experiment_id])
    return client, run


def test_config_is_logged_as_flat_params_and_as_a_file(mlflow_run, tracked_run, tmp_path):
    client, run = mlflow_run
    params = run.data.params
    assert params["model/optimizer/lr"] == "0.001" and params["trainer/max_epochs"] == "2"
    assert params["paths/output_dir"] == str(tracked_run)
    config = client.download_artifacts(run.info.run_id, "config.yaml", str(tmp_path))
    assert "max_epochs: 2" in Path(config).read_text()


def test_metrics_have_one_point_per_epoch_and_the_test_result(mlflow_run, tracked_run):
    client, run = mlflow_run
    for key in ("train/loss", "train/acc", "val/loss", "val/acc", "val/acc_best"):
        assert len(client.get_metric_history(run.info.run_id, key)) == 2, key
    metrics = read_metrics(tracked_run)
    assert run.data.metrics["test/acc"] == pytest.approx(metrics["test/acc"])
    assert run.data.metrics["val/acc_best"] == pytest.approx(metrics["val/acc_best"])


def test_pictures_best_checkpoint_and_run_folder_are_recorded(mlflow_run, tracked_run, tmp_path):
    client, run = mlflow_run
    names = sorted(a.path for a in client.list_artifacts(run.info.run_id))
    assert names == ["config.yaml", *PICTURES]
    curves = client.download_artifacts(run.info.run_id, "curves.png", str(tmp_path))
    assert Path(curves).read_bytes() == (tracked_run / "curves.png").read_bytes()
    assert run.data.tags["best_checkpoint"] == read_metrics(tracked_run)["best_checkpoint"]
    assert run.data.tags["run_dir"] == str(tracked_run)
    assert "sweep" not in run.data.tags  # a single run belongs to no sweep
    assert run.info.status == "FINISHED"


def test_the_provenance_record_is_logged_with_mlflows_own_git_tags(mlflow_run, tracked_run):
    _, run = mlflow_run
    record = json.loads((tracked_run / "provenance.json").read_text())
    params, tags, images = run.data.params, run.data.tags, "t10k-images-idx3-ubyte"
    assert params["provenance/environment/torch"] == record["environment"]["torch"]
    assert params[f"provenance/data/test/{images}"] == record["data"]["test"][images]
    assert tags.get("mlflow.source.git.commit") == record["code"]["commit"]  # None: no git here
    assert tags["mlflow.source.git.dirty"] == str(record["code"]["dirty"])


def test_a_tracker_failing_mid_run_costs_the_tracker_not_the_run(
    tiny_data_dir, mlflow_store, tmp_path, monkeypatch, caplog
):
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    log_batch = MlflowClient.log_batch

    def server_gone_after_the_params(self, run_id, metrics=(), **kwargs):
        if metrics:
            raise MlflowException("API request failed: connection refused")
        return log_batch(self, run_id, metrics=metrics, **kwargs)

    monkeypatch.setattr(MlflowClient, "log_batch", server_gone_after_the_params)
    overrides = tiny_overrides(
        tiny_data_dir, "logger=mlflow", f"logger.mlflow.tracking_uri={mlflow_store}",
        "logger.mlflow.experiment_name=failing",  # not the tracked run's experiment
    )  # fmt: skip
    train(compose_config("train", overrides, tmp_path))
    assert read_metrics(tmp_path)["epochs"] == 2
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    assert "MlflowTracker failed and logs nothing more for this run" in caplog.text
    assert caplog.text.count("MlflowTracker failed") == 1  # once, then quiet


@pytest.mark.slow
def test_a_server_serves_the_run_over_its_rest_api(mlflow_server, tracked_run):
    api = f"{mlflow_server}/api/2.0/mlflow"
    experiment = rest(f"{api}/experiments/get-by-name?experiment_name=train")["experiment"]
    (run,) = rest(f"{api}/runs/search", {"experiment_ids": [experiment["experiment_id"]]})["runs"]
    params = {param["key"]: param["value"] for param in run["data"]["params"]}
    assert params["model/optimizer/lr"] == "0.001"
    metrics = {metric["key"]: metric["value"] for metric in run["data"]["metrics"]}
    assert metrics["test/acc"] == pytest.approx(read_metrics(tracked_run)["test/acc"])
    files = rest(f"{api}/artifacts/list?run_id={run['info']['run_id']}")["files"]
    assert sorted(f["path"] for f in files) == ["config.yaml", *PICTURES]


@pytest.mark.slow
def test_a_sweep_logs_its_jobs_into_one_experiment_tagged_with_the_sweep(
    mlflow_server, tiny_data_dir, tmp_path
):
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        "train.py", "-m", "seed=1,2", f"data.data_dir={tiny_data_dir}", *TINY,
        "trainer.max_epochs=1", "test=false", "callbacks.learning_report=null",  # lean jobs
        "logger=mlflow", f"logger.mlflow.tracking_uri={mlflow_server}",
        "logger.mlflow.experiment_name=sweep", f"hydra.sweep.dir={sweep_dir}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    api = f"{mlflow_server}/api/2.0/mlflow"
    experiment = rest(f"{api}/experiments/get-by-name?experiment_name=sweep")["experiment"]
    runs = rest(f"{api}/runs/search", {"experiment_ids": [experiment["experiment_id"]]})["runs"]
    assert len(runs) == 2
    tags = [{tag["key"]: tag["value"] for tag in run["data"]["tags"]} for run in runs]
    assert [t["sweep"] for t in tags] == [str(sweep_dir)] * 2
    assert sorted(t["run_dir"] for t in tags) == [str(sweep_dir / "0"), str(sweep_dir / "1")]
    assert all("val/acc" in {m["key"] for m in run["data"]["metrics"]} for run in runs)
