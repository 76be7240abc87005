"""Many devices and many nodes: DDP on CPU processes, and two torchrun agents as two 'nodes'."""

import os
import socket
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch

from mnist_cnn.data.datamodule import MnistDataModule
from mnist_cnn.eval import evaluate
from tests.fixtures import (
    REPO,
    compose_config,
    is_share_of,
    read_metrics,
    run_cli,
    synthetic_digits,
    write_dataset,
)


def _fake_trainer(rank: int) -> SimpleNamespace:
    """What the data module reads of a 2-process DDP Trainer."""
    cpu = SimpleNamespace(root_device=torch.device("cpu"))
    return SimpleNamespace(world_size=2, global_rank=rank, strategy=cpu)


def test_batch_size_is_global_and_split_over_the_processes(tiny_data_dir):
    dm = MnistDataModule(data_dir=str(tiny_data_dir), batch_size=128, download=False)
    dm.trainer = _fake_trainer(1)
    dm.setup("fit")
    assert dm.batch_size_per_device == 64
    assert len(next(iter(dm.train_dataloader()))[1]) == 64
    odd = MnistDataModule(data_dir=str(tiny_data_dir), batch_size=127, download=False)
    odd.trainer = _fake_trainer(0)
    with pytest.raises(ValueError, match=r"data.batch_size=127 .* multiple of 2"):
        odd.setup("fit")


@pytest.fixture(scope="module")
def odd_test_set_dir(t10k, tmp_path_factory):
    """600 training images and an odd 301 test images: 2 processes cannot split them evenly."""
    images, labels = t10k if t10k is not None else synthetic_digits(901)
    root = tmp_path_factory.mktemp("mnist_odd")
    return write_dataset(root, (images[:600], labels[:600]), (images[600:901], labels[600:901]))


@pytest.mark.slow
def test_two_processes_test_every_image_once(odd_test_set_dir, tmp_path):
    """A devices=2 run's test/acc equals one process testing the same checkpoint."""
    data = f"data.data_dir={odd_test_set_dir}"
    result = run_cli(
        "train.py", data, "trainer.accelerator=cpu", "trainer.devices=2",
        "trainer.max_epochs=1", "logger=none", f"paths.log_dir={tmp_path}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (tmp_path / "train" / "runs").iterdir()  # the second process made no folder
    trained = read_metrics(run_dir)
    # Global batch 128 over 540 training images, 64 per process: 5 optimiser steps, not 9.
    assert trained["global_step"] == 5
    # The reference: this (single) process tests the same checkpoint on the same 301 images.
    cfg = compose_config(
        "eval",
        [f"ckpt_path={trained['best_checkpoint']}", data, "trainer.accelerator=cpu"],
        tmp_path / "eval",
    )
    assert evaluate(cfg)["test/acc"] == trained["test/acc"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_torchrun_agents_train_together_into_one_run_folder(tiny_data_dir, tmp_path):
    """Two `torchrun` launches on 127.0.0.1 stand in for two nodes of one node each."""
    torchrun = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc_per_node=1",
        "--rdzv_backend=c10d", f"--rdzv_endpoint=127.0.0.1:{_free_port()}", "--rdzv_id=job42",
        str(REPO / "train.py"), f"data.data_dir={tiny_data_dir}", "trainer.accelerator=cpu",
        "trainer.num_nodes=2", "trainer.max_epochs=1", f"paths.log_dir={tmp_path}",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    agents = [
        subprocess.Popen(
            torchrun, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for _ in range(2)
    ]
    outputs = [agent.communicate(timeout=300)[0].decode()[-3000:] for agent in agents]
    assert [agent.returncode for agent in agents] == [0, 0], outputs
    (run_dir,) = (tmp_path / "train" / "runs").iterdir()
    assert run_dir.name == "torchrun-job42"
    metrics = read_metrics(run_dir)
    # 2 processes of 64 images each per step (the global batch of 128): 5 steps, as on 2 devices.
    # Both processes test, each image once: a share of the 300 test images.
    assert metrics["global_step"] == 5 and is_share_of(metrics["test/acc"], 300)
    assert len(list(tmp_path.glob("**/metrics.json"))) == 1
