"""Keras's `model.summary()` for a network: one row per layer, its output shape with the batch
as None, its parameters; then the totals and their size."""

from __future__ import annotations

import torch
from torch import nn

_WIDTHS = (34, 24, 11)


def summary(net: nn.Module) -> str:
    """The Keras-style table of `net` (which has an `input_shape` (C, H, W)), shapes in PyTorch's
    channels-first order, from one forward pass of a zero image."""
    rows: list[tuple[str, str, int]] = []

    def record(name: str):
        def hook(module: nn.Module, inputs: object, output: torch.Tensor) -> None:
            shape = ", ".join(map(str, output.shape[1:]))
            own = sum(p.numel() for p in module.parameters(recurse=False))
            rows.append((f"{name} ({type(module).__name__})", f"(None, {shape})", own))

        return hook

    leaves = [(name, m) for name, m in net.named_modules() if name and not list(m.children())]
    handles = [module.register_forward_hook(record(name)) for name, module in leaves]
    training = net.training
    try:
        with torch.no_grad():
            net.eval()(torch.zeros(1, *net.input_shape))
    finally:
        net.train(training)
        for handle in handles:
            handle.remove()
    line, double = "_" * sum(_WIDTHS), "=" * sum(_WIDTHS)
    header = _row("Layer (type)", "Output Shape", "Param #")
    lines = [f'Model: "{type(net).__name__}"', line, header]
    lines += [double, *(_row(name, shape, f"{p:,}") for name, shape, p in rows), double]
    total = sum(p.numel() for p in net.parameters())
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    size = sum(p.numel() * p.element_size() for p in net.parameters())
    lines += [
        f"Total params: {total:,} ({size / 2**20:.2f} MB)",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
        line,
    ]
    if note := getattr(net, "summary_note", None):
        lines.append(note)
    return "\n".join(lines)


def _row(*cells: str) -> str:
    return "".join(cell.ljust(width) for cell, width in zip(cells, _WIDTHS, strict=True)).rstrip()
