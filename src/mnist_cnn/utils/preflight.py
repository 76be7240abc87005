"""Config checks Lightning makes late, vaguely or not at all; run before any work."""

from __future__ import annotations

import os
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from mnist_cnn.checkpoint import check_resumable
from mnist_cnn.loggers.checks import check_loggers

ACCELERATORS = ("auto", "cpu", "cuda", "gpu", "mps", "tpu")
# ckpt_path values Lightning resolves itself (from the run folder), not file paths.
CKPT_KEYWORDS = ("last", "best", "hpc")


def _available(accelerator: str) -> tuple[int, str]:
    """How many devices of this kind the machine offers, and what they are called."""
    if accelerator in ("cuda", "gpu") or (accelerator == "auto" and torch.cuda.is_available()):
        return torch.cuda.device_count(), "CUDA GPU(s)"
    if accelerator == "mps" or (accelerator == "auto" and torch.backends.mps.is_available()):
        return int(torch.backends.mps.is_available()), "MPS device(s)"
    if accelerator == "tpu":
        return 0, "TPU core(s) usable by this project"
    return len(os.sched_getaffinity(0)), "CPU core(s)"


def check_trainer(trainer: DictConfig | dict[str, Any]) -> None:
    """Refuse an unknown accelerator, or more devices than this machine has, naming the key."""
    accelerator = str(trainer.get("accelerator", "auto"))
    if accelerator not in ACCELERATORS:
        raise ValueError(
            f"trainer.accelerator={accelerator}: unknown; choose one of {', '.join(ACCELERATORS)}."
        )
    count, kind = _available(accelerator)
    if count == 0:
        raise ValueError(
            f"trainer.accelerator={accelerator}: this machine has no {kind}. "
            f"Use trainer.accelerator=cpu or trainer.accelerator=auto."
        )
    devices = trainer.get("devices", "auto")
    if devices in ("auto", -1, "-1"):
        return
    wanted = list(devices) if not isinstance(devices, (int, str)) else None
    if wanted is not None:  # explicit device indices, e.g. [0, 2]
        bad = [i for i in wanted if not 0 <= int(i) < count]
        if bad:
            raise ValueError(
                f"trainer.devices={wanted}: indices {bad} do not exist; this machine has {count} "
                f"{kind} (indices 0..{count - 1})."
            )
        return
    if not str(devices).isdigit() or not 1 <= int(devices) <= count:
        raise ValueError(
            f"trainer.devices={devices}: must lie in 1..{count} (this machine has {count} "
            f"{kind} for trainer.accelerator={accelerator}), or be auto / -1 for all of them."
        )


def check_run_config(cfg: DictConfig) -> None:
    """Everything a run's config can get wrong that is cheap to check before data or models load."""
    check_trainer(cfg.trainer)
    check_loggers(cfg.get("logger"))
    # "last" may find no checkpoint on a first run: Lightning then starts afresh, so a job
    # script can always pass it (SLURM requeue). A file it finds is still read weights_only.
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path is not None and ckpt_path not in CKPT_KEYWORDS:
        check_resumable(ckpt_path, OmegaConf.to_container(cfg.model.net, resolve=True))
