"""Each library internal of the core (mnist_cnn.private_apis) still exists and still means what
we use it for; a failure names the internal and the library version that moved it."""

from __future__ import annotations

import re
from importlib.metadata import version

import lightning as L
import pytest
from hydra.core.utils import JobReturn, JobStatus
from lightning.pytorch.demos.boring_classes import BoringModel

from mnist_cnn import private_apis as api
from tests.fixtures import REPO


def test_a_failed_hydra_job_keeps_its_exception():
    error = ValueError("lr=-1")
    job = JobReturn(status=JobStatus.FAILED, _return_value=error)
    assert api.failed_job_error(job) is error, api.moved("hydra-core", "JobReturn._return_value")


def test_batch_progress_counts_the_finished_batches_of_the_epoch(tmp_path):
    seen = []

    class Record(L.Callback):
        def on_train_batch_end(self, trainer, *args):
            seen.append(api.batches_done_this_epoch(trainer))

    model = BoringModel()
    trainer = L.Trainer(
        accelerator="cpu", max_epochs=1, limit_train_batches=3, limit_val_batches=0,
        logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, callbacks=[Record()], default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(model)
    assert seen == [1, 2, 3], api.moved("lightning", "fit_loop.epoch_loop.batch_progress")


def test_the_unrepeated_sampler_gives_each_sample_to_one_rank_without_padding():
    sampler = api.unrepeated_distributed_sampler()
    ranks = [list(sampler(range(5), num_replicas=2, rank=r, shuffle=False)) for r in (0, 1)]
    assert ranks == [[0, 2, 4], [1, 3]], api.moved("lightning", "lightning.pytorch.overrides")


def test_the_cpu_bf16_check_still_finds_torchs_private_op():
    name = "torch.ops.mkldnn._is_mkldnn_bf16_supported"
    assert isinstance(api.cpu_bf16_supported(), bool), api.moved("torch", name)


def test_a_moved_internal_fails_naming_it_and_the_version():
    with pytest.raises(api.PrivateAPIMoved) as raised:
        api.lookup("lightning", "lightning.pytorch", "_no_such_name")
    assert str(raised.value).startswith(f"Lightning {version('lightning')} moved `_no_such_name`")
    assert "see src/mnist_cnn/private_apis.py" in str(raised.value)


@pytest.mark.parametrize("library", sorted(api.CHECKED))
def test_installed_and_allowed_versions_are_the_checked_ones(library):
    installed = ".".join(version(library).split(".")[:2])
    assert installed in api.CHECKED[library], (
        f"{library} {version(library)} is installed but its internals were checked with "
        f"{api.CHECKED[library]}: run tests/test_private_apis.py, then update CHECKED."
    )
    (spec,) = re.findall(rf'"({library}[<>=][^"]*)"', (REPO / "pyproject.toml").read_text())
    upper = re.search(r"<\s*([\d.]+)", spec)
    newest = max(api.CHECKED[library], key=lambda v: tuple(map(int, v.split("."))))
    major, minor = map(int, newest.split("."))
    assert upper and upper.group(1) == f"{major}.{minor + 1}", (
        f"pyproject.toml allows `{spec}`: bound it below {major}.{minor + 1}, the first minor "
        f"version whose internals are unchecked."
    )
