"""Every library internal the core relies on, each behind one function (an extra that relies on
more lists its own, e.g. mnist_cnn.extras.cluster.private_apis, with these helpers).

- Hydra's `JobReturn._return_value`: sweep_summary.py;
- Lightning's `trainer.fit_loop.epoch_loop.batch_progress` and `lightning.pytorch.overrides`
  (not in Lightning's public API reference): data/datamodule.py.
- torch's `torch.ops.mkldnn._is_mkldnn_bf16_supported`: preflight.py (bf16 on a CPU without
  bf16 kernels).

Checked against the versions in `CHECKED`; pyproject.toml accepts only those minor versions and
tests/test_private_apis.py fails, naming the internal, when one moves. To move to a new
release: run that test, adapt the function here, add the version to `CHECKED`, widen the bound.
"""

from __future__ import annotations

import importlib
from importlib.metadata import version
from typing import Any

# Distribution name → the minor versions whose internals were checked (by the tests above).
CHECKED = {
    "lightning": ("2.6",),
    "hydra-core": ("1.3",),
    "torch": tuple(f"2.{minor}" for minor in range(4, 15)),  # 2.4 ... 2.14
}
_LABEL = {"lightning": "Lightning", "hydra-core": "Hydra", "torch": "PyTorch"}


class PrivateAPIMoved(ImportError):
    """A library release renamed, moved or changed an internal this project relies on."""


def moved(library: str, name: str) -> str:
    """The message for `library`'s internal `name` no longer being where it was."""
    checked = ", ".join(CHECKED[library])
    return (
        f"{_LABEL[library]} {version(library)} moved `{name}` (checked with {checked}); "
        f"see src/mnist_cnn/private_apis.py, or install {library} {CHECKED[library][-1]}.x."
    )


def lookup(library: str, module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise PrivateAPIMoved(moved(library, name)) from err


def failed_job_error(job_return: Any) -> BaseException:
    """The exception of a failed Hydra job (`JobReturn.return_value` re-raises it instead)."""
    try:
        return job_return._return_value
    except AttributeError as err:
        raise PrivateAPIMoved(moved("hydra-core", "JobReturn._return_value")) from err


def batches_done_this_epoch(trainer: Any) -> int:
    """How many training batches of the current epoch the trainer has finished."""
    try:
        return trainer.fit_loop.epoch_loop.batch_progress.current.processed
    except AttributeError as err:
        raise PrivateAPIMoved(moved("lightning", "fit_loop.epoch_loop.batch_progress")) from err


def unrepeated_distributed_sampler() -> type:
    """Lightning's DistributedSampler that gives each sample to one rank, with no padding."""
    return lookup(
        "lightning", "lightning.pytorch.overrides.distributed", "UnrepeatedDistributedSampler"
    )


def cpu_bf16_supported() -> bool:
    """Whether oneDNN has bf16 kernels on this CPU (AVX512-BF16 or AMX)."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError) as err:  # torch.ops raises either for a missing op
        raise PrivateAPIMoved(moved("torch", "torch.ops.mkldnn._is_mkldnn_bf16_supported")) from err
