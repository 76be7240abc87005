"""`train.py rerun=<run folder or checkpoint>`: the same config again, refused under changed code
unless allowed, compared metric by metric and weight by weight with the original. The code is a
small git repository of the test's own, so that the result does not depend on this checkout."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
import torch

from mnist_cnn import provenance
from mnist_cnn.provenance import PROVENANCE_KEY, RECORD_FILE
from mnist_cnn.rerun import compare, rerun
from mnist_cnn.train import train
from tests.fixtures import compose_config, git, git_repo, tiny_overrides


@pytest.fixture(scope="module")
def code(tmp_path_factory) -> Path:
    return git_repo(tmp_path_factory.mktemp("code"))


@pytest.fixture(autouse=True)
def _runs_at(code, monkeypatch):
    monkeypatch.setattr(provenance, "ROOT", code)


@pytest.fixture(scope="module")
def original(code, tiny_data_dir, tmp_path_factory) -> Path:
    """A short run of the default recipe (trainer.deterministic=false) on real digits, on CPU."""
    run_dir = tmp_path_factory.mktemp("original")
    overrides = tiny_overrides(tiny_data_dir, "logger=none", f"paths.log_dir={run_dir.parent}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(provenance, "ROOT", code)
        train(compose_config("train", overrides, run_dir))
    return run_dir


def _rerun(source: Path, run_dir: Path, *extra: str) -> dict:
    cfg = compose_config("train", [f"rerun={source}", *extra], run_dir)
    rerun(cfg, train)
    return json.loads((run_dir / "rerun.json").read_text())


def test_a_cpu_rerun_of_the_default_recipe_is_bit_identical_and_says_so(original, tmp_path, capsys):
    result = _rerun(original, tmp_path)
    assert result["weights_identical"] == {"epoch_001.ckpt": True, "last.ckpt": True}
    assert result["metrics"]["test/acc"]["difference"] == 0 and len(result["metrics"]) == 5
    assert result["reproduced"] is True and result["not_comparable_because"] == []
    out = capsys.readouterr().out
    assert f"Rerun of {original}" in out and "test/acc" in out
    assert out.rstrip().endswith("reproduced: every metric equal, weights bit-identical")
    # The rerun's own record: the original's overrides, then its own.
    record = json.loads((tmp_path / RECORD_FILE).read_text())
    then = json.loads((original / RECORD_FILE).read_text())
    assert record["command"]["overrides"] == [*then["command"]["overrides"], f"rerun={original}"]
    assert record["command"]["rerun"] == str(original)


def test_a_checkpoint_is_rerun_as_its_run(original, tmp_path):
    result = _rerun(original / "checkpoints" / "last.ckpt", tmp_path)
    assert result["weights_identical"] == {"last.ckpt": True} and result["reproduced"] is True
    assert result["metrics"]["val/acc"]["original"] == result["metrics"]["val/acc"]["rerun"]


def test_a_rerun_under_changed_code_is_refused_unless_allowed(
    code, original, tmp_path, monkeypatch
):
    changed = shutil.copytree(code, tmp_path / "code")  # a clone, then changed
    (changed / "model.py").write_text("width = 64\n")
    monkeypatch.setattr(provenance, "ROOT", changed)
    with pytest.raises(ValueError, match=r"uncommitted changes now \(diff [0-9a-f]{12}\)"):
        _rerun(original, tmp_path / "dirty")
    git(changed, "commit", "-q", "-am", "wider")
    then, now = (git(repo, "rev-parse", "HEAD").strip() for repo in (code, changed))
    with pytest.raises(ValueError, match=f"commit {then} then, {now} now") as refusal:
        _rerun(original, tmp_path / "committed")
    assert "allow_code_change=true" in str(refusal.value)
    assert not (tmp_path / "committed" / "checkpoints").exists()  # refused before any work

    result = _rerun(original, tmp_path / "allowed", "allow_code_change=true")
    assert result["allow_code_change"] is True
    assert result["not_comparable_because"] == [f"commit {then} then, {now} now"]
    record = json.loads((tmp_path / "allowed" / RECORD_FILE).read_text())
    assert record["command"]["allow_code_change"] is True and record["code"]["commit"] == now


def test_where_bits_cannot_agree_the_comparison_says_why_instead_of_failing(original):
    then = json.loads((original / RECORD_FILE).read_text())
    metrics, weights = {"test/acc": 0.75}, {"last.ckpt": False}
    same = compare(then, then, metrics, {"test/acc": 0.5}, weights, deterministic=False)
    assert same["verdict"].startswith("NOT reproduced, although") and not same["reproduced"]
    assert same["metrics"]["test/acc"] == {"original": 0.75, "rerun": 0.5, "difference": -0.25}

    gpu = copy.deepcopy(then)
    gpu["environment"] |= {"torch": "2.13.0+cu126", "device": "cuda:0", "devices": ["H200"]}
    other = compare(then, gpu, metrics, {"test/acc": 0.5}, weights, deterministic=False)
    assert other["verdict"].startswith("not comparable bit for bit: torch ")
    reasons = other["not_comparable_because"]
    assert f"torch {then['environment']['torch']} then, 2.13.0+cu126 now" in reasons
    assert "device cpu then, cuda:0 now" in reasons
    assert "GPU kernels chosen freely (trainer.deterministic=false)" in reasons


def test_only_what_records_its_provenance_can_be_rerun(original, tmp_path):
    folder = shutil.copytree(original, tmp_path / "older", ignore=shutil.ignore_patterns("*.json"))
    with pytest.raises(FileNotFoundError, match=r"rerun=.*older: no provenance\.json there"):
        _rerun(folder, tmp_path / "a")
    data = torch.load(original / "checkpoints" / "last.ckpt", weights_only=True)
    del data[PROVENANCE_KEY]  # as in checkpoints from before it, and imports
    torch.save(data, tmp_path / "imported.ckpt")
    with pytest.raises(ValueError, match="the checkpoint holds no provenance record"):
        _rerun(tmp_path / "imported.ckpt", tmp_path / "b")
