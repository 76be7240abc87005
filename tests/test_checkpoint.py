"""A crafted checkpoint whose unpickling would run code is refused, and its code never runs."""

import os

import pytest
import torch

from mnist_cnn.checkpoint import CONFIG_KEY, SafeCheckpointIO, read_checkpoint
from mnist_cnn.eval import evaluate
from mnist_cnn.inference import load_classifier
from mnist_cnn.train import train
from tests.fixtures import compose_config, overrides


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
