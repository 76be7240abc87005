"""Each mode writes exactly the files its YAML comment lists (Hydra adds .hydra/ and train.log
to every run folder; these in-process runs have neither)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mnist_cnn.train import train
from tests.fixtures import compose_config

REPORT = {"confusion_matrix.png", "mistakes.png", "curves.png"}


def _files(run_dir: Path) -> set[str]:
    return {str(path.relative_to(run_dir)) for path in run_dir.rglob("*") if path.is_file()}


@pytest.mark.parametrize(
    ("overrides", "documented"),
    [
        # conf/debug/fast.yaml: no checkpoints, no logger files; metrics.json and the report.
        (["debug=fast"], {"metrics.json", "provenance.json", *REPORT}),
        # conf/callbacks/none.yaml: no checkpoints (not even Lightning's default one), no report;
        # the logger (here csv) still writes.
        (
            ["callbacks=none", "trainer.max_epochs=1", "logger=csv"],
            {"metrics.json", "provenance.json", "csv/metrics.csv", "csv/hparams.yaml"},
        ),
    ],
    ids=["debug=fast", "callbacks=none"],
)
def test_each_mode_writes_the_files_it_documents(overrides, documented, tiny_data_dir, tmp_path):
    data = [f"data.data_dir={tiny_data_dir}", "data.download=false", "trainer.accelerator=cpu"]
    train(compose_config("train", [*data, *overrides], tmp_path))
    # A checkout with uncommitted changes (a developer's) also gets its diff, as documented.
    code = json.loads((tmp_path / "provenance.json").read_text())["code"]
    assert _files(tmp_path) == documented | ({"uncommitted.patch"} if code["patch"] else set())
