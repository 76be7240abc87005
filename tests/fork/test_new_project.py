"""scripts/new_project.py: a renamed copy of the template whose own tests pass."""

import importlib.util
import os
import re
import subprocess
import sys

import pytest

from tests.fixtures import REPO


@pytest.mark.slow
def test_new_project_is_renamed_and_its_tests_pass(tmp_path):
    # This tree's package (mnist_cnn, or a fork's own name) and the fork's, always different.
    (old,) = [path.parent.name for path in (REPO / "src").glob("*/train.py")]
    new = f"{old}_fork"
    name = new.replace("_", "-")
    dest = tmp_path / name
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "new_project.py"), name, "--dest", str(dest)],
        check=True, capture_output=True,
    )  # fmt: skip
    assert (dest / "src" / new / "models" / "cnn.py").is_file()
    assert not (dest / "src" / old).exists() and (dest / ".git").is_dir()
    pyproject = (dest / "pyproject.toml").read_text()
    assert f'name = "{name}"' in pyproject
    assert f'{name}-predict = "{new}.predict:main"' in pyproject
    # The Keras CNN's config keeps a name that says what it holds, not the project's.
    model_config = (dest / "conf" / "model" / "keras_cnn.yaml").read_text()
    assert f"{new}.models.MnistCNN" in model_config and not re.search(rf"\b{old}\.", model_config)
    readme = (dest / "README.md").read_text()
    assert f"`{new}` → `{new}`" not in readme and not re.search(r"`(\w+)` → `\1`", readme)
    # The new tree's own tests, importing only the new package (PYTHONPATH replaced).
    env = {**os.environ, "PYTHONPATH": str(dest / "src")}
    fast_run = "tests/test_train.py::test_fast_dev_run_through_the_composed_config"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/models/test_cnn.py", "tests/test_configs.py", fast_run],
        cwd=dest, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ passed(, \d+ warnings?)? in .*", summary), summary


def test_bad_names_are_refused_with_the_rule(tmp_path):
    spec = importlib.util.spec_from_file_location("new_project", REPO / "scripts/new_project.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    with pytest.raises(ValueError, match="lower-case letters"):
        script.new_project("2fast", tmp_path / "x")
