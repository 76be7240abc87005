"""A run that fails leaves its folder marked FAILED.txt, with the error."""

import pytest

from mnist_cnn.cli import FAILED_MARKER, marked_if_failed
from tests.fixtures import run_cli


def test_an_error_is_written_beside_the_log_and_raised_again(tmp_path):
    with pytest.raises(ValueError, match="bad value"), marked_if_failed(tmp_path):
        raise ValueError("bad value")
    assert (tmp_path / FAILED_MARKER).read_text() == "ValueError: bad value\n"


def test_a_run_that_ends_well_or_with_a_reported_status_is_not_marked(tmp_path):
    with marked_if_failed(tmp_path):
        pass
    with pytest.raises(SystemExit), marked_if_failed(tmp_path):
        raise SystemExit(1)  # predict: some inputs refused, the table already printed
    assert not (tmp_path / FAILED_MARKER).exists()


@pytest.mark.slow
def test_a_failed_eval_leaves_its_folder_marked(tmp_path):
    run_dir = tmp_path / "run"
    missing = tmp_path / "missing.ckpt"
    result = run_cli("eval.py", f"ckpt_path={missing}", f"hydra.run.dir={run_dir}")
    assert result.returncode == 1 and "no such file" in result.stderr
    assert "missing.ckpt: no such file" in (run_dir / FAILED_MARKER).read_text()
    assert (run_dir / "eval.log").is_file()
