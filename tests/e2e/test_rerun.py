"""`python train.py rerun=<run>` as a user runs it: a second process, inside Hydra's own app,
reproduces a first one bit for bit on CPU and prints the comparison."""

import json

import pytest

from tests.fixtures import run_cli, tiny_overrides


@pytest.mark.slow
def test_a_rerun_in_a_new_process_prints_that_it_reproduced(tiny_data_dir, tmp_path):
    first, again = tmp_path / "first", tmp_path / "again"
    logs = f"paths.log_dir={tmp_path}"  # the fingerprint cache, not the checkout's outputs/
    done = run_cli("train.py", *tiny_overrides(tiny_data_dir, "logger=none"), logs,
                   f"hydra.run.dir={first}")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    # allow_code_change: this checkout may hold uncommitted work (tests/test_rerun.py refuses).
    done = run_cli("train.py", f"rerun={first}", "allow_code_change=true", logs,
                   f"hydra.run.dir={again}")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"Rerun of {first} (also in rerun.json):" in done.stdout
    assert done.stdout.rstrip().endswith("reproduced: every metric equal, weights bit-identical")
    assert json.loads((again / "rerun.json").read_text())["reproduced"] is True
    # The folder shows the config that ran (2 epochs), not the default one of `rerun=...`.
    assert "max_epochs: 2" in (again / ".hydra" / "config.yaml").read_text()
