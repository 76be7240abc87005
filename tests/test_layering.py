"""The layout holds: the core never imports an extra, an extra reaches no other extra, no module
imports one that stands above it, the core's configs name no extra's class, and a reader follows
a training run from `python train.py` to the first optimizer step through at most 8 files."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

import mnist_cnn

PACKAGE = Path(mnist_cnn.__file__).parent
NAME = PACKAGE.name  # mnist_cnn, or a fork's own name
REPO = PACKAGE.parents[1]
EXTRAS_DIR = PACKAGE / "extras"
EXTRAS = sorted(p.name for p in EXTRAS_DIR.iterdir() if (p / "__init__.py").is_file())
ENTRY = {"train", "eval", "predict", "export"}
# Floors of the core: part → the parts it must never import.
NEVER = {
    "data": {"models", "checkpoint", "stored_config", "inference", "callbacks", "report", *ENTRY},
    "models": {"data", "checkpoint", "stored_config", "inference", "callbacks", "report", *ENTRY},
    "archive": {"checkpoint", "stored_config", "inference", "callbacks", "cli", *ENTRY},
    "checkpoint": {"inference", "callbacks", "rerun", *ENTRY},
    "stored_config": {"checkpoint", "inference", "callbacks", *ENTRY},
    "inference": {"callbacks", *ENTRY},
    "report": {"checkpoint", "inference", "callbacks", *ENTRY},
    "callbacks": ENTRY,
    "cli": {"data", "models", "checkpoint", "stored_config", "inference", "callbacks", *ENTRY},
    "preflight": {"inference", "callbacks", "cli", *ENTRY},
    "provenance": {"checkpoint", "stored_config", "inference", "callbacks", "rerun", *ENTRY},
    "rerun": {"inference", "callbacks", *ENTRY},
}
MAX_ROUTE_FILES = 8


def _imports(path: Path) -> set[str]:
    """Every module of ours `path` imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return {name for name in names if name == NAME or name.startswith(f"{NAME}.")}


def _core_files() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if EXTRAS_DIR not in p.parents]


def test_the_core_never_imports_an_extra():
    wrong = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in _core_files()
        for name in _imports(path)
        if name.startswith(f"{NAME}.extras.")
    ]
    assert not wrong, "the core imports an extra:\n" + "\n".join(wrong)


@pytest.mark.parametrize("extra", EXTRAS)
def test_an_extra_reaches_no_other_extra(extra):
    wrong = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in sorted((EXTRAS_DIR / extra).rglob("*.py"))
        for name in _imports(path)
        if name.startswith(f"{NAME}.extras.") and not name.startswith(f"{NAME}.extras.{extra}")
    ]
    assert not wrong, f"extra {extra} reaches another:\n" + "\n".join(wrong)


def test_no_module_of_the_core_imports_one_above_it():
    wrong = []
    for path in _core_files():
        part = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for name in _imports(path):
            imported = name.split(".")[1] if "." in name else ""
            if imported in NEVER.get(part, set()):
                wrong.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not wrong, "imports that run up a floor:\n" + "\n".join(wrong)


def _extras_parts() -> dict[str, list[str]]:
    """What each extra consists of, from copier.yml (the template's; a fork has none)."""
    copier = REPO / "copier.yml"
    if not copier.is_file():
        pytest.skip("copier.yml lives in the template only: the extras' parts are listed there")
    parts: dict[str, list[str]] = {}
    for entry in yaml.safe_load(copier.read_text())["_exclude"]:
        if found := re.fullmatch(r"\{% if '(\w+)' not in extras %\}(.+)\{% endif %\}", entry):
            parts.setdefault(found.group(1), []).append(found.group(2))
    return parts


def test_each_extra_has_its_folder_tests_config_and_pip_extra():
    parts = _extras_parts()
    assert sorted(parts) == EXTRAS
    pyproject = (REPO / "pyproject.toml").read_text()
    for extra, paths in parts.items():
        for path in paths:
            assert (REPO / path).exists(), f"{extra}: {path} is listed in copier.yml but missing"
        assert f"src/{NAME}/extras/{extra}" in paths and f"tests/extras/{extra}" in paths
        assert re.search(rf"^# extra: {extra}\n(#.*\n)*{extra} = \[", pyproject, re.M), extra


def test_the_cores_configs_name_no_extras_class():
    owned = {path for paths in _extras_parts().values() for path in paths}
    wrong = []
    for config in sorted((REPO / "conf").rglob("*.yaml")):
        relative = str(config.relative_to(REPO))
        if any(relative == path or relative.startswith(f"{path}/") for path in owned):
            continue
        targets = re.findall(r"_target_:\s*(\S+)", config.read_text())
        wrong += [f"{relative}: {t}" for t in targets if t.startswith(f"{NAME}.extras.")]
    assert not wrong, "core configs that need an extra:\n" + "\n".join(wrong)


def test_a_training_run_reaches_its_first_step_through_at_most_8_files(tiny_data_dir, tmp_path):
    """Our files whose functions run from `python train.py` until the first optimizer step,
    not counting what Lightning and Hydra call back into: callbacks and loggers, which the
    config plugs in, and Hydra's own callbacks. The list is printed when it is too long."""
    route = _files_before_first_step(
        [f"data.data_dir={tiny_data_dir}", "data.download=false", "trainer.accelerator=cpu",
         "logger=none", f"hydra.run.dir={tmp_path}"]
    )  # fmt: skip
    listing = "\n".join(str(path.relative_to(REPO)) for path in route)
    assert len(route) <= MAX_ROUTE_FILES, f"{len(route)} files on the way:\n{listing}"
    assert REPO / "train.py" in route and PACKAGE / "models" / "cnn.py" in route, listing


class _FirstStep(BaseException):  # past Lightning and Hydra: no error report
    pass


def _files_before_first_step(overrides: list[str]) -> list[Path]:
    import runpy

    from hydra.experimental.callback import Callback as HydraCallback
    from lightning.pytorch import Callback
    from lightning.pytorch.loggers import Logger
    from torch.optim.optimizer import register_optimizer_step_pre_hook

    ours, plugins = str(REPO), (Callback, Logger, HydraCallback)
    skipped = (str(REPO / ".venv"), str(REPO / "tests"))
    seen: dict[str, None] = {}

    def plugged_in(frame) -> bool:  # a callback's or logger's method is on the stack
        while frame is not None:
            if isinstance(frame.f_locals.get("self"), plugins):
                return True
            frame = frame.f_back
        return False

    def profile(frame, event, arg):
        name = frame.f_code.co_filename
        if event == "call" and name.startswith(ours) and not name.startswith(skipped):
            code = frame.f_code.co_name
            # Imports and class bodies (and their comprehensions) define, they do not run.
            is_body = code.startswith("<") or code[:1].isupper()
            if name not in seen and not is_body and not plugged_in(frame):
                seen[name] = None

    def stop(optimizer, args, kwargs):
        raise _FirstStep

    handle = register_optimizer_step_pre_hook(stop)
    argv = sys.argv
    sys.argv = [str(REPO / "train.py"), *overrides]
    seen[str(REPO / "train.py")] = None  # the launcher itself runs as a module body
    sys.setprofile(profile)
    try:
        runpy.run_path(str(REPO / "train.py"), run_name="__main__")
    except (_FirstStep, SystemExit):
        pass
    finally:
        sys.setprofile(None)
        sys.argv = argv
        handle.remove()
    return [Path(name) for name in seen]
