"""Where a training epoch of `python train.py` spends its time: torch.profiler around the real
train(), per-op self time, and the gap to the convolution-rate limit.

    python -m mnist_cnn.extras.bench.profile_epoch [--data-dir D] [--batches N] [overrides ...]

Figures measured with it: docs/performance.md.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import lightning as L
from omegaconf import open_dict
from torch.profiler import ProfilerActivity, profile

from mnist_cnn.cli import compose_config
from mnist_cnn.train import train

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
# What the recipe's ops are, for the summary; the profiler's names, matched by prefix.
GROUPS = {
    "convolution forward": ("aten::mkldnn_convolution", "aten::_convolution"),
    "convolution backward": ("aten::convolution_backward",),
    "max pool (fwd + bwd)": ("aten::max_pool2d",),
    "ReLU (fwd + bwd)": ("aten::clamp_min", "aten::threshold_backward", "aten::relu"),
    "linear (fwd + bwd)": ("aten::mm", "aten::addmm"),
    "dropout mask and scaling": ("aten::uniform_", "aten::ge", "aten::mul"),
    "loss": ("aten::_log_softmax", "aten::nll_loss", "aten::_log_softmax_backward_data"),
    "Adam + step closure (Python)": ("aten::_fused_adam", "Optimizer.", "aten::_foreach"),
    "batch gather and scaling": ("aten::index", "aten::div_", "aten::_to_copy", "aten::copy_"),
    "zeroing and allocation": ("aten::fill_", "aten::zero_", "aten::empty"),
}


class ProfileEpoch(L.Callback):
    """Profiles the first whole epoch (training, validation, checkpoints), nothing else."""

    profiler = profile(activities=[ProfilerActivity.CPU])
    wall = 0.0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.profiler.start()
        self.started = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        ProfileEpoch.wall = time.perf_counter() - self.started
        self.profiler.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=SHARED_MNIST)
    parser.add_argument("--batches", type=int, default=100, help="training batches profiled")
    parser.add_argument("overrides", nargs="*", help="e.g. trainer.precision=bf16-mixed")
    args = parser.parse_args()
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as output_dir:
        cfg = compose_config(
            "train",
            [
                f"data.data_dir={args.data_dir}", "data.download=false", "trainer.max_epochs=1",
                f"trainer.limit_train_batches={args.batches}",
                "test=false", "logger=none",
                "~callbacks.progress_bar", *args.overrides,
            ],
            output_dir,
        )  # fmt: skip
        with open_dict(cfg):
            cfg.callbacks["profile_epoch"] = {"_target_": f"{__name__}.ProfileEpoch"}
        train(cfg)
    events, wall = ProfileEpoch.profiler.key_averages(), ProfileEpoch.wall
    # Self time only: a parent's total would count its children twice.
    total_ops = sum(event.self_cpu_time_total for event in events) / 1e6
    print(events.table(sort_by="self_cpu_time_total", row_limit=20))
    print(f"\n{'group':<28} {'s':>7} {'share':>6}   ({args.batches} batches, wall {wall:.2f} s)")
    for group, prefixes in GROUPS.items():
        seconds = (
            sum(event.self_cpu_time_total for event in events if event.key.startswith(prefixes))
            / 1e6
        )
        print(f"{group:<28} {seconds:>7.3f} {seconds / total_ops:>6.1%}")
    print(f"{'all ops (self time)':<28} {total_ops:>7.3f}")


if __name__ == "__main__":
    main()
