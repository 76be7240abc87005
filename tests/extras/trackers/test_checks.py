"""A tracker that cannot work is refused before any work, with the fix in one line."""

import re
import sys

import pytest

from mnist_cnn.cli import expected_error
from mnist_cnn.train import train
from tests.fixtures import compose_config, free_port, tiny_overrides


def _refused(data_dir, run_dir, *extra, error, match):
    cfg = compose_config("train", tiny_overrides(data_dir, *extra), run_dir)
    with pytest.raises(Exception) as info:
        train(cfg)
    shown = expected_error(info.value)  # what the command prints, as one line
    assert isinstance(shown, error) and re.search(match, str(shown)), info.value
    assert not run_dir.exists() or not any(run_dir.iterdir())  # nothing written
    return str(shown)


@pytest.mark.parametrize("tracker", ["mlflow", "wandb"])
def test_missing_extra_names_the_install_command(tracker, tiny_data_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, tracker, None)  # import mlflow/wandb now fails
    message = _refused(
        tiny_data_dir, tmp_path / "run", f"logger={tracker}", error=ModuleNotFoundError, match=""
    )
    assert message == f'logger={tracker} needs the {tracker} package: pip install -e ".[trackers]"'


def test_unreachable_tracking_server(tiny_data_dir, tmp_path):
    address = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    _refused(
        tiny_data_dir, tmp_path / "run", "logger=mlflow", f"logger.mlflow.tracking_uri={address}",
        error=ValueError,
        match=rf"logger\.mlflow\.tracking_uri={re.escape(address)}: cannot reach "
        rf"{re.escape(address)}/health \(.*refused.*\)\. Start it \(mlflow server",
    )  # fmt: skip


def test_tracking_uri_that_cannot_be_opened(tiny_data_dir, tmp_path):
    (tmp_path / "a_file").write_text("")
    uri = f"sqlite:///{tmp_path}/a_file/mlflow.db"  # a folder that is a file
    _refused(
        tiny_data_dir, tmp_path / "run", "logger=mlflow", f"logger.mlflow.tracking_uri={uri}",
        error=ValueError,
        match=rf"logger\.mlflow\.tracking_uri={re.escape(uri)}: cannot open this MLflow store",
    )  # fmt: skip
