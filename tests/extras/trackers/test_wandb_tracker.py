"""logger=wandb: without an API key the run is written offline into the run folder."""

import json

from tests.fixtures import read_metrics


def test_an_offline_run_file_with_metrics_and_pictures_lies_under_the_run_folder(tracked_run):
    (offline_run,) = (tracked_run / "wandb").glob("offline-run-*")
    (run_file,) = offline_run.glob("run-*.wandb")
    # The run file holds W&B's protobuf records; their strings are stored as they are.
    records = run_file.read_bytes()
    best = read_metrics(tracked_run)["best_checkpoint"]
    for text in ("val/acc", "test/acc", "model", "best_checkpoint", best):
        assert text.encode() in records, text
    images = offline_run / "files" / "media" / "images" / "test"  # wandb.Image files
    assert sorted(p.name.split("_")[0] for p in images.glob("*.png")) == [
        "confusion", "curves", "mistakes"
    ]  # fmt: skip


def test_the_provenance_record_is_in_the_runs_config(tracked_run):
    (run_file,) = (tracked_run / "wandb").glob("offline-run-*/run-*.wandb")
    records = run_file.read_bytes()
    record = json.loads((tracked_run / "provenance.json").read_text())
    test_images = record["data"]["test"]["t10k-images-idx3-ubyte"]
    for text in ("provenance", "cpu_capability", record["environment"]["torch"], test_images):
        assert text.encode() in records, text
