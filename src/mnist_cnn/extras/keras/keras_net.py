"""Map a Keras model's layers onto MnistCNN, naming every mismatch; convert its weight layouts.

MnistCNN is Conv2D(relu) → MaxPooling2D(2) repeated, Flatten, Dropout, Dense(softmax): the keras.io
MNIST convnet with any widths, kernel size and class count. Anything else is refused, not guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from mnist_cnn.extras.keras.keras_config import KerasLayer, KerasModel
from mnist_cnn.models.cnn import MnistCNN

# Layer settings MnistCNN has fixed, with Keras's default when a (Keras 2) config omits them.
CONV_FIXED = {
    "strides": ([1, 1], [1, 1]),
    "padding": ("valid", "valid"),
    "dilation_rate": ([1, 1], [1, 1]),
    "groups": (1, 1),
    "data_format": ("channels_last", "channels_last"),
    "activation": ("linear", "relu"),  # (Keras default, what MnistCNN does)
    "use_bias": (True, True),
}
POOL_FIXED = {
    "pool_size": ([2, 2], [2, 2]),
    "strides": (None, [2, 2]),
    "padding": ("valid", "valid"),
    "data_format": ("channels_last", "channels_last"),
}
DENSE_FIXED = {"activation": ("linear", "softmax"), "use_bias": (True, True)}
FLATTEN_FIXED = {"data_format": ("channels_last", "channels_last")}
DROPOUT_FIXED = {"noise_shape": (None, None)}


class ArchitectureMismatch(ValueError):
    """A Keras model whose layers do not map onto MnistCNN; the message lists each mismatch."""


@dataclass
class MappedNet:
    """MnistCNN's settings read from the file, its weights (our layout, our keys), and what the
    file could not say."""

    settings: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    layers: list[str]  # the Keras layers in MnistCNN's order (weight-group names if no config)
    assumed: list[str] = field(default_factory=list)


def map_keras_model(
    model: KerasModel, in_channels: int, input_size: tuple[int, int], num_classes: int,
    dropout: float,
) -> MappedNet:  # fmt: skip
    """MnistCNN settings and weights for `model`, fed images (in_channels, *input_size) and
    trained for `num_classes`; raise ArchitectureMismatch naming each difference."""
    assumed = []
    layers = model.layers
    if any(layer.config is None for layer in layers):
        layers, problems = _weights_only_order(layers)
        dropout = dropout if any(layer.class_name == "dropout" for layer in layers) else 0.0
        assumed.append(
            "ReLU after each Conv2D, stride 1, 2×2 max pooling, a softmax head and "
            f"dropout={dropout} (a .weights.h5 holds no layer settings; the .keras file has them)"
        )
    else:
        problems = _sequence_problems(layers) + _settings_problems(layers)
        rates = [layer.config["rate"] for layer in layers if layer.class_name == "Dropout"]
        dropout = rates[0] if rates else 0.0
    if model.input_shape is not None and tuple(model.input_shape) != (*input_size, in_channels):
        problems.append(
            f"input shape {tuple(model.input_shape)}: the data gives (H, W, C) = "
            f"{(*input_size, in_channels)}"
        )
    if problems:
        raise ArchitectureMismatch(_report(problems))
    convs = [layer for layer in layers if layer.class_name in ("Conv2D", "conv2d")]
    dense = layers[-1]
    settings = _settings_from_weights(convs, dense, in_channels, input_size, num_classes)
    settings["dropout"] = float(dropout)
    try:
        net = MnistCNN(**settings)  # computes the flatten size our Linear layer expects
    except ValueError as err:  # e.g. kernels too large for the input size
        raise ArchitectureMismatch(_report([str(err)])) from err
    problems = _shape_problems(convs, dense, net, in_channels)
    if problems:
        raise ArchitectureMismatch(_report(problems))
    names = [layer.name if layer.config is None else layer.class_name for layer in layers]
    return MappedNet(settings, _convert(convs, dense, net), names, assumed)


def _report(problems: list[str]) -> str:
    lines = "\n".join(f"  - {p}" for p in problems)
    return (
        f"the Keras model does not map onto MnistCNN (Conv2D(relu) → MaxPooling2D(2), repeated, "
        f"→ Flatten → Dropout → Dense(softmax)); nothing was written:\n{lines}"
    )


def _expected_classes(layers: list[KerasLayer]) -> list[str]:
    classes = [layer.class_name for layer in layers]
    convs = max(classes.count("Conv2D"), 1)
    return ["Conv2D", "MaxPooling2D"] * convs + [
        "Flatten", *(["Dropout"] if "Dropout" in classes else []), "Dense",
    ]  # fmt: skip


def _sequence_problems(layers: list[KerasLayer]) -> list[str]:
    expected = _expected_classes(layers)
    classes = [layer.class_name for layer in layers]
    problems = []
    for class_name in dict.fromkeys(classes):
        wanted, found = expected.count(class_name), classes.count(class_name)
        if found > wanted:
            names = ", ".join(f"'{x.name}'" for x in layers if x.class_name == class_name)
            has = f"has {wanted}" if wanted else "has no such layer"
            problems.append(f"extra layer: {class_name} {names}; MnistCNN {has}")
    if classes != expected:
        problems.append(f"layer order {' → '.join(classes)}; MnistCNN is {' → '.join(expected)}")
    return problems


def _settings_problems(layers: list[KerasLayer]) -> list[str]:
    fixed = {
        "Conv2D": CONV_FIXED, "MaxPooling2D": POOL_FIXED, "Dense": DENSE_FIXED,
        "Flatten": FLATTEN_FIXED, "Dropout": DROPOUT_FIXED,
    }  # fmt: skip
    problems, kernels = [], set()
    for layer in layers:
        for key, (default, ours) in fixed.get(layer.class_name, {}).items():
            value = layer.config.get(key, default)
            if value != ours and not (layer.class_name == "MaxPooling2D" and value is None):
                head = layer is layers[-1] and (layer.class_name, key) == ("Dense", "activation")
                why = " (a softmax-free head)" if head else ""
                problems.append(
                    f"{layer.class_name} '{layer.name}' has {key}={value}{why}; MnistCNN: {ours}"
                )
        rate = layer.config.get("rate")
        if layer.class_name == "Dropout" and not (isinstance(rate, (int, float)) and 0 <= rate < 1):
            problems.append(f"Dropout '{layer.name}' has rate={rate}; MnistCNN needs 0 <= rate < 1")
        if layer.class_name == "Conv2D":
            kernel = tuple(layer.config.get("kernel_size", ()))
            if len(kernel) != 2 or kernel[0] != kernel[1]:
                problems.append(
                    f"Conv2D '{layer.name}' has kernel_size={list(kernel)}; MnistCNN: square"
                )
            kernels.add(kernel)
    if len(kernels) > 1:
        problems.append(
            f"Conv2D kernel sizes {sorted(kernels)} differ; MnistCNN uses one kernel_size"
        )
    return problems


def _weights_only_order(layers: list[KerasLayer]) -> tuple[list[KerasLayer], list[str]]:
    """A weights-only file names its layer groups conv2d, conv2d_1, ... but keeps no order: put
    them in MnistCNN's order, refusing groups MnistCNN does not have or lacks."""
    by_name = {layer.name: layer for layer in layers}
    count = sum(layer.class_name == "conv2d" for layer in layers)
    names = [
        f"{kind}_{i}" if i else kind for i in range(count) for kind in ("conv2d", "max_pooling2d")
    ] + ["flatten", *(["dropout"] if "dropout" in by_name else []), "dense"]
    problems = [f"extra layer '{n}': MnistCNN has no such layer" for n in by_name if n not in names]
    problems += [f"no layer '{n}': MnistCNN needs it" for n in names if n not in by_name]
    return [by_name[n] for n in names if n in by_name], problems


def _settings_from_weights(
    convs: list[KerasLayer], dense: KerasLayer, in_channels: int, input_size: tuple[int, int],
    num_classes: int,
) -> dict[str, Any]:  # fmt: skip
    kernels = [layer.weights[0].shape if layer.weights else () for layer in convs]
    problems = [
        f"{c.class_name} '{c.name}' has no kernel and bias" for c in convs if len(c.weights) != 2
    ]
    if len(dense.weights) != 2:
        problems.append(f"Dense '{dense.name}' has no kernel and bias")
    elif dense.weights[0].shape[-1] != num_classes:
        problems.append(
            f"Dense '{dense.name}' has {dense.weights[0].shape[-1]} units but data.num_classes="
            f"{num_classes}; choose the data config of the model's dataset (data=...)"
        )
    sizes = {shape[:2] for shape in kernels if len(shape) == 4}
    if len(sizes) != 1 or any(len(shape) != 4 or shape[0] != shape[1] for shape in kernels):
        problems.append(f"Conv2D kernels of shapes {kernels}: MnistCNN needs one square size")
    if problems:
        raise ArchitectureMismatch(_report(problems))
    return {
        "in_channels": in_channels,
        "num_classes": num_classes,
        "channels": [int(shape[3]) for shape in kernels],
        "kernel_size": int(kernels[0][0]),
        "input_size": list(input_size),
    }


def _shape_problems(
    convs: list[KerasLayer], dense: KerasLayer, net: MnistCNN, in_channels: int
) -> list[str]:
    problems, width = [], in_channels
    ours = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    for layer, module in zip([*convs, dense], ours, strict=True):
        kernel, bias = layer.weights
        wanted = (
            (*module.weight.shape[2:], width, module.out_channels)
            if isinstance(module, nn.Conv2d)
            else (module.in_features, module.out_features)
        )
        if kernel.shape != wanted or bias.shape != (wanted[-1],):
            problems.append(
                f"{layer.class_name} '{layer.name}' has weights {kernel.shape} and {bias.shape}; "
                f"MnistCNN needs {wanted} and {(wanted[-1],)}"
            )
        width = wanted[-1]
    return problems


def _convert(convs: list[KerasLayer], dense: KerasLayer, net: MnistCNN) -> dict[str, torch.Tensor]:
    """Keras layouts → ours; Dense rows from Keras's (H, W, C) flatten order to our (C, H, W)."""
    modules = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        for layer, conv in zip(convs, modules, strict=False):
            kernel, bias = (torch.from_numpy(w) for w in layer.weights)
            conv.weight.copy_(kernel.permute(3, 2, 0, 1))  # (H, W, in, out) → (out, in, H, W)
            conv.bias.copy_(bias)
        channels, height, width = net.features(torch.zeros(1, *net.input_shape)).shape[1:]
        kernel, bias = (torch.from_numpy(w) for w in dense.weights)  # kernel (H·W·C, classes)
        kernel = kernel.reshape(height, width, channels, -1).permute(2, 0, 1, 3)
        modules[-1].weight.copy_(kernel.reshape(channels * height * width, -1).T)
        modules[-1].bias.copy_(bias)
    return {key: value.clone() for key, value in net.state_dict().items()}
