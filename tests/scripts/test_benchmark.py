"""scripts/benchmark.py runs end to end on tiny sizes (its figures are not asserted)."""

import json

import pytest

from tests.fixtures import run_cli


@pytest.mark.slow
def test_benchmark_runs_end_to_end(tiny_data_dir, tmp_path):
    out = tmp_path / "bench.json"
    result = run_cli(
        "scripts/benchmark.py", "--data-dir", str(tiny_data_dir), "--train-images", "256",
        "--repeats", "1", "--device", "cpu", "--json", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    rows = report["results"]
    expected = {"article_loop", "keras_fit", "project_fit", "optimised_loop"}
    assert expected | {"data_project", "data_torchvision"} == set(rows)
    for name, row in rows.items():
        assert row.get("images_per_s", 0) > 0 or "skipped" in row, name
    assert report["peak_rss_mb_default_cpu_run"] > 50
    assert "vs article" in result.stdout and report["machine"]["cores"] >= 1
