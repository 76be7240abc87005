"""Every check a run makes before any work: what Lightning checks late, vaguely or not at all.

The cheap checks come first and import no torch or Lightning, so that a mistyped path or a
missing file is answered in about a second; each error names the key, the value and the fix.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from mnist_cnn.archive import check_archive
from mnist_cnn.data.idx import DataNotFoundError, missing_files, not_found

ACCELERATORS = ("auto", "cpu", "cuda", "gpu", "mps", "tpu")
# ckpt_path values Lightning resolves itself (from the run folder), not file paths.
CKPT_KEYWORDS = ("last", "best", "hpc")


def check_train(cfg: DictConfig) -> None:
    """Everything a training run's config can get wrong that is cheap to check before data or
    models load."""
    ckpt_path, init_from = cfg.get("ckpt_path"), cfg.get("init_from")
    if ckpt_path is not None and init_from:
        raise ValueError(
            f"ckpt_path={ckpt_path} and init_from={init_from}: choose one; ckpt_path resumes "
            f"a run (its own weights and optimizer), init_from starts a new one from weights."
        )
    # "last" may find no checkpoint on a first run: Lightning then starts afresh, so a job
    # script can always pass it (SLURM requeue). A file it finds is still checked as it loads.
    if ckpt_path is not None and ckpt_path not in CKPT_KEYWORDS:
        check_file(ckpt_path, "ckpt_path")
    if init_from:
        check_file(init_from, "init_from")
    check_data_files(cfg.data)
    check_trainer(cfg.trainer)
    check_validation(cfg)
    net = OmegaConf.to_container(cfg.model.net, resolve=True)
    check_network(net)
    if ckpt_path is not None and ckpt_path not in CKPT_KEYWORDS:
        from mnist_cnn.checkpoint import check_resumable  # imports Lightning

        check_resumable(ckpt_path, net)
    # init_from is read once, by mnist_cnn.checkpoint.init_weights, as the model is built.


def check_validation(cfg: DictConfig) -> None:
    """Refuse a run without validation whose callbacks watch a validation metric (Lightning
    would fail at the end of the first epoch)."""
    if cfg.trainer.get("limit_val_batches") != 0:
        return
    for name, node in (cfg.get("callbacks") or {}).items():
        if node and str(node.get("monitor", "")).startswith("val/"):
            raise ValueError(
                f"trainer.limit_val_batches=0 runs no validation, but callbacks.{name} watches "
                f"{node.monitor}: add callbacks.{name}=null, or validate some batches."
            )


def check_file(path: str | Path, key: str) -> None:
    """Refuse a checkpoint setting that names no file, or a file that is not the zip archive
    torch.save writes (a text file, a zip bomb), before torch or Lightning is imported."""
    if not Path(path).is_file():
        raise FileNotFoundError(
            f"{key}={path}: no such file. Point {key} at a .ckpt file, e.g. "
            f"outputs/train/runs/<run>/checkpoints/last.ckpt."
        )
    check_archive(path, key)


def check_data_files(data: Mapping[str, Any]) -> None:
    """Refuse missing dataset files where nothing will download them (data.download=false)."""
    if data.get("download"):
        return  # prepare_data downloads them, or says why it cannot
    data_dir, dataset = Path(data["data_dir"]), data["dataset"]
    if missing_files(data_dir, dataset):
        raise DataNotFoundError(not_found(data_dir, dataset, "data.download=false"))


def _available(accelerator: str) -> tuple[int, str]:
    """How many devices of this kind the machine offers, and what they are called."""
    if accelerator == "cpu":
        return len(os.sched_getaffinity(0)), "CPU core(s)"
    import torch  # only for other accelerators: `cpu` needs no torch to check

    if accelerator in ("cuda", "gpu") or (accelerator == "auto" and torch.cuda.is_available()):
        return torch.cuda.device_count(), "CUDA GPU(s)"
    if accelerator == "mps" or (accelerator == "auto" and torch.backends.mps.is_available()):
        return int(torch.backends.mps.is_available()), "MPS device(s)"
    if accelerator == "tpu":
        return 0, "TPU core(s) usable by this project"
    return len(os.sched_getaffinity(0)), "CPU core(s)"


def check_trainer(trainer: DictConfig | dict[str, Any]) -> None:
    """Refuse an unknown accelerator, or more devices than this machine has, naming the key;
    warn about bf16 on a CPU that has no bf16 kernels."""
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
    if str(trainer.get("precision")).startswith("bf16") and kind == "CPU core(s)":
        _warn_about_cpu_bf16()
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


def _warn_about_cpu_bf16() -> None:
    from mnist_cnn.private_apis import cpu_bf16_supported

    if not cpu_bf16_supported():
        warnings.warn(
            "trainer.precision=bf16-mixed on a CPU without AVX512-BF16/AMX: PyTorch runs bf16 "
            "convolutions with its slow reference kernels here (7x slower epochs measured on an "
            "AVX2 CPU). Use trainer.precision=32-true on this CPU.",
            stacklevel=2,
        )


def check_network(net: dict[str, Any]) -> None:
    """Refuse, before any work, a network that is not registered, or an argument it does not
    take (typically an experiment/ overlay written for another network)."""
    from mnist_cnn.models.registry import NETWORKS  # torch, no Lightning

    target = net.get("_target_")
    try:
        cls = get_class(target)
    except Exception:  # Hydra's lookup fails in many ways: any of them means "not registered"
        cls = None
    if cls not in NETWORKS:
        raise ValueError(
            f"model.net._target_={target}: not a registered network (accepted: "
            f"{', '.join(f'{c.__module__}.{c.__qualname__}' for c in NETWORKS)}). Your own "
            f"network? Add its class to NETWORKS in models/registry.py (docs/make-it-yours.md)."
        )
    # registry.unknown_arguments, inline: a run's way to its first step passes few files.
    accepted = inspect.signature(cls).parameters
    unknown = [k for k in net if not k.startswith("_") and k not in accepted]
    if unknown and not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        raise ValueError(
            f"model.net.{unknown[0]}={net[unknown[0]]}: not an argument of {cls.__name__} (it "
            f"takes {', '.join(accepted)}). An experiment/ overlay or "
            f"override written for another network sets it: drop it, or choose that network "
            f"(model=<its config>)."
        )
