"""Fixtures of the fork tests: the template as a git repository of its own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fixtures import REPO
from tests.fork.fixtures import git


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> Path:
    """This checkout's files (those git knows, changes included) as a repository of its own at
    one commit: what `copier copy` and `copier update` read."""
    root = tmp_path_factory.mktemp("template") / "mnist-cnn"
    listed = git(REPO, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for name in filter(None, listed.split("\0")):
        if (REPO / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "A")
    return root
