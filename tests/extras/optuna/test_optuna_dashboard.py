"""optuna-dashboard <storage> shows a sweep's studies, a two-objective one with its Pareto front:
started on a loopback port, read over HTTP."""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from mnist_cnn.extras.optuna.storage import open_storage
from mnist_cnn.extras.optuna.study import open_study


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture(scope="session")
def study_storage(tmp_path_factory) -> str:
    """A study as a sweep leaves it: one trial completed with per-epoch values, one pruned."""
    path = tmp_path_factory.mktemp("dashboard") / "train_keras_cnn.db"
    study = optuna.create_study(
        storage=open_storage(path), study_name="train_keras_cnn", direction="maximize"
    )
    lr = FloatDistribution(1e-4, 1e-2, log=True)
    for value, curve, state in [(0.98, {0: 0.95, 1: 0.98}, TrialState.COMPLETE),
                                (None, {0: 0.4}, TrialState.PRUNED)]:  # fmt: skip
        study.add_trial(create_trial(params={"model.optimizer.lr": 1e-3}, value=value,
                                     distributions={"model.optimizer.lr": lr}, state=state,
                                     intermediate_values=curve))  # fmt: skip
    # As hparams_search=accuracy_vs_size opens it: two objectives, named.
    front = open_study(open_storage(path), "front", ["maximize", "minimize"], None, {}, "here",
                       metrics=["val/acc_best", "params"])  # fmt: skip
    for values in ([0.98, 34826], [0.97, 9000], [0.96, 12000], [0.90, 2000]):  # 2 is dominated
        front.add_trial(create_trial(params={}, distributions={}, values=values))
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def dashboard(study_storage):
    """The dashboard's base URL; the server runs for the session, on 127.0.0.1 only."""
    executable = Path(sys.executable).with_name("optuna-dashboard")
    if not executable.exists():
        executable = shutil.which("optuna-dashboard")
    port = _free_port()
    server = subprocess.Popen(
        [str(executable), study_storage, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                _get(f"{url}/api/studies")
                break
            except OSError:
                assert server.poll() is None, server.stderr.read()
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_the_dashboard_serves_the_study_with_its_trials(dashboard):
    studies = {
        study["study_name"]: study for study in _get(f"{dashboard}/api/studies")["study_summaries"]
    }
    study = studies["train_keras_cnn"]
    assert study["directions"] == ["maximize"]
    detail = _get(f"{dashboard}/api/studies/{study['study_id']}?after=0")
    trials = detail["trials"]
    assert [trial["state"] for trial in trials] == ["Complete", "Pruned"]
    assert [point["value"] for point in trials[0]["intermediate_values"]] == [0.95, 0.98]
    assert trials[0]["values"] == [0.98]


@pytest.mark.slow
def test_the_dashboard_shows_a_two_objective_studys_front(dashboard):
    studies = _get(f"{dashboard}/api/studies")["study_summaries"]
    (study,) = [study for study in studies if study["study_name"] == "front"]
    assert study["directions"] == ["maximize", "minimize"]
    detail = _get(f"{dashboard}/api/studies/{study['study_id']}?after=0")
    assert detail["objective_names"] == ["val/acc_best", "params"]  # its axes' labels
    assert [trial["number"] for trial in detail["best_trials"]] == [0, 1, 3]
