"""scripts/benchmark.py runs end to end on tiny sizes (its figures are not asserted)."""

import json

import pytest

from tests.fixtures import run_cli


@pytest.mark.slow
def test_benchmark_runs_end_to_end(tiny_data_dir, tmp_path):
    out = tmp_path / "bench.json"
    result = run_cli(
        "scripts/benchmark.py", "--data-dir", str(tiny_data_dir), "--train-images", "256",
        "--repeats", "1", "--device", "cpu", "--json", str(out), "--skip", "keras_epoch",
        "--speedrun-seeds", "2", "--speedrun-overrides", "trainer.max_epochs=1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    rows = report["results"]
    epochs = {"article_epoch", "project_epoch", "project_epoch_bf16", "hand_epoch"}
    assert epochs | {"keras_epoch", "data_project", "data_torchvision", "speedrun"} == set(rows)
    for name in epochs | {"data_project"}:
        assert rows[name]["median_s"] > 0 or "skipped" in rows[name], name
    assert rows["keras_epoch"] == {"skipped": "--skip"}
    speedrun = rows["speedrun"]
    assert [run["seed"] for run in speedrun["runs"]] == [0, 1]
    assert 0 <= speedrun["min_test_acc"] <= speedrun["mean_test_acc"] <= 1
    assert speedrun["fit_per_article_epoch"] > 0
    assert all(run["article_epoch_s"] > 0 for run in speedrun["runs"])  # one per seed, paired
    assert "article/this" in result.stdout and report["machine"]["cores"] >= 1
