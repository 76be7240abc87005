"""No module imports one that stands above it: data, models and utils at the bottom, then
checkpoints, inference, callbacks and launch code, then the entry points."""

from __future__ import annotations

import ast
from pathlib import Path

import mnist_cnn

PACKAGE = Path(mnist_cnn.__file__).parent
ENTRY = {"train", "eval", "predict", "export", "from_keras"}
# part → the parts it must never import (utils: nothing of ours but utils).
NEVER = {
    "data": {"models", "checkpoint", "stored_config", "inference", "callbacks", "launch", "report",
             "convert", *ENTRY},
    "models": {"data", "checkpoint", "stored_config", "inference", "callbacks", "launch", "report",
               "convert", *ENTRY},
    "checkpoint": {"inference", "callbacks", "launch", *ENTRY},
    "stored_config": {"checkpoint", "inference", "callbacks", "launch", *ENTRY},
    "inference": {"callbacks", "launch", *ENTRY},
    "report": {"checkpoint", "inference", "callbacks", "launch", *ENTRY},
    "callbacks": {"launch", *ENTRY},
    "launch": ENTRY,
}  # fmt: skip


def _part(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _imported_parts(path: Path) -> set[str]:
    parts = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        parts |= {name.split(".")[1] for name in names if name.startswith("mnist_cnn.")}
    return parts


def test_no_module_imports_one_above_it():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        part = _part(path)
        allowed_none = part == "utils"
        for imported in _imported_parts(path) - {part}:
            if allowed_none or imported in NEVER.get(part, set()):
                wrong.append(f"{path.relative_to(PACKAGE)} imports mnist_cnn.{imported}")
    assert not wrong, "imports that run up a floor:\n" + "\n".join(wrong)
