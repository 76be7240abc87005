"""The benchmark runs end to end on tiny sizes, and its figures are what its rounds say."""

import json
import statistics
import subprocess
import sys

import pytest

from tests.fixtures import REPO


@pytest.mark.slow
def test_benchmark_runs_end_to_end_and_reports_its_rounds(tiny_data_dir, tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "mnist_cnn.extras.bench.benchmark", "--data-dir",
         str(tiny_data_dir), "--train-images", "256", "--repeats", "2", "--device", "cpu",
         "--json", str(out), "--skip", "keras_epoch", "--speedrun-seeds", "2",
         "--speedrun-overrides", "trainer.max_epochs=1"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    rows = report["results"]
    epochs = {"article_epoch", "project_epoch", "project_epoch_bf16", "hand_epoch"}
    assert epochs | {"keras_epoch", "data_project", "data_torchvision", "speedrun"} <= set(rows)
    assert rows["keras_epoch"] == {"skipped": "--skip"}
    for name in epochs | {"data_project"}:
        if "skipped" in rows[name]:
            continue
        rounds = rows[name]["seconds"]  # two counted rounds after the warm-up, all positive
        assert len(rounds) == 2 and min(rounds) > 0, name
        assert rows[name]["median_s"] == statistics.median(rounds), name
    speedrun = rows["speedrun"]
    assert [run["seed"] for run in speedrun["runs"]] == [0, 1]
    ratios = [run["fit_time_s"] / run["article_epoch_s"] for run in speedrun["runs"]]
    assert speedrun["fit_per_article_epoch"] == pytest.approx(statistics.median(ratios))
    accuracies = [run["test_acc"] for run in speedrun["runs"]]
    assert speedrun["min_test_acc"] == min(accuracies) > 0.1  # one epoch learns something
    # Start-up: --help and a config error need neither Lightning nor data, a step needs both.
    startup = {name: rows[f"startup_{name}"]["median_s"] for name in
               ("help", "config_error", "missing_ckpt", "first_step")}  # fmt: skip
    assert (
        startup["help"] < startup["first_step"] and startup["config_error"] < startup["first_step"]
    )
    checked, plain = rows["checkpoint_load"]["seconds"], rows["checkpoint_load_plain"]["seconds"]
    ratios = sorted(a / b for a, b in zip(checked, plain, strict=True))
    assert rows["checkpoint_load"]["vs_plain"] == pytest.approx(statistics.median(ratios))
    assert "article/this" in result.stdout and report["machine"]["cores"] >= 1
