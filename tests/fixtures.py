"""Helpers shared by the tests (pytest fixtures live in conftest.py): real and generated MNIST
files on disk, running the launchers as a user would, and comparing runs. The writers of MNIST
files and generated digits live in the package (mnist_cnn.data), for the benchmark too."""

from __future__ import annotations

import csv
import io
import json
import logging
import runpy
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import zipfile
import zlib
from pathlib import Path

import torch

# Helpers of the package the tests use as they are, named here so that tests import from one place.
from mnist_cnn.cli import compose_config as compose_config
from mnist_cnn.data.idx import load_split
from mnist_cnn.data.idx import write_dataset as write_dataset
from mnist_cnn.data.idx import write_idx as write_idx
from mnist_cnn.data.synthetic import synthetic_digits as synthetic_digits

REPO = Path(__file__).resolve().parents[1]
# The official MNIST test set (t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, .gz or not): laid
# beside the checkout in CI and on the team's machines; a fork elsewhere points to it by setting.
T10K_DIR = REPO.parent / "shared" / "data" / "mnist-t10k"
REAL_DIGITS_ENV = "MNIST_CNN_REAL_DIGITS"
REAL_DIGITS_OPTION = "--real-digits"
NO_REAL_DIGITS = (
    f"real MNIST digits not found: set {REAL_DIGITS_ENV}=DIR or pytest {REAL_DIGITS_OPTION}=DIR "
    f"to a folder holding the t10k IDX files (default {T10K_DIR})"
)

Split = tuple[torch.Tensor, torch.Tensor]  # images (N, 1, 28, 28) uint8, labels (N,) int64


def real_digits(t10k_dir: str | Path) -> Split:
    """The official 10,000 test digits from a folder holding the t10k IDX files."""
    return load_split(t10k_dir, "test")


def run_cli(script: str, *overrides: str, cwd: Path = REPO, timeout: float = 300):
    """Run `python <script> overrides...` as a user would; return the finished process."""
    return subprocess.run(
        [sys.executable, str(REPO / script), *overrides],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_in_process(script: str, *overrides: str) -> int:
    """`python <script> overrides...` inside this process: Hydra's real command line and the
    basic launcher's jobs, without a new interpreter's 10 s of imports. Returns the exit status;
    Hydra's output goes to pytest's capture (capsys)."""
    argv, root = sys.argv, logging.getLogger()
    handlers, level = root.handlers[:], root.level
    sys.argv = [str(REPO / script), *overrides]
    try:
        runpy.run_path(str(REPO / script), run_name="__main__")
    except SystemExit as exit:
        return exit.code if isinstance(exit.code, int) else 1
    finally:
        sys.argv = argv
        for handler in set(root.handlers) - set(handlers):  # Hydra's, e.g. each job's log file
            handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
    return 0


def _measured(script: str, args: tuple[str, ...]) -> list[str]:
    """`python script args` that prints its own peak resident memory (KiB) as it exits."""
    # VmHWM belongs to the new process alone: ru_maxrss survives execve, and subprocess starts
    # children with vfork, so it would report pytest's own peak instead.
    code = (
        "import atexit, re, runpy, sys\n"
        "atexit.register(lambda: print('PEAK_KIB', re.search(r'VmHWM:\\s*(\\d+)', "
        "open('/proc/self/status').read())[1], file=sys.stderr))\n"
        f"sys.argv = {[script, *args]!r}\n"
        f"runpy.run_path({str(REPO / script)!r}, run_name='__main__')\n"
    )
    return [sys.executable, "-c", code]


def peak_kib(script: str, *args: str) -> tuple[int, str]:
    """Run a launcher as a user would, expecting it to fail; its peak memory (KiB), its output."""
    return peak_kib_all([(script, *args)])[0]


def peak_kib_all(commands: list[tuple[str, ...]]) -> list[tuple[int, str]]:
    """`peak_kib` for several launchers at once (side by side: each pays the imports)."""
    processes = [
        subprocess.Popen(
            _measured(script, tuple(args)),
            cwd=REPO,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for script, *args in commands
    ]
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode != 0, f"expected a refusal:\n{stdout}{stderr[-3000:]}"
        results.append((int(stderr.rsplit("PEAK_KIB", 1)[1].split()[0]), stdout + stderr))
    return results


def read_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


# One short epoch per sweep job: the sweep machinery is under test, not the model.
QUICK_JOB = [
    "trainer.accelerator=cpu", "trainer.max_epochs=1", "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1", "trainer.limit_test_batches=1", "logger=none",
]  # fmt: skip


def summary_rows(sweep_dir: Path) -> list[dict[str, str]]:
    """The rows of a sweep folder's summary.csv."""
    with open(sweep_dir / "summary.csv") as f:
        return list(csv.DictReader(f))


def job_dirs(sweep_dir: Path) -> list[str]:
    """The job folders of a sweep (0, 1, ...), not Hydra's or submitit's hidden ones."""
    return sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def is_share_of(accuracy: float, images: int) -> bool:
    """Whether `accuracy` is k / `images` for a whole k: each test image counted once, not a mean
    of per-batch accuracies and not an image seen twice (float32: within 1e-6)."""
    return abs(accuracy * images - round(accuracy * images)) < 1e-6 * images


# 540 training images in batches of 32: 17 steps an epoch, 51 in all; last.ckpt every 2 steps.
STEPS_PER_EPOCH = 17


def overrides(data_dir: Path, *extra: str) -> list[str]:
    """A small, deterministic CPU run."""
    return [
        f"data.data_dir={data_dir}", "data.download=false", "data.batch_size=32",
        "trainer.accelerator=cpu", "trainer.max_epochs=3", "trainer.deterministic=true",
        "seed=7", "logger=none", "callbacks.periodic_checkpoint.every_n_train_steps=2", *extra,
    ]  # fmt: skip


def train_args(data_dir: Path, run_dir: Path, *extra: str) -> list[str]:
    """Command-line overrides for the same run into `run_dir`."""
    return [*overrides(data_dir, *extra), f"hydra.run.dir={run_dir}"]


def start_train(args: list[str], log: Path) -> subprocess.Popen:
    """`python train.py args...` in the background, its stdout and stderr into `log`."""
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, str(REPO / "train.py"), *args], cwd=REPO, stdout=out, stderr=out
        )


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until `path` exists: proof that training is under way."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended (status {proc.returncode}) before {path} appeared")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"{path} did not appear within {timeout} s")
        time.sleep(0.02)


def outcome(run_dir: Path) -> dict:
    """metrics.json less what differs between two folders (paths, timings)."""
    metrics = read_metrics(run_dir)
    return {
        k: v for k, v in metrics.items() if k != "best_checkpoint" and not k.endswith("_time_s")
    }


def weights(ckpt: Path) -> dict[str, torch.Tensor]:
    return torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    different = [k for k in wa if not torch.equal(wa[k], wb[k])]
    assert not different, f"weights differ in {different}"


# Two epochs of 3 batches: enough for a per-epoch history, small enough to take seconds.
TINY = [
    "data.download=false", "trainer.accelerator=cpu", "trainer.max_epochs=2",
    "trainer.limit_train_batches=3", "trainer.limit_val_batches=2", "trainer.limit_test_batches=2",
    "callbacks.progress_bar=null",
]  # fmt: skip


def tiny_overrides(data_dir: Path, *extra: str) -> list[str]:
    return [f"data.data_dir={data_dir}", *TINY, *extra]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rest(url: str, body: dict | None = None) -> dict:
    """GET `url`, or POST `body` as JSON; the JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def zip_bytes(
    members: dict[str, tuple[bytes, int, int, int]],
    local_names: dict[str, str] | None = None,
    central_sizes: dict[str, tuple[int, int]] | None = None,
    offsets: dict[str, int] | None = None,
) -> bytes:
    """A zip archive written by hand from `name: (packed bytes, crc, unpacked size, method)`,
    so that its directory may disagree with its local headers (the overrides, by name)."""
    local_names, central_sizes, offsets = local_names or {}, central_sizes or {}, offsets or {}
    body, central = b"", b""
    for name, (packed, crc, unpacked, method) in members.items():
        offset = offsets.get(name, len(body))
        local = local_names.get(name, name).encode()
        if name not in offsets:
            body += struct.pack(
                "<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(packed), unpacked,
                len(local), 0,
            ) + local + packed  # fmt: skip
        size, unpacked = central_sizes.get(name, (len(packed), unpacked))
        central += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0, crc, size, unpacked,
            len(name), 0, 0, 0, 0, 0, offset,
        ) + name.encode()  # fmt: skip
    count = len(members)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(central), len(body), 0)
    return body + central + end


def stored(data: bytes) -> tuple[bytes, int, int, int]:
    """A `zip_bytes` member kept as it is."""
    return data, zlib.crc32(data), len(data), zipfile.ZIP_STORED


def deflated(data: bytes) -> tuple[bytes, int, int, int]:
    """A `zip_bytes` member compressed with deflate, as zip tools do."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush(), zlib.crc32(data), len(data), zipfile.ZIP_DEFLATED


def deflated_zeros(size: int) -> tuple[bytes, int, int, int]:
    """A deflate member of `size` zero bytes (a multiple of 16 MiB), built without holding them:
    one fully flushed block repeated, about 1 KB in the file per MiB unpacked."""
    chunk = bytes(16 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block, crc = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH), 0
    for _ in range(size // len(chunk)):
        crc = zlib.crc32(chunk, crc)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    return block * (size // len(chunk)) + end, crc, size, zipfile.ZIP_DEFLATED


def zip_bomb_checkpoint(source: Path, target: Path) -> Path:
    """`source` (a real checkpoint) plus two tensors of 2 GiB of zeros, re-zipped with deflate:
    a 5 MB file that torch.load would inflate to 4 GiB. The tensors are saved small (1234 and
    1235 bytes) and their sizes then raised in the pickle, so the test never holds 4 GiB."""
    checkpoint = torch.load(source, map_location="cpu", weights_only=True)
    checkpoint["padding"] = [torch.zeros(n, dtype=torch.uint8) for n in (1234, 1235)]
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    two_gib = (1 << 31).to_bytes(5, "little")  # pickle's LONG1: 5 bytes, 2**31 positive
    members = {}
    with zipfile.ZipFile(buffer) as archive:
        for entry in archive.infolist():
            data = archive.read(entry)
            if entry.filename.endswith("data.pkl"):
                for small in (1234, 1235):  # BININT2 → LONG1, in the storage and the size
                    data = data.replace(b"M" + struct.pack("<H", small), b"\x8a\x05" + two_gib)
            zeros = len(data) in (1234, 1235) and not data.strip(b"\0")
            members[entry.filename] = deflated_zeros(1 << 31) if zeros else deflated(data)
    target.write_bytes(zip_bytes(members))
    return target


def git(repo: Path, *args: str) -> str:
    """`git args` in `repo` as a test identity (no signing, whatever the machine's config); its
    output."""
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.com"]
    command = ["git", *identity, "-c", "commit.gpgsign=false", *args]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, check=True).stdout


def git_repo(root: Path) -> Path:
    """A source checkout of one commit (pyproject.toml and a module) at `root`, on branch main."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text('[project]\nname = "digits-lab"\n')
    (root / "model.py").write_text("width = 32\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root
