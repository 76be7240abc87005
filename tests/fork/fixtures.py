"""Helpers of the fork tests: forks made with copier as a user makes them (docs/make-it-yours.md),
git, and a fork's own test suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fixtures import REAL_DIGITS_ENV, T10K_DIR

# A fork's commits need an author wherever the tests run.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "fork test", "GIT_AUTHOR_EMAIL": "fork@test",
    "GIT_COMMITTER_NAME": "fork test", "GIT_COMMITTER_EMAIL": "fork@test",
}  # fmt: skip


def git(root: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(root), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout


def fork(template: Path, dest: Path, extras: list[str], name: str = "digits-lab") -> Path:
    """`copier copy` of `template` into `dest` with `extras`, committed as a user would."""
    from copier import run_copy

    data = {"project_name": name, "extras": extras}
    run_copy(str(template), dest, data=data, defaults=True, unsafe=True, quiet=True)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "fork")
    return dest


def run_tests(root: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """A fork's own pytest, its package from its src/ (not installed), real digits if we have
    them; fails the test with the fork's output when its tests fail."""
    env = {**os.environ, "PYTHONPATH": str(root / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    if T10K_DIR.is_dir():
        env[REAL_DIGITS_ENV] = str(T10K_DIR)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=root, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result
