"""What copier runs in a fork of this template (copier.yml): `forward` renames it to its own name
and drops the lines of the extras it did not choose; `back` renames it to the template's names
(before `copier update`, which merges in the template's names; `forward` runs again after).

    python scripts/fork.py forward --name digits-lab --extras trackers,optuna
    python scripts/fork.py back            # reads the name from .copier-answers.yml

Renamed, as whole tokens in file contents and paths: the package (mnist_cnn), the distribution
(mnist-cnn) and the console scripts (mnist-train, ...). Class and config names that describe
what they hold stay (MnistCNN, conf/model/keras_cnn.yaml), and so does `mnist_cnn_config`, the
key checkpoints carry their config under, so that checkpoints load in the template and its forks.
An extra's lines are those between `# extra: NAME` (or `<!-- extra: NAME -->`) and `/extra`.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

EXTRAS = ("trackers", "optuna", "keras", "cluster", "bench")
COMMANDS = ("train", "eval", "predict", "export", "from-keras")
ANSWERS = ".copier-answers.yml"
_START = re.compile(r"^\s*(?:#|<!--)\s*extra:\s*(\w+)")
_END = re.compile(r"^\s*(?:#|<!--)\s*/extra\b")
_SKIPPED = {".git", ".venv", "outputs", "node_modules", "__pycache__"}


def renames(name: str) -> dict[str, str]:
    """Template token → fork token, for `name` like "digits-lab" or "digits_lab"."""
    package, distribution = name.replace("-", "_"), name.replace("_", "-")
    table = {"mnist_cnn": package, "mnist-cnn": distribution}
    table.update({f"mnist-{command}": f"{distribution}-{command}" for command in COMMANDS})
    return table


def rename_text(text: str, table: dict[str, str]) -> str:
    # Whole tokens only: mnist-t10k (the shared data folder), MnistCNN and mnist_cnn_config stay.
    tokens = "|".join(map(re.escape, sorted(table, key=len, reverse=True)))
    pattern = re.compile(r"(?<![\w-])(" + tokens + r")(?![\w-])")
    return pattern.sub(lambda match: table[match.group(1)], text)


def drop_extras(text: str, kept: set[str]) -> str:
    """`text` without the blocks of the extras not in `kept` (markers and all)."""
    lines, dropping = [], False
    for line in text.splitlines(keepends=True):
        start = _START.match(line)
        if start and start.group(1) not in kept:
            dropping = True
        if not dropping:
            lines.append(line)
        elif _END.match(line):
            dropping = False
    return "".join(lines)


def project_files(root: Path) -> list[Path]:
    """Every file of the project (not .git, .venv, outputs), deepest first for renaming."""
    files = [
        path
        for path in root.rglob("*")
        if path.is_file() and not _SKIPPED & set(path.relative_to(root).parts)
    ]
    return sorted(files, key=lambda path: len(path.parts), reverse=True)


def apply(root: Path, table: dict[str, str], kept: set[str] | None) -> None:
    """Rename contents and paths under `root` by `table`; drop unkept extras' lines if given."""
    for path in project_files(root):
        if path.name == ANSWERS:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:  # images and other binary files
            text = None
        if text is not None:
            new = rename_text(drop_extras(text, kept) if kept is not None else text, table)
            if kept is not None and path.name == "Makefile":
                new = re.sub(r"^EXTRAS := .*$", f"EXTRAS := {','.join(sorted(kept))}", new,
                             flags=re.M)  # fmt: skip
            if new != text:
                path.write_text(new)
        relative = path.relative_to(root)
        target = root / rename_text(str(relative), table)
        if target != path:
            target.parent.mkdir(parents=True, exist_ok=True)
            path.rename(target)
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=str, reverse=True):
        if not any(folder.iterdir()) and not _SKIPPED & set(folder.relative_to(root).parts):
            folder.rmdir()  # emptied by the renames


def answered_name(root: Path) -> str:
    for line in (root / ANSWERS).read_text().splitlines():
        if line.startswith("project_name:"):
            return line.split(":", 1)[1].strip().strip("'\"")
    raise SystemExit(f"{root / ANSWERS}: no project_name; run copier copy first.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("direction", choices=("forward", "back"))
    parser.add_argument("--name", help="the fork's name (forward)")
    parser.add_argument("--extras", default="", help="the extras kept, comma separated (forward)")
    parser.add_argument("--root", type=Path, default=Path.cwd())
    args = parser.parse_args()
    if args.direction == "forward":
        kept = {extra for extra in args.extras.split(",") if extra}
        unknown = kept - set(EXTRAS)
        if unknown:
            raise SystemExit(f"--extras: unknown {sorted(unknown)}; choose from {EXTRAS}.")
        apply(args.root, renames(args.name), kept)
    else:
        forward = renames(answered_name(args.root))
        apply(args.root, {new: old for old, new in forward.items()}, None)


if __name__ == "__main__":
    main()
