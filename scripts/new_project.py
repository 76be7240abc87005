"""Fork this template under a new name: `python scripts/new_project.py NAME [--dest DIR]`.

Copies the files git tracks (plus new, not-ignored ones) to DIR (default ../NAME), a new git
repository, renaming the
package (mnist_cnn → name), the distribution (mnist-cnn → name) and the console scripts
(mnist-train → name-train, ...) in file contents and paths. Class names such as MnistCNN stay.
"""

from __future__ import annotations

import argparse
import keyword
import re
import shutil
import subprocess
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
# Written out in full, so that a fork's copy of this file names the fork's own scripts.
SCRIPTS = ("mnist-train", "mnist-eval", "mnist-predict", "mnist-export")


def renames(name: str) -> dict[str, str]:
    """Old token → new token; `name` like "digits-lab" or "digits_lab"."""
    package, distribution = name.replace("-", "_"), name.replace("_", "-")
    table = {"mnist_cnn": package, "mnist-cnn": distribution}
    table.update({script: f"{distribution}-{script.rsplit('-', 1)[1]}" for script in SCRIPTS})
    return table


def rename(text: str, table: dict[str, str]) -> str:
    # Whole tokens only: mnist-t10k (the shared data folder) and MnistCNN stay as they are; so
    # does a name written "`mnist_cnn` → `new`" (the README's account of the rename itself).
    tokens = "|".join(map(re.escape, table))
    pattern = re.compile(r"(?<![\w-])(" + tokens + r")(?![\w-])(?!` → `)")
    return pattern.sub(lambda match: table[match.group(1)], text)


def template_files() -> list[Path]:
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=TEMPLATE, capture_output=True, check=True,
    )  # fmt: skip
    return [Path(p) for p in listing.stdout.decode().split("\0") if p and (TEMPLATE / p).is_file()]


def new_project(name: str, dest: Path) -> Path:
    """Write the renamed tree to `dest` (which must not exist yet); return it."""
    package = name.replace("-", "_")
    if not package.isidentifier() or keyword.iskeyword(package) or package != package.lower():
        raise ValueError(
            f"NAME={name!r}: use lower-case letters, digits, '-' or '_', starting with a letter, "
            f"e.g. digits-lab."
        )
    if dest.exists():
        raise FileExistsError(f"{dest} already exists; choose another --dest or remove it.")
    table = renames(name)
    for relative in template_files():
        target = dest / rename(str(relative), table)
        target.parent.mkdir(parents=True, exist_ok=True)
        source = TEMPLATE / relative
        try:
            target.write_text(rename(source.read_text(), table))
        except UnicodeDecodeError:  # images and other binary files are copied as they are
            shutil.copyfile(source, target)
        shutil.copymode(source, target)
    # A repository of its own from the start (this script, in the fork, lists files with git).
    subprocess.run(["git", "init", "-q", str(dest)], check=True)
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the new project's name, e.g. digits-lab")
    parser.add_argument("--dest", type=Path, help="where to write it (default: ../NAME)")
    args = parser.parse_args()
    dest = new_project(args.name, args.dest or TEMPLATE.parent / args.name)
    print(
        f"wrote {dest} (a new git repository, nothing committed yet)\nnext: cd {dest} && make test"
    )


if __name__ == "__main__":
    main()
