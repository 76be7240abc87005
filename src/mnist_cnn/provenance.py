"""What made a result: the code (commit, uncommitted diff), its template, the command, the
environment and the SHA-256 of every data file read. Written as plain data into each run folder
(`provenance.json`) and checkpoint, validated like the stored config when read back."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
import sys
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import lightning as L
from hydra.core.hydra_config import HydraConfig

from mnist_cnn.atomic import write_bytes_atomic, write_json
from mnist_cnn.data.idx import FILES, find_file
from mnist_cnn.tracking import tell_trackers

PROVENANCE_KEY = "mnist_cnn_provenance"  # the record's entry in a checkpoint
RECORD_FILE, PATCH_FILE, CACHE_FILE = "provenance.json", "uncommitted.patch", ".fingerprints.json"
MAX_PATCH_BYTES = 1 << 20  # a larger diff is not saved (patch: null); its size and SHA-256 are
ROOT = Path(__file__).resolve().parents[2]  # a source checkout's root (pyproject.toml there)
PACKAGES = ("lightning", "hydra-core", "torchmetrics", "numpy")  # and torch, with its build
_S, _I, _B = (str, type(None)), (int, type(None)), (bool, type(None))
SHAPE = {  # what every reader may rely on; the values inside are plain data only
    "version": int, "created": str,
    "code": {"package_version": _S, "commit": _S, "branch": _S, "dirty": _B, "diff_sha256": _S,
             "diff_bytes": _I, "patch": _S, "untracked": list, "note": _S},
    "template": (dict, type(None)),
    "command": {"argv": list, "overrides": list, "rerun": _S, "allow_code_change": bool},
    "environment": dict, "data": (dict, type(None)),
}  # fmt: skip
PLAIN = (str, int, float, bool, type(None), dict, list)


class ProvenanceError(ValueError):
    """A provenance record that is not the plain data of the shape mnist-cnn writes."""


def _git(root: Path, *args: str) -> bytes:
    # No optional locks: `git status` never takes the index lock from a git command you run.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, timeout=10, env=env)
    if done.returncode:
        raise subprocess.SubprocessError(done.stderr.decode(errors="replace").strip())
    return done.stdout


def code_state(root: Path | None = None) -> tuple[dict[str, Any], bytes]:
    """The commit, branch, dirty flag (tracked changes or untracked files) and SHA-256 of
    `git diff HEAD` (tracked files only; untracked ones are named), and that diff."""
    root, code = root or ROOT, dict.fromkeys(SHAPE["code"])
    code |= {"untracked": [], "package_version": _version(__package__)}
    if not (root / "pyproject.toml").is_file():
        return code | {"note": "not a source checkout (an installed package)"}, b""
    try:
        status = _git(root, "status", "--porcelain=v2", "--branch").decode(errors="replace")
        heads = dict(
            line[2:].partition(" ")[::2] for line in status.splitlines() if line[:2] == "# "
        )
        changed = [line for line in status.splitlines() if line[:1] not in ("#", "")]
        if heads.get("branch.oid", "(initial)") == "(initial)":
            return code | {"note": "a git repository without commits"}, b""
        diff = _git(root, "diff", "HEAD", "--binary") if changed else b""
    except (OSError, subprocess.SubprocessError) as err:  # no git, no repository, a timeout
        return code | {"note": (str(err) or type(err).__name__).splitlines()[0][:200]}, b""
    head, untracked = heads.get("branch.head"), [x[2:] for x in changed if x[:2] == "? "]
    code |= {"commit": heads["branch.oid"], "branch": None if head == "(detached)" else head}
    code |= {"dirty": bool(changed), "untracked": untracked[:50]}
    if diff:
        code |= {"diff_sha256": hashlib.sha256(diff).hexdigest(), "diff_bytes": len(diff)}
        code["patch"] = PATCH_FILE if len(diff) <= MAX_PATCH_BYTES else None
    return code, diff


def _version(name: str) -> str | None:
    try:
        return metadata.version(name.replace("_", "-"))
    except metadata.PackageNotFoundError:
        return None


def template(root: Path | None = None) -> dict[str, Any] | None:
    """A copier fork's template (`_src_path`) and its version (`_commit`), read as data."""
    import yaml

    try:
        answers = yaml.safe_load(((root or ROOT) / ".copier-answers.yml").read_text())
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(answers, dict):
        return None
    values = {key: answers.get(f"_{key}") for key in ("src_path", "commit")}
    return {
        k: None if v is None else str(v).replace(str(Path.home()), "~") for k, v in values.items()
    }


def environment(device: str) -> dict[str, Any]:
    """Package versions; CUDA, cuDNN and the GPUs where there are any; the CPU's instruction set
    (which kernels run) and thread count."""
    import torch

    gpu = torch.cuda.is_available()
    return {
        "python": platform.python_version(), **{name: _version(name) for name in PACKAGES},
        "torch": str(torch.__version__),  # with its build: 2.14.1+cu130 (as str, not TorchVersion)
        "cuda": torch.version.cuda if gpu else None,
        "cudnn": torch.backends.cudnn.version() if gpu else None,
        "device": device,
        "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(), "platform": platform.platform(),
    }  # fmt: skip


def fingerprints(paths: list[Path], cache_file: Path | None) -> dict[str, str]:
    """The SHA-256 of each file, by name; cached by (path, size, mtime), as MNIST is 55 MB."""
    try:  # the cache is data: only entries of the shape written are kept
        cache = {k: v for k, v in json.loads(Path(cache_file).read_text()).items()
                 if isinstance(v, str) and re.fullmatch("[0-9a-f]{64}", v)}  # fmt: skip
    except (OSError, TypeError, ValueError, AttributeError):  # none yet, or damaged: hash again
        cache = {}
    found, before = {}, len(cache)
    for path in paths:
        stat = path.stat()
        key = f"{path.resolve()} {stat.st_size} {stat.st_mtime_ns}"
        if key not in cache:
            digest = hashlib.sha256()  # hashlib.file_digest is Python 3.11+
            with path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
            cache[key] = digest.hexdigest()
        found[path.name] = cache[key]
    if len(cache) > before and cache_file is not None:
        write_json(cache_file, dict(list(cache.items())[-256:]))  # the newest 256
    return found


def data_record(datamodule: Any, splits: tuple[str, ...], cache: Path | None) -> dict | None:
    """The dataset, the SHA-256 of each file of `splits`, and how validation is split off."""
    raw_dir, hparams = getattr(datamodule, "raw_dir", None), getattr(datamodule, "hparams", {})
    if raw_dir is None:  # a data module of your own, without MNIST-format files
        return None
    files = {s: [p for n in FILES[s] if (p := find_file(Path(raw_dir), n))] for s in splits}
    split = {k: hparams.get(k) for k in ("val_fraction", "split_seed", "num_folds", "fold")}
    return {
        "dataset": hparams.get("dataset"),
        **{s: fingerprints(files[s], cache) if s in splits else {} for s in FILES},
        "validation": {"of": "train", **split} if "train" in splits else None,
    }


def make_record(
    datamodule: Any, splits: tuple[str, ...], device: Any, log_dir: str | Path | None,
    rerun: str | None = None, allow_code_change: bool = False,
) -> tuple[dict[str, Any], bytes]:  # fmt: skip
    """This process's record (its command as typed, the script without its folder) and its
    diff; data fingerprints are cached in `<log_dir>/.fingerprints.json`."""
    code, diff = code_state()
    cache = Path(log_dir) / CACHE_FILE if log_dir else None
    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    argv = [Path(sys.argv[0]).name, *sys.argv[1:]]
    record = {
        "version": 1, "created": datetime.now().astimezone().isoformat(timespec="seconds"),
        "code": code, "template": template(),
        "command": {"argv": argv, "overrides": overrides, "rerun": rerun,
                    "allow_code_change": allow_code_change},
        "environment": environment(str(device)), "data": data_record(datamodule, splits, cache),
    }  # fmt: skip
    return validate_record(record, "this run"), diff


def write_record(run_dir: str | Path, record: dict[str, Any], diff: bytes) -> None:
    """`provenance.json`, and `uncommitted.patch` when the tree is dirty and the diff small."""
    write_json(Path(run_dir) / RECORD_FILE, record)
    if record["code"]["patch"]:
        write_bytes_atomic(Path(run_dir) / PATCH_FILE, diff)


def validate_record(record: Any, where: str, shape: Any = SHAPE, path: str = "provenance") -> dict:
    """`record` if it is plain data of the record's shape, else ProvenanceError naming the key
    path. Unlike a stored config's, any string is fine: nothing is built from a record."""
    if isinstance(shape, dict):
        if not isinstance(record, dict) or set(record) != set(shape):
            found = sorted(record) if isinstance(record, dict) else type(record).__name__
            raise ProvenanceError(f"{where}: {path} must hold {sorted(shape)}, not {found}")
        for key, inner in shape.items():
            validate_record(record[key], where, inner, f"{path}.{key}")
    elif type(record) not in (shape if isinstance(shape, tuple) else (shape,)):  # no subclasses
        raise ProvenanceError(f"{where}: {path} is a {type(record).__name__}, not plain data")
    elif isinstance(record, dict) and not all(isinstance(key, str) for key in record):
        raise ProvenanceError(f"{where}: {path} has keys that are not strings")
    elif isinstance(record, (dict, list)):
        for key, value in record.items() if isinstance(record, dict) else enumerate(record):
            validate_record(value, where, PLAIN, f"{path}.{key}")
    return record


class RecordProvenance(L.Callback):
    """Writes the run's record into its folder as fit starts (a crash after that keeps it),
    hands it to the trackers (`Tracker.log_provenance`) and adds it to every checkpoint."""

    def __init__(
        self, output_dir: str, log_dir: str, rerun: str | None = None, allow_code_change=False
    ) -> None:
        self.output_dir, self.log_dir = output_dir, log_dir
        self.options = (str(rerun) if rerun else None, bool(allow_code_change))
        self.record: dict[str, Any] | None = None

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:  # the one process that writes files and checkpoints
            self.record, diff = make_record(
                trainer.datamodule, ("train", "test"), pl_module.device, self.log_dir, *self.options
            )  # fmt: skip
            write_record(self.output_dir, self.record, diff)
            tell_trackers(trainer.loggers, "log_provenance", self.record)

    def on_save_checkpoint(self, trainer: Any, pl_module: Any, checkpoint: dict) -> None:
        if self.record is not None:
            checkpoint[PROVENANCE_KEY] = self.record


def fingerprint(files: dict[str, Any] | None) -> str:
    """One short fingerprint of a split's files: their names and SHA-256 together."""
    text = "".join(f"{name} {sha}\n" for name, sha in sorted((files or {}).items()))
    return hashlib.sha256(text.encode()).hexdigest()[:12] if text else "none"


def origin(record: dict[str, Any] | None) -> str:
    """One line: when the checkpoint was trained, at which commit, on which data."""
    if record is None:
        return "checkpoint: no provenance record (from before mnist-cnn kept one, or imported)"
    code, data, when = record["code"], record["data"] or {}, record["created"][:16]
    at = code["commit"][:7] + " (+dirty)" * bool(code["dirty"]) if code["commit"] else code["note"]
    files = f"train {fingerprint(data.get('train'))}, test {fingerprint(data.get('test'))}"
    return f"checkpoint: trained {when.replace('T', ' ')} at {at}, {data.get('dataset')} {files}"


def check_test_data(then: dict[str, Any] | None, now: dict[str, Any]) -> dict[str, Any]:
    """For metrics.json: whether the test files read now differ from those the checkpoint was
    tested on (said on screen when they do); nothing when the checkpoint recorded none."""
    then, now = ((then or {}).get("data") or {}).get("test"), (now["data"] or {}).get("test")
    if not then or now is None:
        return {}
    if then != now:  # not an error: a test set may be fixed or moved on purpose
        print(
            f"NOTE: the test files differ from those the checkpoint was tested on (test data "
            f"{fingerprint(now)} now, {fingerprint(then)} then): metrics.json records it."
        )
    changed = {"test_data_changed": then != now, "test_data": fingerprint(now)}
    return changed | {"checkpoint_test_data": fingerprint(then)}
