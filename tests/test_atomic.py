"""No lost results: writes are atomic (write, fsync, rename) and run folders are never shared."""

import os
import subprocess
import sys

import pytest
import torch

import mnist_cnn.checkpoint
from mnist_cnn.checkpoint import SafeCheckpointIO
from mnist_cnn.cli import unique_dir
from mnist_cnn.train import train
from tests.fixtures import compose_config, overrides

# Killed after the new data is written to the temporary file, before the rename.
_KILL_BEFORE_RENAME = """
import os, signal, sys
from mnist_cnn import atomic as io
os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
(io.write_json if sys.argv[1].endswith(".json") else io.write_bytes_atomic)(sys.argv[1], {arg})
"""


@pytest.mark.parametrize(
    ("name", "new"), [("metrics.json", '{"test/acc": 0.1}'), ("last.ckpt", 'b"x" * 10**6')]
)
def test_a_process_killed_mid_write_leaves_the_old_file_whole(name, new, tmp_path):
    target = tmp_path / name
    target.write_bytes(b"the good file")
    code = _KILL_BEFORE_RENAME.format(arg=new)
    result = subprocess.run([sys.executable, "-c", code, str(target)], timeout=60)
    assert result.returncode == -9
    assert target.read_bytes() == b"the good file"
    # The half-done temporary file is hidden and matches no *.ckpt / *.json pattern.
    leftovers = [p.name for p in tmp_path.iterdir() if p != target]
    assert all(n.startswith(f".{name}.") and n.endswith(".tmp") for n in leftovers), leftovers


def test_a_failed_checkpoint_save_keeps_the_previous_one(tmp_path, monkeypatch):
    path = tmp_path / "last.ckpt"
    SafeCheckpointIO().save_checkpoint({"step": torch.tensor(1)}, path)

    def _disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", _disk_full)
    with pytest.raises(OSError, match="No space left"):
        SafeCheckpointIO().save_checkpoint({"step": torch.tensor(2)}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # no temporary file left


def test_training_writes_its_checkpoints_atomically(tiny_data_dir, tmp_path, monkeypatch):
    written = []

    def spy(path, data):
        written.append(os.path.basename(path))
        return mnist_cnn.atomic.write_bytes_atomic(path, data)

    monkeypatch.setattr(mnist_cnn.checkpoint, "write_bytes_atomic", spy)
    extra = ("trainer.max_epochs=1", "trainer.limit_train_batches=2", "test=false")
    train(compose_config("train", overrides(tiny_data_dir, *extra), tmp_path))
    assert {"last.ckpt", "epoch_000.ckpt"} <= set(written)


def test_a_taken_run_folder_name_gets_a_suffix(tmp_path):
    base = str(tmp_path / "2026-11-28_09-00-00")
    os.mkdir(f"{base}_{os.getpid()}")  # e.g. another machine, same second, same pid
    path = unique_dir.__wrapped__(base)
    assert path == f"{base}_{os.getpid()}-2" and os.path.isdir(path)


def test_two_runs_with_the_same_pid_in_the_same_second_get_two_folders(tmp_path):
    # Two processes that both report pid 4242: containers on two machines sharing a filesystem.
    base = str(tmp_path / "2026-11-28_09-00-00")
    read_end, write_end = os.pipe()
    children = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:  # child
            os.getpid = lambda: 4242
            os.write(write_end, (unique_dir.__wrapped__(base) + "\n").encode())
            os._exit(0)
        children.append(pid)
    for pid in children:
        assert os.waitpid(pid, 0)[1] == 0
    os.close(write_end)
    with os.fdopen(read_end) as f:
        folders = f.read().split()
    assert sorted(folders) == [f"{base}_4242", f"{base}_4242-2"]
