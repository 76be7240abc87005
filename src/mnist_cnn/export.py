"""Export a checkpoint for deployment: `python export.py ckpt_path=PATH format=onnx`.

The exported model maps float images (B, 1, 28, 28) in [0, 1], any B, to class probabilities
(B, num_classes), exactly as `MnistLitModule.predict_step`; the class names travel inside it.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from mnist_cnn.cli import entry_point
from mnist_cnn.data.idx import load_split, resolve_class_names, to_unit_float
from mnist_cnn.preflight import check_file

if TYPE_CHECKING:  # torch and the checkpoint reader are imported where used: --help needs neither
    import torch
    from torch import nn

FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
# What the exported model expects, stored in the file beside the class names.
PREPROCESSING = (
    "float32 images (B, 1, 28, 28) in [0, 1], white digit on black, made the way MNIST was: "
    "crop to the ink, fit into 20x20, centre by mass in 28x28 "
    "(mnist_cnn.inference.to_mnist does it for any PNG, JPEG, PIL image or array)"
)


def export(
    ckpt_path: str | Path,
    format: str = "onnx",
    output: str | Path | None = None,
    data: Mapping[str, Any] | None = None,
    check_images: int = 256,
    allow_other_data: bool = False,
) -> tuple[Path, float]:
    """Write the model; return its path and the max |exported - PyTorch| over real test images.

    `data` overrides the checkpoint's data settings as in eval.py (e.g. {"data_dir": ...}).
    """
    if format not in FORMATS:
        raise ValueError(f"format={format}: choose one of {', '.join(FORMATS)}.")
    check_file(ckpt_path, "ckpt_path")
    import torch
    from torch import nn

    from mnist_cnn.checkpoint import build_model, read_checkpoint
    from mnist_cnn.inference.data_settings import checkpoint_data

    checkpoint = read_checkpoint(ckpt_path)
    settings, _ = checkpoint_data(checkpoint, ckpt_path, data, allow_other_data)
    model = build_model(checkpoint, ckpt_path)
    names = resolve_class_names(settings.get("class_names"), model.net.num_classes)
    output = Path(output) if output else Path(ckpt_path).with_suffix(FORMATS[format])
    output.parent.mkdir(parents=True, exist_ok=True)
    probabilities = nn.Sequential(model.net, model.head).eval()  # = predict_step
    example = torch.zeros(2, *model.net.input_shape)
    raw_dir = Path(settings["data_dir"]) / settings["dataset"] / "raw"
    images = _check_inputs(raw_dir, check_images, model.net)
    with warnings.catch_warnings():
        # torch.onnx (TorchScript-based) and torch.jit warn that torch.export replaces them; its
        # ONNX path needs onnxscript too. The files they write are the same ONNX and TorchScript.
        warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning))
        if format == "onnx":
            _write_onnx(probabilities, example, output, names)
        else:
            scripted = torch.jit.trace(probabilities, example)
            extra = {"class_names": json.dumps(names), "preprocessing": PREPROCESSING}
            torch.jit.save(scripted, output, _extra_files=extra)
        return output, _max_difference(output, format, probabilities, images)


def _write_onnx(net: nn.Module, example: torch.Tensor, output: Path, names: list[str]) -> None:
    import onnx  # optional: pip install 'mnist-cnn[export]'
    import torch

    torch.onnx.export(
        net,
        (example,),
        str(output),
        input_names=["images"],
        output_names=["probabilities"],
        dynamic_axes={"images": {0: "batch"}, "probabilities": {0: "batch"}},
        dynamo=False,  # the torch.export-based exporter needs onnxscript as well
    )
    model = onnx.load(str(output))
    onnx.helper.set_model_props(
        model, {"class_names": json.dumps(names), "preprocessing": PREPROCESSING}
    )
    onnx.save(model, str(output))


def _check_inputs(raw_dir: Path, count: int, net: nn.Module) -> torch.Tensor:
    """Real test images from the checkpoint's dataset; random ones (and a note) without them."""
    import torch

    try:
        images, _ = load_split(raw_dir, "test", net.num_classes)
    except (FileNotFoundError, ValueError) as err:
        print(f"checking on random images: no usable test files ({err}); set data.data_dir=...")
        return torch.rand(count, *net.input_shape, generator=torch.Generator().manual_seed(0))
    print(f"checking on {min(count, len(images))} real test images from {raw_dir}")
    return to_unit_float(images[:count])


def _max_difference(path: Path, format: str, reference: nn.Module, images: torch.Tensor) -> float:
    """Max |exported - PyTorch| over `images`, run as one batch and as a batch of one."""
    import torch

    from mnist_cnn.inference.classifier import onnx_classifier

    # The ONNX file runs as predict.py runs it.
    run = onnx_classifier(path).probabilities if format == "onnx" else torch.jit.load(path)
    with torch.inference_mode():
        expected = reference(images)
        differences = [
            (run(images) - expected).abs().max(),
            (run(images[:1]) - expected[:1]).abs().max(),
        ]
    return float(max(differences))


@entry_point("export")
def main(cfg: DictConfig) -> None:
    """write an ONNX or TorchScript file and check it against PyTorch."""
    data = OmegaConf.to_container(cfg.data, resolve=True)
    output, difference = export(
        cfg.ckpt_path, cfg.format, cfg.output, data, cfg.check_images, cfg.allow_other_data
    )
    print(f"wrote {output} ({cfg.format}); max abs difference to PyTorch: {difference:.2e}")
    if difference > cfg.tolerance:
        raise SystemExit(f"max abs difference {difference:.2e} is over tolerance={cfg.tolerance}.")
