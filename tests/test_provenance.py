"""Provenance: every run folder and checkpoint records its code, command, environment and data
files; the record is validated as data on load; eval and predict say where a checkpoint came
from, and eval notices a changed test file."""

from __future__ import annotations

import json
import os
import re
import runpy
import shutil
from hashlib import sha256
from pathlib import Path

import pytest
import torch

from mnist_cnn import provenance
from mnist_cnn.atomic import write_json
from mnist_cnn.checkpoint import CONFIG_KEY, CheckpointError, read_checkpoint
from mnist_cnn.eval import evaluate
from mnist_cnn.models.module import MnistLitModule
from mnist_cnn.predict import run as predict
from mnist_cnn.provenance import (
    PATCH_FILE,
    PROVENANCE_KEY,
    RECORD_FILE,
    code_state,
    fingerprints,
    make_record,
    origin,
    template,
    validate_record,
    write_record,
)
from mnist_cnn.train import train
from tests.fixtures import REPO, compose_config, git, git_repo, read_metrics, tiny_overrides

ORIGIN = r"checkpoint: trained \d{4}-\d\d-\d\d \d\d:\d\d at \S+.*, MNIST train [0-9a-f]{12}, test "


def _hashes(raw_dir: Path, prefix: str) -> dict[str, str]:
    return {p.name: sha256(p.read_bytes()).hexdigest() for p in sorted(raw_dir.glob(prefix))}


def _record(run_dir: Path) -> dict:
    return validate_record(json.loads((run_dir / RECORD_FILE).read_text()), str(run_dir))


def test_a_run_folder_and_every_checkpoint_hold_one_record_that_survives_loading(
    trained_run, tiny_data_dir
):
    run_dir, _ = trained_run
    record = _record(run_dir)
    checkpoints = sorted((run_dir / "checkpoints").glob("*.ckpt"))
    assert len(checkpoints) == 2  # best and last
    for path in checkpoints:
        assert read_checkpoint(path)[PROVENANCE_KEY] == record  # validated as it is read
    raw = tiny_data_dir / "MNIST" / "raw"
    data = record["data"]
    assert data["train"] == _hashes(raw, "train-*") and data["test"] == _hashes(raw, "t10k-*")
    assert data["validation"] == {
        "of": "train", "val_fraction": 0.1, "split_seed": 42, "num_folds": None, "fold": 0
    }  # fmt: skip
    environment = record["environment"]
    assert environment["torch"] == torch.__version__ and environment["device"] == "cpu"
    assert environment["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert environment["threads"] == torch.get_num_threads()
    assert f"data.data_dir={tiny_data_dir}" in record["command"]["overrides"]
    assert record["command"]["rerun"] is None and record["command"]["allow_code_change"] is False


def test_a_run_that_crashes_in_its_first_step_has_its_record(tiny_data_dir, tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("crashed in the first step")

    monkeypatch.setattr(MnistLitModule, "training_step", crash)
    cfg = compose_config("train", tiny_overrides(tiny_data_dir, "logger=none"), tmp_path)
    with pytest.raises(RuntimeError, match="first step"):
        train(cfg)
    assert _record(tmp_path)["data"]["train"] == _hashes(tiny_data_dir / "MNIST" / "raw", "train-*")


@pytest.mark.parametrize(
    "tamper, refusal",
    [
        (lambda r: r["code"].update(dirty="yes"), "provenance.code.dirty is a str"),
        (lambda r: r["environment"].update(torch=torch.zeros(1)), "environment.torch is a Tensor"),
        (lambda r: r["data"]["test"].update({1: "a"}), "provenance.data.test has keys that are"),
        (lambda r: r.update(extra="x"), "provenance must hold ['code', 'command'"),
        (lambda r: r.update(code=["a list"]), "provenance.code must hold"),
        (lambda r: r["command"].pop("argv"), "provenance.command must hold"),
    ],
)
def test_a_record_that_is_not_ours_is_refused_naming_the_key(checkpoint, tmp_path, tamper, refusal):
    data = torch.load(checkpoint, map_location="cpu", weights_only=True)
    tamper(data[PROVENANCE_KEY])
    torch.save(data, tmp_path / "tampered.ckpt")
    with pytest.raises(CheckpointError, match=re.escape(refusal)):
        read_checkpoint(tmp_path / "tampered.ckpt")


def test_upgrade_checkpoint_keeps_the_record(checkpoint, tmp_path):
    data = torch.load(checkpoint, map_location="cpu", weights_only=True)
    # As mnist-cnn 0.1 stored it: the whole run config, trainer included.
    data[CONFIG_KEY] = {**data[CONFIG_KEY], "trainer": {"max_epochs": 2}}
    torch.save(data, tmp_path / "old.ckpt")
    upgrade = runpy.run_path(str(REPO / "scripts" / "upgrade_checkpoint.py"))["upgrade"]
    new = upgrade(tmp_path / "old.ckpt", tmp_path / "new.ckpt")
    assert read_checkpoint(new)[PROVENANCE_KEY] == data[PROVENANCE_KEY]


def test_a_clean_tree_saves_no_patch_and_a_dirty_one_its_diff(tmp_path, monkeypatch):
    repo = git_repo(tmp_path / "code")
    monkeypatch.setattr(provenance, "ROOT", repo)
    record, diff = make_record(None, (), "cpu", None)
    write_record(tmp_path / "clean", record, diff)
    code = record["code"]
    assert code["commit"] == git(repo, "rev-parse", "HEAD").strip() and code["branch"] == "main"
    assert code["dirty"] is False and code["patch"] is None and code["diff_sha256"] is None
    assert not (tmp_path / "clean" / PATCH_FILE).exists()

    (repo / "model.py").write_text("width = 64\n")
    (repo / "notes.txt").write_text("untracked\n")
    record, diff = make_record(None, (), "cpu", None)
    write_record(tmp_path / "dirty", record, diff)
    code, patch = record["code"], (tmp_path / "dirty" / PATCH_FILE).read_bytes()
    assert patch == git(repo, "diff", "HEAD", "--binary").encode() and b"+width = 64" in patch
    assert code["dirty"] is True and code["diff_sha256"] == sha256(patch).hexdigest()
    assert code["untracked"] == ["notes.txt"] and code["diff_bytes"] == len(patch)

    monkeypatch.setattr(provenance, "MAX_PATCH_BYTES", len(patch) - 1)
    record, diff = make_record(None, (), "cpu", None)
    write_record(tmp_path / "large", record, diff)
    assert record["code"]["patch"] is None and not (tmp_path / "large" / PATCH_FILE).exists()
    assert record["code"]["diff_sha256"] == sha256(patch).hexdigest()  # recorded all the same


def test_no_repository_no_git_and_an_installed_package_are_answers(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("")
    assert "not a git repository" in code_state(tmp_path)[0]["note"]
    assert code_state(tmp_path / "site-packages")[0]["note"].startswith("not a source checkout")
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    code, diff = code_state(tmp_path)
    assert code["commit"] is None and "git" in code["note"] and diff == b""


def test_a_forks_template_is_read_as_data(tmp_path):
    answers = tmp_path / ".copier-answers.yml"
    assert template(tmp_path) is None  # not a fork
    answers.write_text(f"_commit: v0.3.0\n_src_path: {Path.home()}/templates/mnist-cnn\nx: 1\n")
    assert template(tmp_path) == {"commit": "v0.3.0", "src_path": "~/templates/mnist-cnn"}
    for text in ("!!python/object/apply:os.system ['touch ran']", "- a list\n", "[unclosed"):
        answers.write_text(text)
        assert template(tmp_path) is None
    assert not (tmp_path / "ran").exists()


def test_fingerprints_are_cached_by_path_size_and_mtime(tmp_path):
    data, cache = tmp_path / "t10k-labels-idx1-ubyte", tmp_path / "cache.json"
    data.write_bytes(b"digits")
    real = sha256(b"digits").hexdigest()
    assert fingerprints([data], cache) == {data.name: real}
    (key,) = json.loads(cache.read_text())
    write_json(cache, {key: "0" * 64})  # a planted entry is taken: the file is not read again
    assert fingerprints([data], cache) == {data.name: "0" * 64}
    os.utime(data, ns=(1, 1))  # another mtime: hashed again
    assert fingerprints([data], cache) == {data.name: real}
    for damaged in ("[not json", json.dumps({key: "../../etc/passwd"}), "[1, 2]"):
        cache.write_text(damaged)  # refused as a cache: hashed again
        os.utime(data, ns=(1, 1))
        assert fingerprints([data], cache) == {data.name: real}


def test_eval_prints_the_origin_and_notices_a_changed_test_file(
    checkpoint, tiny_data_dir, tmp_path, capsys
):
    same = tmp_path / "same"
    evaluate(compose_config("eval", [f"ckpt_path={checkpoint}", f"paths.log_dir={tmp_path}"], same))
    assert re.search(ORIGIN, capsys.readouterr().out)
    assert read_metrics(same)["test_data_changed"] is False

    copy = shutil.copytree(tiny_data_dir, tmp_path / "data")
    labels = copy / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    changed = bytearray(labels.read_bytes())
    changed[-1] = (changed[-1] + 1) % 10  # one test label differs
    labels.write_bytes(changed)
    overrides = [f"ckpt_path={checkpoint}", f"data.data_dir={copy}", f"paths.log_dir={tmp_path}"]
    evaluate(compose_config("eval", overrides, tmp_path / "changed"))
    assert (
        "the test files differ from those the checkpoint was tested on" in capsys.readouterr().out
    )
    metrics = read_metrics(tmp_path / "changed")
    assert metrics["test_data_changed"] is True  # not an error: recorded beside the results
    assert (
        metrics["test_data"] != metrics["checkpoint_test_data"] == read_metrics(same)["test_data"]
    )
    mine = _record(tmp_path / "changed")["data"]  # eval's own record: the files it read
    assert mine["test"][labels.name] == sha256(changed).hexdigest() and mine["train"] == {}


def test_predict_prints_the_origin_or_says_there_is_none(
    checkpoint, tiny_data_dir, tmp_path, capsys
):
    inputs = tiny_data_dir / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    predict(compose_config("predict", [f"ckpt_path={checkpoint}", f"inputs={inputs}"], tmp_path))
    assert re.search(ORIGIN, capsys.readouterr().err)  # stdout is the table
    data = torch.load(checkpoint, map_location="cpu", weights_only=True)
    del data[PROVENANCE_KEY]  # as checkpoints written before it, and imports, are
    torch.save(data, tmp_path / "older.ckpt")
    cfg = compose_config(
        "predict", [f"ckpt_path={tmp_path / 'older.ckpt'}", f"inputs={inputs}"], tmp_path
    )
    predict(cfg)
    assert "checkpoint: no provenance record" in capsys.readouterr().err
    assert origin(None).startswith("checkpoint: no provenance record (from before mnist-cnn")
