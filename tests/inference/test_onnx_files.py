"""An ONNX file is untrusted input: tensors stored outside its folder are refused unread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mnist_cnn.inference import load_classifier

onnx = pytest.importorskip("onnx", reason="the export extra: pip install -e '.[export]'")


def _model_reading(location: str, path: Path) -> Path:
    """A one-node ONNX model whose weight tensor lives in the external file `location`."""
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((1, 10), dtype=np.float32), "weight")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value=location)
    graph = helper.make_graph(
        [helper.make_node("Add", ["images", "weight"], ["probabilities"])],
        "g",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 10])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, 10])],
        [weight],
    )
    onnx.save(helper.make_model(graph), str(path))
    return path


@pytest.mark.parametrize("location", ["../secret.bin", "/etc/passwd", "sub/../../secret.bin"])
def test_external_data_outside_the_folder_is_refused(tmp_path, location):
    (tmp_path / "secret.bin").write_bytes(bytes(40))
    folder = tmp_path / "models"
    folder.mkdir()
    path = _model_reading(location, folder / "model.onnx")
    with pytest.raises(ValueError, match=r"refused: tensor 'weight' reads its data from"):
        load_classifier(path)


def test_external_data_inside_the_folder_is_read(tmp_path):
    (tmp_path / "weight.bin").write_bytes(np.ones(10, dtype=np.float32).tobytes())
    path = _model_reading("weight.bin", tmp_path / "model.onnx")
    assert load_classifier(path).class_names == [str(d) for d in range(10)]
