"""Crafted checkpoints are refused: code in the pickle never runs, a zip bomb is never unpacked,
and weights that are not the network's are never loaded."""

import os
import zipfile

import pytest
import torch

from mnist_cnn.checkpoint import (
    CONFIG_KEY,
    CheckpointError,
    SafeCheckpointIO,
    build_model,
    read_checkpoint,
)
from mnist_cnn.eval import evaluate
from mnist_cnn.inference import load_classifier
from mnist_cnn.train import train
from tests.fixtures import compose_config, overrides, peak_kib_all, zip_bomb_checkpoint


class _RunsCode:
    """Unpickling this calls os.system: what an attacker would put in a checkpoint."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def crafted(tmp_path, monkeypatch):
    """(path of a crafted mnist-cnn-looking checkpoint, the file its code would create)."""
    # Even with torch's escape hatch set, which makes unflagged torch.load calls unsafe.
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    marker = tmp_path / "code_ran"
    path = tmp_path / "crafted.ckpt"
    checkpoint = {CONFIG_KEY: {"model": {}}, "state_dict": {}, "payload": _RunsCode(marker)}
    torch.save(checkpoint, path)
    return path, marker


def test_the_crafted_file_does_run_code_when_loaded_unsafely(crafted):
    # Proves the refusals below are real: the same file, loaded without weights_only.
    path, marker = crafted
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_refused_by_the_checkpoint_reader_and_load_classifier(crafted):
    path, marker = crafted
    with pytest.raises(ValueError, match="not a loadable checkpoint"):
        read_checkpoint(path)
    with pytest.raises(ValueError, match="not a loadable checkpoint"):
        load_classifier(path)
    with pytest.raises(Exception, match="Weights only load failed"):
        SafeCheckpointIO().load_checkpoint(path)
    cfg = compose_config("eval", [f"ckpt_path={path}"], path.parent / "eval")
    with pytest.raises(ValueError, match="not a loadable checkpoint"):
        evaluate(cfg)
    assert not marker.exists()


def test_refused_as_a_resume_checkpoint(crafted, tiny_data_dir, tmp_path):
    path, marker = crafted
    cfg = compose_config("train", overrides(tiny_data_dir, f"ckpt_path={path}"), tmp_path / "a")
    with pytest.raises(ValueError, match="not a loadable checkpoint"):
        train(cfg)
    # ckpt_path=last is resolved and read by Lightning itself: a crafted last.ckpt in the run
    # folder goes through SafeCheckpointIO.
    run_dir = tmp_path / "b"
    (run_dir / "checkpoints").mkdir(parents=True)
    os.replace(path, run_dir / "checkpoints" / "last.ckpt")
    cfg = compose_config("train", overrides(tiny_data_dir, "ckpt_path=last"), run_dir)
    with pytest.raises(Exception, match="Weights only load failed"):
        train(cfg)
    assert not marker.exists()
    assert not (run_dir / "metrics.json").exists()


@pytest.mark.slow
def test_a_zip_bomb_checkpoint_is_refused_by_every_command_in_bounded_memory(
    checkpoint, tiny_data_dir, tmp_path
):
    bomb = zip_bomb_checkpoint(checkpoint, tmp_path / "bomb.ckpt")
    with zipfile.ZipFile(bomb) as archive:  # what torch.load would unpack: 4 GiB from ~5 MB
        assert sum(entry.file_size for entry in archive.infolist()) >= 4 << 30
    assert bomb.stat().st_size < 8 << 20
    data = [f"data.data_dir={tiny_data_dir}", "data.download=false", "trainer.accelerator=cpu"]
    commands = {
        "eval": ("eval.py", f"ckpt_path={bomb}", *data),
        "predict": ("predict.py", f"ckpt_path={bomb}", f"inputs={tiny_data_dir}"),
        "export": ("export.py", f"ckpt_path={bomb}", f"output={tmp_path / 'm.onnx'}"),
        "resume": ("train.py", f"ckpt_path={bomb}", *data, "logger=none"),
        "init_from": ("train.py", f"init_from={bomb}", *data, "logger=none"),
    }
    runs = [(*command, f"hydra.run.dir={tmp_path / name}") for name, command in commands.items()]
    for name, (peak, output) in zip(commands, peak_kib_all(runs), strict=True):
        key = "init_from" if name == "init_from" else "ckpt_path"
        assert f"{key}={bomb}: entry 'archive/data.pkl' is compressed" in output, (name, output)
        assert "Traceback" not in output, name
        assert peak < 1536 << 10, f"{name} peaked at {peak >> 10} MiB refusing the bomb"


def _tampered(checkpoint, tmp_path, change):
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
    change(ckpt["state_dict"])
    path = tmp_path / "tampered.ckpt"
    torch.save(ckpt, path)
    return path


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            lambda w: w.update(extra=torch.zeros(3)),
            r"not those of the network .* \(extra \['extra'\]\)",
        ),
        (lambda w: w.pop("net.classifier.2.bias"), r"\(missing \['net.classifier.2.bias'\]\)"),
        (
            lambda w: w.update({"net.classifier.2.weight": torch.zeros(10, 1601)}),
            r"weight net.classifier.2.weight is \(10, 1601\), but the network its config "
            r"builds has \(10, 1600\)",
        ),
    ],
    ids=["extra", "missing", "reshaped"],
)
def test_weights_that_are_not_the_networks_are_refused_by_every_reader(
    checkpoint, tiny_data_dir, tmp_path, change, match
):
    path = _tampered(checkpoint, tmp_path, change)
    with pytest.raises(CheckpointError, match=match):
        load_classifier(path)  # predict, and eval and export alike (build_model)
    cfg = compose_config("eval", [f"ckpt_path={path}"], tmp_path / "eval")
    with pytest.raises(CheckpointError, match=match):
        evaluate(cfg)
    with pytest.raises(CheckpointError, match=match):
        SafeCheckpointIO().load_checkpoint(path)  # Lightning's resume and SLURM requeue
    for setting in ("init_from", "ckpt_path"):
        args = overrides(tiny_data_dir, f"{setting}={path}")
        with pytest.raises(CheckpointError, match=f"{setting}={path}: refused: .*{match}"):
            train(compose_config("train", args, tmp_path / setting))


def test_a_real_checkpoint_loads_exactly_as_torch_load_does(checkpoint):
    plain = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    checked = build_model(read_checkpoint(checkpoint), checkpoint).state_dict()
    assert plain.keys() == checked.keys()
    assert all(torch.equal(plain[key], checked[key]) for key in plain)
