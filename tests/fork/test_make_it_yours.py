"""docs/make-it-yours.md, done as a new user would: fork with copier, add a LeNet-5 and an IDX
dataset of one's own, then train, eval, predict, export and search. The files come from the
page itself."""

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures import REPO, summary_rows, synthetic_digits
from tests.fork.fixtures import fork as make_fork

DOC = REPO / "docs" / "make-it-yours.md"
NAME, PACKAGE = "digits-lab", "digits_lab"
TITLED = {
    f"src/{PACKAGE}/models/lenet5.py", "conf/model/lenet5.yaml", "tests/models/test_lenet5.py",
    "conf/data/my_digits.yaml", "write_idx.py",
}  # fmt: skip
# Speed only: the doc's commands run as written, plus these (1 epoch of 300 tiny images).
QUICK = ["trainer.accelerator=cpu", "trainer.max_epochs=1", "logger=none"]


def _titled_blocks(doc: str) -> dict[str, str]:
    """The page's code blocks that carry a file name: ```python title="path"."""
    return dict(re.findall(r'```\w+ title="([^"]+)"\n(.*?)```', doc, re.DOTALL))


def _run(fork: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(fork / "src")}  # the fork's package, not installed
    result = subprocess.run(
        [sys.executable, *args], cwd=fork, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{args}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


def _step(doc: str, fork: Path, command: str, *quick: str, **values: object):
    """Run a `python ...` command the page shows (CKPT-like words replaced), plus `quick`."""
    assert command in doc, f"docs/make-it-yours.md no longer shows `{command}`"
    for word, value in values.items():
        command = command.replace(word, str(value))
    return _run(fork, *command.split()[1:], *quick)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path}: no `{old}` to change"
    path.write_text(text.replace(old, new, 1))


def _files(root: Path) -> set[str]:
    # Python's bytecode caches aside (written where PYTHONDONTWRITEBYTECODE is unset).
    skip = {".git", "__pycache__"}
    paths = (p for p in root.rglob("*") if p.is_file() and not skip & set(p.parts))
    return {str(p.relative_to(root)) for p in paths}


def _predictions(path: Path) -> list[dict]:
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_a_fork_with_its_own_network_and_dataset_does_everything(template, tmp_path):
    doc = DOC.read_text()
    # 1. Fork, keeping the extra the page's search needs.
    assert f"copier copy --trust /path/to/mnist-cnn ../{NAME}" in doc
    fork = make_fork(template, tmp_path / NAME, ["optuna"], NAME)

    # 2. A network: its file, its registration, its config, its shape test; then the default.
    blocks = _titled_blocks(doc)
    assert set(blocks) == TITLED
    for path, text in blocks.items():
        if path != "write_idx.py":
            (fork / path).parent.mkdir(parents=True, exist_ok=True)
            (fork / path).write_text(text)
    register = f"from {PACKAGE}.models.lenet5 import LeNet5\n\nNETWORKS: tuple[type, ...] = ("
    assert f"{register}LeNet5, MnistCNN)" in doc
    registry = fork / "src" / PACKAGE / "models" / "registry.py"
    cnn = f"from {PACKAGE}.models.cnn import MnistCNN\n"
    _edit(registry, cnn, f"{cnn}{register.splitlines()[0]}\n")
    _edit(registry, "NETWORKS: tuple[type, ...] = (", "NETWORKS: tuple[type, ...] = (LeNet5, ")
    assert "`- model: keras_cnn` to\n`- model: lenet5`" in doc
    _edit(fork / "conf" / "train.yaml", "- model: keras_cnn", "- model: lenet5")
    assert "python -m pytest tests/models/test_lenet5.py" in doc
    _run(fork, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/models/test_lenet5.py")
    _run(
        fork,
        "-m",
        "ruff",
        "check",
        "--quiet",
        *(p for p in TITLED if p.endswith(".py") and "/" in p),
    )

    # 3. A dataset: the config above, and four IDX files written with the page's write_idx.
    namespace: dict = {}
    exec(blocks["write_idx.py"], namespace)  # our own page's snippet, run as a user would
    raw = fork / "data" / "MyDigits" / "raw"
    raw.mkdir(parents=True)
    for split, count, seed in (("train", 300, 0), ("t10k", 100, 1)):
        images, labels = synthetic_digits(count, seed=seed)
        namespace["write_idx"](raw / f"{split}-images-idx3-ubyte", images[:, 0].numpy())
        namespace["write_idx"](raw / f"{split}-labels-idx1-ubyte", labels.numpy())
    before = _files(fork)

    # 4. Train (LeNet-5 is the default now), eval, predict, export, predict the ONNX file, search.
    trained_log = _step(doc, fork, "python train.py data=my_digits", *QUICK)
    assert 'Model: "LeNet5"' in trained_log.stdout  # the run's Keras-style summary
    (train_run,) = (fork / "outputs" / "train" / "runs").iterdir()
    trained = json.loads((train_run / "metrics.json").read_text())
    ckpt = Path(trained["best_checkpoint"])

    _step(doc, fork, "python eval.py ckpt_path=CKPT", "trainer.accelerator=cpu", CKPT=ckpt)
    (eval_run,) = (fork / "outputs" / "eval" / "runs").iterdir()
    evaluated = json.loads((eval_run / "metrics.json").read_text())
    assert evaluated["test/acc"] == trained["test/acc"] and evaluated["dataset"] == "MyDigits"
    assert "warning" not in evaluated

    inputs = "inputs=[data/MyDigits/raw/t10k-images-idx3-ubyte]"
    _step(doc, fork, f"python predict.py ckpt_path=CKPT {inputs} output=outputs/predictions.csv",
          CKPT=ckpt)  # fmt: skip
    exported = _step(doc, fork, "python export.py ckpt_path=CKPT", CKPT=ckpt).stdout
    assert "checking on 100 real test images from" in exported and "MyDigits" in exported
    assert float(exported.split("max abs difference to PyTorch: ")[1].split()[0]) <= 1e-4
    onnx = ckpt.with_suffix(".onnx")
    command = f"python predict.py ckpt_path=ONNX {inputs} output=outputs/predictions_onnx.csv"
    _step(doc, fork, command, ONNX=onnx)
    from_ckpt = _predictions(fork / "outputs" / "predictions.csv")
    from_onnx = _predictions(fork / "outputs" / "predictions_onnx.csv")
    assert len(from_ckpt) == 100
    assert [r["prediction"] for r in from_ckpt] == [r["prediction"] for r in from_onnx]
    assert max(abs(float(a["confidence"]) - float(b["confidence"]))
               for a, b in zip(from_ckpt, from_onnx, strict=True)) <= 1e-4  # fmt: skip

    search = "python train.py -m hparams_search=optuna hydra.sweeper.n_trials=2 data=my_digits"
    _step(doc, fork, search, *QUICK)
    (sweep,) = (fork / "outputs" / "train" / "multiruns").iterdir()
    assert [row["status"] for row in summary_rows(sweep)] == ["completed", "completed"]

    # Everything the commands wrote lies under outputs/, and nothing failed.
    written = _files(fork) - before
    assert written and all(path.startswith("outputs/") for path in written), sorted(written)
    assert not [path for path in written if path.endswith("FAILED.txt")]
