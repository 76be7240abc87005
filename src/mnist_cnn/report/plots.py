"""Matplotlib figures of a finished run: confusion matrix, worst mistakes, learning curves."""

from __future__ import annotations

import torch
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure  # drawn without pyplot: no window, no global backend
from matplotlib.ticker import MaxNLocator
from torchvision.utils import make_grid

_GRID_COLUMNS = 8
_GRID_PADDING = 12  # pixels above each digit, room for its "true → predicted" caption


def confusion_matrix_figure(counts: torch.Tensor, class_names: list[str]) -> Figure:
    """Counts (K, K) of (true, predicted) test labels, each written in its cell; the colours on a
    log scale, so that 1 error and 30 look different beside 1,000 right."""
    counts = counts.cpu()
    figure = Figure(figsize=(7, 6), layout="constrained")
    axes = figure.subplots()
    shown = counts.float().masked_fill(counts == 0, float("nan"))  # empty cells stay blank
    image = axes.imshow(shown.numpy(), cmap="viridis", norm=LogNorm(vmin=1, vmax=counts.max()))
    figure.colorbar(image, ax=axes, label="images (log scale)")
    for true, row in enumerate(counts.tolist()):
        for predicted, count in enumerate(row):
            if count:  # dark text on the light (large) cells, light text on the dark ones
                color = "black" if count > counts.max().item() ** 0.5 else "white"
                axes.text(predicted, true, f"{count:,}", ha="center", va="center", fontsize=7,
                          color=color)  # fmt: skip
    ticks = range(len(class_names))
    axes.set_xticks(ticks, class_names, rotation=45 if max(map(len, class_names)) > 2 else 0)
    axes.set_yticks(ticks, class_names)  # horizontal: they read as the rows' labels
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(f"Test confusion matrix ({int(counts.sum()):,} images)")
    return figure


def mistakes_figure(
    images: torch.Tensor,
    labels: torch.Tensor,
    predictions: torch.Tensor,
    confidences: torch.Tensor,
    class_names: list[str],
) -> Figure:
    """The given images (K, 1, H, W) in [0, 1] on a grid, each captioned true → predicted (p)."""
    grid = make_grid(images.cpu(), nrow=_GRID_COLUMNS, padding=_GRID_PADDING, pad_value=1.0)
    rows = -(-len(images) // _GRID_COLUMNS)
    figure = Figure(figsize=(_GRID_COLUMNS * 1.1, rows * 1.1 + 0.5), layout="constrained")
    axes = figure.subplots()
    axes.imshow(grid.permute(1, 2, 0).numpy())  # (H, W, 3)
    axes.set_axis_off()
    cell_height, cell_width = images.shape[-2] + _GRID_PADDING, images.shape[-1] + _GRID_PADDING
    for index, (label, predicted, confidence) in enumerate(
        zip(labels.tolist(), predictions.tolist(), confidences.tolist(), strict=True)
    ):
        row, column = divmod(index, _GRID_COLUMNS)
        axes.text(
            column * cell_width + _GRID_PADDING,
            row * cell_height + _GRID_PADDING - 1,
            f"{class_names[label]}→{class_names[predicted]} {confidence:.2f}",
            fontsize=6,
            va="bottom",
        )
    axes.set_title("Most confidently wrong test images: true → predicted (confidence)")
    return figure


def curves_figure(history: list[dict[str, float]]) -> Figure:
    """Loss and accuracy by epoch, train and val, from rows {"epoch", "train/loss", ...}."""
    figure = Figure(figsize=(9, 3.5), layout="constrained")
    for axes, name in zip(figure.subplots(1, 2), ("loss", "acc"), strict=True):
        for stage in ("train", "val"):
            points = [
                (row["epoch"], row[f"{stage}/{name}"])
                for row in history
                if f"{stage}/{name}" in row
            ]
            if points:
                axes.plot(*zip(*points, strict=True), marker="o", label=stage)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("epoch")
        axes.set_title(name)
        axes.grid(alpha=0.3)
        axes.legend()
    return figure
