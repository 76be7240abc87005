"""Export: ONNX and TorchScript files with a dynamic batch, checked against PyTorch."""

import subprocess
import sys

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


def test_the_onnx_file_names_its_preprocessing_and_runs_with_onnxruntime_alone(
    checkpoint, tiny_data_dir, tmp_path
):
    import onnxruntime
    from PIL import Image

    from mnist_cnn.inference import to_mnist

    output, _ = export(checkpoint, "onnx", tmp_path / "model.onnx", {"data_dir": tiny_data_dir})
    session = onnxruntime.InferenceSession(str(output), providers=["CPUExecutionProvider"])
    metadata = session.get_modelmeta().custom_metadata_map
    assert "crop to the ink, fit into 20x20, centre by mass" in metadata["preprocessing"]
    assert "mnist_cnn.inference.to_mnist" in metadata["preprocessing"]
    # docs/predict-export.md's example: a drawn digit, any size, dark on light.
    drawn = Image.new("L", (240, 320), 255)
    drawn.paste(0, (100, 40, 140, 280))  # a thick vertical stroke: a "1"
    digit = to_mnist(drawn)  # uint8 (1, 28, 28), white on black
    assert digit.shape == (1, 28, 28) and digit[0, 0, 0] == 0 and digit.max() > 200
    (probabilities,) = session.run(None, {"images": (digit[None].numpy() / 255).astype("float32")})
    assert probabilities.shape == (1, 10) and abs(probabilities.sum() - 1) < 1e-5


@pytest.mark.slow
def test_the_preprocessing_imports_without_lightning():
    code = (
        "import sys\nfrom mnist_cnn.inference import to_mnist, load_classifier\n"
        "assert 'lightning' not in sys.modules, 'lightning was imported'\nprint(to_mnist.__doc__)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
