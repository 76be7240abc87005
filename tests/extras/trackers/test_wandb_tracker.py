"""logger=wandb: without an API key the run is written offline into the run folder."""

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
