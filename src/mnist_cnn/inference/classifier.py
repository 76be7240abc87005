"""A trained model (checkpoint or ONNX file) as a function from images to predictions.

classify = load_classifier("outputs/train/runs/<run>/checkpoints/last.ckpt")
classify(["a.png", pil_image, numpy_array, tensor])  # → one Prediction per image
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from mnist_cnn.data.idx import resolve_class_names, to_unit_float
from mnist_cnn.inference.images import MAX_PIXELS, ImageError, as_pil, open_image, to_mnist

ImageLike = str | Path | Image.Image | np.ndarray | torch.Tensor
# float images (B, 1, H, W) in [0, 1] → class probabilities (B, num_classes)
Probabilities = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class Prediction:
    """One input's result; `error` says why an unreadable input has no prediction."""

    file: str
    prediction: str | None = None
    index: int | None = None
    confidence: float | None = None
    top3: list[tuple[str, float]] = field(default_factory=list)
    error: str | None = None


class Classifier:
    """Turns inputs into MNIST-style digits, predicts them in batches, names the classes."""

    def __init__(
        self,
        probabilities: Probabilities,
        class_names: list[str],
        input_size: tuple[int, int] = (28, 28),
        batch_size: int = 256,
        invert: bool | None = None,
        max_pixels: int = MAX_PIXELS,
        origin: str = "",
    ) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size={batch_size}: must be a positive integer, e.g. 256.")
        self.probabilities, self.class_names = probabilities, class_names
        self.input_size, self.batch_size = tuple(input_size), batch_size
        self.invert, self.max_pixels = invert, max_pixels
        self.origin = origin  # what made the model (mnist_cnn.provenance.origin), if known

    def __call__(self, inputs: ImageLike | Iterable[ImageLike]) -> list[Prediction]:
        """Predictions for a path, image, array or tensor, or a list of them, in input order.

        A tensor or array with a batch dimension (N, 1, H, W) counts as N images.
        """
        if isinstance(inputs, (str, Path, Image.Image)) or (
            isinstance(inputs, (np.ndarray, torch.Tensor)) and inputs.ndim < 4
        ):
            inputs = [inputs]
        names, digits = [], []
        for number, item in enumerate(inputs):
            if isinstance(item, (np.ndarray, torch.Tensor)) and item.ndim == 4:
                names += [f"<input {number}>[{i}]" for i in range(len(item))]
                digits += [self.prepare(image) for image in item]
            else:
                names.append(str(item) if isinstance(item, (str, Path)) else f"<input {number}>")
                digits.append(self.prepare(item))
        return self.predict_digits(names, digits)

    def predict_digits(
        self, names: list[str], digits: list[torch.Tensor | ImageError]
    ) -> list[Prediction]:
        """Predictions for prepared uint8 digits (1, H, W); an ImageError stands for a refusal."""
        results = [
            Prediction(name, error=str(digit) if isinstance(digit, ImageError) else None)
            for name, digit in zip(names, digits, strict=True)
        ]
        good = [i for i, digit in enumerate(digits) if isinstance(digit, torch.Tensor)]
        for start in range(0, len(good), self.batch_size):
            chunk = good[start : start + self.batch_size]
            batch = to_unit_float(torch.stack([digits[i] for i in chunk]))  # (B, 1, H, W)
            with torch.inference_mode():
                probabilities = self.probabilities(batch)
            top = probabilities.topk(min(3, probabilities.shape[1]), dim=1)
            for i, values, indices in zip(
                chunk, top.values.tolist(), top.indices.tolist(), strict=True
            ):
                ranked = [
                    (self.class_names[k], round(v, 6)) for k, v in zip(indices, values, strict=True)
                ]
                results[i] = Prediction(names[i], ranked[0][0], indices[0], ranked[0][1], ranked)
        return results

    def prepare(self, item: ImageLike) -> torch.Tensor | ImageError:
        """The MNIST-style uint8 digit (1, H, W) of one input, or the reason it was refused."""
        try:
            image = (
                open_image(item, self.max_pixels) if isinstance(item, (str, Path)) else as_pil(item)
            )
            return to_mnist(image, self.input_size, self.invert)
        except ImageError as err:
            return err


def load_classifier(
    path: str | Path,
    data: Mapping[str, Any] | None = None,
    allow_other_data: bool = False,
    **options: Any,
) -> Classifier:
    """A Classifier from a train.py checkpoint (.ckpt) or a export.py ONNX file (.onnx);
    `data` overrides the stored data settings as in eval.py (class names are what predict uses)."""
    path = Path(path)
    if path.suffix == ".onnx":
        return onnx_classifier(path, data, allow_other_data, **options)
    # Imported here: preparing images, and ONNX files, need no Lightning.
    from mnist_cnn.checkpoint import build_model, read_checkpoint
    from mnist_cnn.inference.data_settings import checkpoint_data
    from mnist_cnn.provenance import PROVENANCE_KEY, origin

    checkpoint = read_checkpoint(path)
    model = build_model(checkpoint, path)
    settings, _ = checkpoint_data(checkpoint, path, data, allow_other_data)
    return Classifier(
        lambda images: model.predict_step(images, 0),
        resolve_class_names(settings.get("class_names"), model.net.num_classes),
        model.net.input_shape[1:],
        **options,
        origin=origin(checkpoint.get(PROVENANCE_KEY)),
    )


def onnx_classifier(
    path: str | Path,
    data: Mapping[str, Any] | None = None,
    allow_other_data: bool = False,
    **options: Any,
) -> Classifier:
    """A Classifier running an ONNX file from export.py through onnxruntime."""
    from mnist_cnn.inference.data_settings import merge_data

    path = Path(path)
    try:
        import onnx  # noqa: F401  (check_external_data reads the file with it first)
        import onnxruntime
    except ImportError as err:
        raise ImportError(
            f"ckpt_path={path}: ONNX files need onnx and onnxruntime: "
            f"pip install 'mnist-cnn[export]'"
        ) from err
    if not path.is_file():
        raise FileNotFoundError(f"ckpt_path={path}: no such file; export one with export.py.")
    check_external_data(path)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (model_input,) = session.get_inputs()
    metadata = session.get_modelmeta().custom_metadata_map
    names = json.loads(metadata["class_names"]) if "class_names" in metadata else None
    num_classes = session.get_outputs()[0].shape[1]
    # The file knows only its classes; other data settings (data_dir...) do not apply to it.
    stored = {"num_classes": num_classes, "class_names": names}
    given = {key: value for key, value in (data or {}).items() if key in stored}
    names = merge_data(stored, given, allow_other_data, f"ckpt_path={path}")[0]["class_names"]

    def probabilities(images: torch.Tensor) -> torch.Tensor:
        (output,) = session.run(None, {model_input.name: images.numpy()})
        return torch.from_numpy(output)

    return Classifier(
        probabilities,
        resolve_class_names(names, num_classes),
        tuple(model_input.shape[2:]),
        **options,
    )


def check_external_data(path: Path) -> None:
    """Refuse an ONNX file whose tensors point at files outside its own folder (absolute paths,
    `..`, links out): onnxruntime would read them (the path traversal of CVE-2024-27318)."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:  # protobuf's DecodeError and onnx's own errors
        raise ValueError(f"ckpt_path={path}: not a readable ONNX file ({err}).") from err
    folder = path.resolve().parent
    for tensor in _tensors(model.graph):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        location = {entry.key: entry.value for entry in tensor.external_data}.get("location", "")
        target = (folder / location).resolve()
        if Path(location).is_absolute() or not target.is_relative_to(folder):
            raise ValueError(
                f"ckpt_path={path}: refused: tensor {tensor.name!r} reads its data from "
                f"{location!r}, outside the model's folder {folder}. Export the model again "
                f"with export.py (its files hold their weights inline)."
            )


def _tensors(graph: Any) -> Iterator[Any]:
    """Every tensor of an ONNX graph: initializers and node attributes, subgraphs included."""
    yield from graph.initializer
    yield from (sparse.values for sparse in graph.sparse_initializer)
    for node in graph.node:
        for attribute in node.attribute:
            yield from ([attribute.t] if attribute.HasField("t") else [])
            yield from attribute.tensors
            for subgraph in ([attribute.g] if attribute.HasField("g") else []) + list(
                attribute.graphs
            ):
                yield from _tensors(subgraph)
