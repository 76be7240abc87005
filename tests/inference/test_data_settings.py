"""eval, predict and export take the data settings from the checkpoint, one way."""

import shutil

import pytest
from omegaconf import OmegaConf

from mnist_cnn.cli import CONFIG_DIR
from mnist_cnn.data.datamodule import DataNotFoundError
from mnist_cnn.eval import evaluate
from mnist_cnn.export import export
from mnist_cnn.inference import load_classifier
from mnist_cnn.inference.data_settings import ARGUMENTS, merge_data, stored_data
from mnist_cnn.stored_config import stored_config
from mnist_cnn.train import train
from tests.fixtures import compose_config, read_metrics, synthetic_digits, write_dataset

NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@pytest.fixture(scope="module")
def my_digits_run(tmp_path_factory):
    """One tiny epoch on a dataset torchvision does not know, with class names of its own."""
    root = tmp_path_factory.mktemp("my_digits")
    data_dir = write_dataset(
        root / "data", synthetic_digits(200), synthetic_digits(64, seed=1), dataset="MyDigits"
    )
    # The same folder also holds an MNIST: eval must not pick it by default.
    write_dataset(data_dir, synthetic_digits(200, seed=2), synthetic_digits(64, seed=3))
    overrides = [
        f"data.data_dir={data_dir}", "data.dataset=MyDigits", "data.download=false",
        f"data.class_names=[{','.join(NAMES)}]", "data.batch_size=32", "trainer.max_epochs=1",
        "trainer.accelerator=cpu", "logger=none", "callbacks=model_checkpoint",
    ]  # fmt: skip
    summary = train(compose_config("train", overrides, root / "run"))
    return data_dir, summary["best_checkpoint"], summary


def _eval(checkpoint, run_dir, *overrides):
    cfg = compose_config(
        "eval",
        [f"ckpt_path={checkpoint}", "trainer.accelerator=cpu", "callbacks=none", *overrides],
        run_dir,
    )
    return evaluate(cfg)


def test_eval_uses_the_checkpoints_dataset_and_reproduces_test_acc(my_digits_run, tmp_path):
    data_dir, checkpoint, trained = my_digits_run
    summary = _eval(checkpoint, tmp_path)
    assert summary["dataset"] == "MyDigits" and summary["data_dir"] == str(data_dir.resolve())
    assert summary["test/acc"] == trained["test/acc"] and "warning" not in summary
    assert read_metrics(tmp_path)["dataset"] == "MyDigits"


def test_another_test_set_is_refused_naming_both(my_digits_run, tmp_path):
    _, checkpoint, _ = my_digits_run
    with pytest.raises(ValueError, match=r"data\.dataset=MNIST: .* trained on dataset=MyDigits"):
        _eval(checkpoint, tmp_path, "data.dataset=MNIST")
    with pytest.raises(ValueError, match="allow_other_data=true"):
        _eval(checkpoint, tmp_path, "data=mnist")  # a whole data option, as in training
    assert not (tmp_path / "metrics.json").exists()


def test_another_test_set_when_allowed_is_flagged_in_metrics(my_digits_run, tmp_path, capsys):
    _, checkpoint, _ = my_digits_run
    _eval(checkpoint, tmp_path, "data.dataset=MNIST", "allow_other_data=true")
    metrics = read_metrics(tmp_path)
    assert metrics["dataset"] == "MNIST"
    assert "NOT THE CHECKPOINT'S TEST SET: data.dataset=MNIST" in metrics["warning"]
    assert "dataset=MyDigits" in metrics["warning"] and "!" * 80 in capsys.readouterr().out


def test_a_moved_data_folder_names_the_override(my_digits_run, tmp_path):
    data_dir, checkpoint, trained = my_digits_run
    moved = tmp_path / "moved"
    shutil.copytree(data_dir, moved)
    shutil.move(data_dir, tmp_path / "away")  # the checkpoint's folder is gone from "this machine"
    try:
        with pytest.raises(DataNotFoundError, match=r"give data\.data_dir=/path/to/folder"):
            _eval(checkpoint, tmp_path / "eval")
        summary = _eval(checkpoint, tmp_path / "eval2", f"data.data_dir={moved}")
        assert summary["test/acc"] == trained["test/acc"]
    finally:
        shutil.move(tmp_path / "away", data_dir)


def test_predict_and_export_take_the_same_settings(my_digits_run, tmp_path, capsys):
    _, checkpoint, _ = my_digits_run
    assert load_classifier(checkpoint).class_names == NAMES
    with pytest.raises(ValueError, match=r"data\.class_names=\[.a.*trained on class_names="):
        load_classifier(checkpoint, {"class_names": list("abcdefghij")})
    renamed = load_classifier(checkpoint, {"class_names": list("abcdefghij")}, True)
    assert renamed.class_names == list("abcdefghij")
    output, _ = export(checkpoint, "onnx", tmp_path / "model.onnx", check_images=32)
    assert "checking on 32 real test images from" in capsys.readouterr().out  # MyDigits' own
    assert load_classifier(output).class_names == NAMES
    with pytest.raises(ValueError, match=r"data\.dataset=MNIST"):
        export(checkpoint, "onnx", tmp_path / "other.onnx", {"dataset": "MNIST"})


def test_stored_data_is_checked_against_the_datamodule(tmp_path):
    config = stored_config(
        OmegaConf.to_container(compose_config("train", [], tmp_path), resolve=True)
    )
    settings = stored_data({"mnist_cnn_config": config}, "x.ckpt")
    assert settings["dataset"] == "MNIST" and "_target_" not in settings
    good = config["data"]
    for bad, match in [
        ({**good, "_target_": "os.system"}, r"refused: data\._target_ = 'os\.system'"),
        (
            {**good, "shell": "rm"},
            r"refused: data\.shell = 'rm': not an argument of MnistDataModule",
        ),
        ({**good, "dataset": {"_target_": "os.system"}}, r"refused: data\.dataset\._target_"),
    ]:
        with pytest.raises(ValueError, match=match):
            stored_data({"mnist_cnn_config": {**config, "data": bad}}, "x.ckpt")


def test_overrides_on_top_and_unknown_keys_refused():
    stored = {"dataset": "MNIST", "data_dir": "data", "num_classes": 10}
    settings, warning = merge_data(stored, {"data_dir": "/elsewhere", "batch_size": None})
    assert settings == {**stored, "data_dir": "/elsewhere"} and warning is None
    with pytest.raises(ValueError, match=r"data\.datadir: not a data setting"):
        merge_data(stored, {"datadir": "/x"})


def test_the_from_checkpoint_config_lists_every_datamodule_argument():
    config = OmegaConf.load(CONFIG_DIR / "data" / "from_checkpoint.yaml")
    assert tuple(config) == ARGUMENTS and all(value is None for value in config.values())
