"""Export: ONNX and TorchScript files with a dynamic batch, checked against PyTorch."""

import pytest
import torch

from mnist_cnn.export import export
from mnist_cnn.inference import load_classifier
from tests.fixtures import run_cli


@pytest.mark.parametrize("format", ["onnx", "torchscript"])
def test_export_round_trips_within_1e_4(format, checkpoint, tiny_data_dir, tmp_path):
    output, difference = export(
        checkpoint, format, tmp_path / "model", {"data_dir": tiny_data_dir}, 64
    )
    assert output.is_file() and difference <= 1e-4


def test_predict_runs_the_onnx_file_like_the_checkpoint(checkpoint, tiny_data_dir, tmp_path):
    output, _ = export(checkpoint, "onnx", tmp_path / "model.onnx", {"data_dir": tiny_data_dir})
    onnx_model, torch_model = load_classifier(output), load_classifier(checkpoint)
    images = torch.rand(5, 1, 28, 28)  # batch of 5 although exported with 2: dynamic
    assert onnx_model.class_names == torch_model.class_names
    assert [r.index for r in onnx_model(images)] == [r.index for r in torch_model(images)]


@pytest.mark.slow
def test_export_command_prints_the_difference(checkpoint, tiny_data_dir, tmp_path):
    result = run_cli(
        "export.py", f"ckpt_path={checkpoint}", f"output={tmp_path / 'm.onnx'}",
        f"data.data_dir={tiny_data_dir}", f"hydra.run.dir={tmp_path / 'run'}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "checking on 256 real test images" in result.stdout
    difference = float(result.stdout.split("max abs difference to PyTorch: ")[1].split()[0])
    assert difference <= 1e-4 and (tmp_path / "m.onnx").is_file()
