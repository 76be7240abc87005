"""A checkpoint's stored config is data, never a program: crafted configs are refused by every
reader, with the key path, and nothing they name is ever called."""

from __future__ import annotations

import copy
import os
import re
import runpy
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from mnist_cnn.checkpoint import CONFIG_KEY, CheckpointError
from mnist_cnn.cli import CONFIG_DIR
from mnist_cnn.eval import evaluate
from mnist_cnn.export import export
from mnist_cnn.inference import load_classifier
from mnist_cnn.stored_config import stored_config, validate
from mnist_cnn.train import train
from tests.fixtures import REPO, compose_config, run_cli


class _Touch:
    """Unpickling this creates a file: the payload a config could smuggle in via torch.load."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def legit(tmp_path_factory) -> tuple[dict, dict]:
    """(stored config, state_dict) of an untrained model, as train.py writes them."""
    cfg = compose_config("train", [], tmp_path_factory.mktemp("legit"))
    return stored_config(OmegaConf.to_container(cfg, resolve=True)), instantiate(
        cfg.model
    ).state_dict()


@pytest.fixture
def traps(tmp_path) -> dict[str, Path]:
    """A sentinel file that must stay unchanged, and paths that must never appear."""
    sentinel = tmp_path / "sentinel.txt"
    sentinel.write_text("untouched")
    pickle_file = tmp_path / "payload.pkl"
    torch.save(_Touch(tmp_path / "pickle_ran"), pickle_file)
    return {
        "sentinel": sentinel,
        "pickle": pickle_file,
        "new": tmp_path / "created",
        "ran": tmp_path / "pickle_ran",
    }


def _writers(t: dict[str, Path]) -> dict[str, dict]:
    """Calls that create or overwrite files, each as a config node."""
    return {
        "torch.load": {"_target_": "torch.load", "f": str(t["pickle"]), "weights_only": False},
        "open": {"_target_": "builtins.open", "file": str(t["sentinel"]), "mode": "w"},
        "copyfile": {"_target_": "shutil.copyfile", "src": str(t["pickle"]),
                     "dst": str(t["sentinel"])},
        "write_text": {"_target_": "pathlib.Path.write_text", "self": str(t["sentinel"]),
                       "data": "x"},
        "numpy.save": {"_target_": "numpy.save", "file": str(t["new"]), "arr": [1]},
        "torch.save": {"_target_": "torch.save", "obj": [1], "f": str(t["new"])},
        "makedirs": {"_target_": "os.makedirs", "name": str(t["new"])},
    }  # fmt: skip


def _cases(t: dict[str, Path]) -> dict[str, tuple[Callable[[dict], object], str]]:
    """name → (how to craft the config from a legit one, the key path the error must name)."""
    cases: dict[str, tuple[Callable[[dict], object], str]] = {}

    def put(keys: tuple[str, ...], node: dict) -> Callable[[dict], object]:
        def craft(config: dict) -> dict:
            parent = config
            for key in keys[:-1]:
                parent = parent[key]
            parent[keys[-1]] = node
            return config

        return craft

    for name, node in _writers(t).items():
        cases[f"model={name}"] = (put(("model",), node), "model._target_")
    for slot in ("net", "optimizer", "scheduler"):
        node = _writers(t)["open"]
        cases[f"{slot}=open"] = (put(("model", slot), node), f"model.{slot}._target_")
    cases["data=makedirs"] = (put(("data",), _writers(t)["makedirs"]), "data._target_")
    cases["data.class_names=open"] = (
        put(("data", "class_names"), _writers(t)["open"]),
        "data.class_names._target_",
    )
    cases["args smuggling"] = (
        put(("model", "net", "_args_"), [str(t["sentinel"]), "w"]),
        "model.net._args_",
    )
    cases["recursive"] = (put(("model", "_recursive_"), True), "model._recursive_")
    cases["partial on net"] = (put(("model", "net", "_partial_"), True), "model.net._partial_")
    cases["non-dict config"] = (lambda config: ["model", "data"], "<config>")
    cases["lookalike module"] = (
        put(("model", "net", "_target_"), "mnist_cnn_x.models.MnistCNN"),
        "model.net._target_",
    )
    cases["unregistered class"] = (
        put(("model", "net", "_target_"), "torch.nn.Linear"),
        "model.net._target_",
    )
    cases["interpolation"] = (
        put(("data", "data_dir"), "${oc.env:HOME}"),
        "data.data_dir",
    )
    cases["target in trainer"] = (
        put(("trainer",), _writers(t)["makedirs"]),
        "trainer._target_",
    )
    return cases


CASES = list(_cases({k: Path(k) for k in ("sentinel", "pickle", "new", "ran")}))


def _crafted(name: str, legit: tuple[dict, dict], traps: dict[str, Path]) -> tuple[Path, str]:
    craft, key_path = _cases(traps)[name]
    config, state_dict = legit
    path = traps["sentinel"].parent / "crafted.ckpt"
    torch.save({CONFIG_KEY: craft(copy.deepcopy(config)), "state_dict": state_dict}, path)
    return path, key_path


def _untouched(traps: dict[str, Path]) -> None:
    assert traps["sentinel"].read_text() == "untouched"
    assert not traps["new"].exists() and not traps["ran"].exists()


def _loaders(path: Path, tmp_path: Path, data_dir: Path) -> dict[str, Callable[[], object]]:
    return {
        "eval": lambda: evaluate(compose_config("eval", [f"ckpt_path={path}"], tmp_path / "e")),
        "load_classifier": lambda: load_classifier(path),
        "export": lambda: export(path, "onnx", tmp_path / "model.onnx"),
        "train resume": lambda: train(
            compose_config(
                "train",
                [f"ckpt_path={path}", f"data.data_dir={data_dir}", "trainer.accelerator=cpu"],
                tmp_path / "t",
            )
        ),
    }


@pytest.mark.parametrize("case", CASES)
def test_crafted_config_is_refused_by_every_reader(case, legit, traps, tiny_data_dir, tmp_path):
    path, key_path = _crafted(case, legit, traps)
    for loader, load in _loaders(path, tmp_path, tiny_data_dir).items():
        with pytest.raises(CheckpointError, match=f"refused: {re.escape(key_path)} = ") as refused:
            load()
        assert str(path) in str(refused.value), loader
        _untouched(traps)
    assert not (tmp_path / "model.onnx").exists()
    assert not (tmp_path / "t" / "checkpoints").exists()


def test_the_traps_are_real(traps):
    # Proves the refusals mean something: these nodes, instantiated, do run.
    instantiate(_writers(traps)["torch.load"])
    assert traps["ran"].exists()
    instantiate(_writers(traps)["open"]).close()
    assert traps["sentinel"].read_text() == ""


def test_unregistered_network_says_how_to_register_it(legit, traps):
    config = _cases(traps)["unregistered class"][0](copy.deepcopy(legit[0]))
    with pytest.raises(ValueError, match=r"Add its class to models/registry\.py"):
        validate(config)


def test_a_legit_config_passes_and_builds_no_optimizer(legit, tmp_path, monkeypatch):
    path = tmp_path / "legit.ckpt"
    torch.save({CONFIG_KEY: legit[0], "state_dict": legit[1]}, path)
    monkeypatch.setattr(torch.optim.Adam, "__init__", None)  # would fail if built
    probabilities = load_classifier(path).probabilities(torch.zeros(2, 1, 28, 28))
    assert probabilities.shape == (2, 10)


def test_previous_release_checkpoint_is_refused_with_the_conversion_command(legit, tmp_path):
    cfg = compose_config("train", [], tmp_path / "old")
    old = tmp_path / "old.ckpt"  # 0.1 stored the whole run config, trainer and callbacks too
    torch.save({CONFIG_KEY: OmegaConf.to_container(cfg, resolve=True), "state_dict": legit[1]}, old)
    with pytest.raises(CheckpointError, match=r"python scripts/upgrade_checkpoint\.py"):
        load_classifier(old)
    script = runpy.run_path(str(REPO / "scripts" / "upgrade_checkpoint.py"))  # as a module
    script["upgrade"](old, tmp_path / "new.ckpt")
    assert load_classifier(tmp_path / "new.ckpt").class_names == [str(d) for d in range(10)]


@pytest.mark.slow
@pytest.mark.parametrize(
    "script, extra",
    [
        ("eval.py", []),
        ("predict.py", ["inputs=[{sentinel}]"]),
        ("export.py", []),
    ],
)
def test_the_commands_exit_non_zero_naming_the_key(script, extra, legit, traps):
    path, key_path = _crafted("model=open", legit, traps)
    sentinel = traps["sentinel"]
    args = [f"ckpt_path={path}", *(e.format(sentinel=sentinel) for e in extra)]
    result = run_cli(script, *args, f"hydra.run.dir={sentinel.parent / 'run'}", timeout=120)
    assert result.returncode != 0
    assert f"refused: {key_path} = 'builtins.open'" in result.stderr
    _untouched(traps)


@pytest.mark.parametrize(
    "experiment", sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))
)
def test_every_experiment_checkpoint_loads_predicts_and_exports(experiment, tmp_path):
    cfg = compose_config("train", [f"experiment={experiment}"], tmp_path / "run")
    model = instantiate(cfg.model).eval()
    path = tmp_path / f"{experiment}.ckpt"
    config = stored_config(OmegaConf.to_container(cfg, resolve=True))
    torch.save({CONFIG_KEY: config, "state_dict": model.state_dict()}, path)
    images = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected = model(images).softmax(dim=1)
    assert torch.equal(load_classifier(path).probabilities(images), expected)
    output, difference = export(path, "onnx", tmp_path / "model.onnx", check_images=4)
    assert output.is_file() and difference < 1e-5
