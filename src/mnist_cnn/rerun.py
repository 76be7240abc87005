"""`python train.py rerun=<run folder or checkpoint>`: the original's config and overrides again,
into a new run folder, once the code is checked to be the same; then each metric and the weights
compared with the original's, in `rerun.json` and on screen."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from mnist_cnn.atomic import write_json, write_text
from mnist_cnn.checkpoint import read_checkpoint
from mnist_cnn.cli import compose_config, print_results
from mnist_cnn.provenance import PROVENANCE_KEY, RECORD_FILE, code_state, validate_record

# What must match for two runs of one config and seed to agree bit for bit.
BITWISE = ("torch", "device", "devices", "cpu_capability", "threads", "cuda", "cudnn")
OWN = ("hydra.", "hydra/", "rerun=", "allow_code_change=")  # where a run goes; a rerun's own


def rerun(cfg: DictConfig, train: Callable[[DictConfig], dict[str, Any]]) -> dict[str, Any]:
    """Check the code, `train` the original's config into this run's folder, compare, print."""
    source, out = Path(cfg.rerun), Path(cfg.paths.output_dir)
    record, metrics, checkpoints = original(source)
    changes = code_changes(record["code"], code_state()[0])
    if changes and not cfg.allow_code_change:
        commit = record["code"]["commit"] or "(none recorded)"
        raise ValueError(
            f"rerun={source}: the code is not the original run's:\n  " + "\n  ".join(changes)
            + f"\nRerun in a clean checkout of commit {commit}, or add allow_code_change=true "
            "to rerun anyway (recorded in rerun.json and provenance.json)."
        )  # fmt: skip
    # The original's overrides, then this command's (e.g. data.data_dir on another machine).
    kept = [o for o in record["command"]["overrides"] if not o.startswith(OWN)]
    asked = [o for o in HydraConfig.get().overrides.task if not o.startswith(OWN[:2])]
    again = compose_config("train", kept + asked, out)
    if (out / ".hydra").is_dir():  # Hydra saved the config of `rerun=...`, not the one run
        write_text(out / ".hydra" / "config.yaml", OmegaConf.to_yaml(again))
    summary = train(again)
    now = validate_record(_json(out / RECORD_FILE), str(out / RECORD_FILE))
    weights = {name: same_weights(path, out / "checkpoints" / name, summary)
               for name, path in checkpoints.items()}  # fmt: skip
    result = compare(record, now, metrics, summary, weights, again.trainer.deterministic)
    result |= {"original": str(source.resolve()), "allow_code_change": cfg.allow_code_change}
    if rank_zero_only.rank == 0:
        write_json(out / "rerun.json", result)
        print_results(summary, out)
        report(source, result)
    return summary


def original(source: Path) -> tuple[dict[str, Any], dict[str, float], dict[str, Path]]:
    """The record, metrics and checkpoints of a run folder, or of one checkpoint (with the
    metrics of its run folder, if it is still in one)."""
    if source.is_dir():
        if not (source / RECORD_FILE).is_file():
            raise FileNotFoundError(
                f"rerun={source}: no {RECORD_FILE} there: not a run folder, or one written before "
                f"mnist-cnn recorded provenance (its overrides are in .hydra/overrides.yaml)."
            )
        record = validate_record(_json(source / RECORD_FILE), f"rerun={source}")
        run_dir, checkpoints = source, sorted(source.glob("checkpoints/*.ckpt"))
    else:
        record = read_checkpoint(source, "rerun").get(PROVENANCE_KEY)
        if record is None:
            raise ValueError(
                f"rerun={source}: the checkpoint holds no provenance record (written before "
                f"mnist-cnn recorded one, or imported), so its code and command are unknown."
            )
        run_dir = source.parent.parent if source.parent.name == "checkpoints" else None
        checkpoints = [source]
    file = run_dir / "metrics.json" if run_dir else None
    found = _json(file) if file and file.is_file() else {}
    metrics = found.items() if isinstance(found, dict) else ()  # data: numbers only, as written
    numbers = {
        k: v for k, v in metrics if k.startswith(("val/", "test/")) and type(v) in (int, float)
    }
    return record, numbers, {path.name: path for path in checkpoints}


def code_changes(then: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """How the code here differs from a record's; empty when both are one clean commit."""
    changes = [] if now["commit"] else [f"the code here cannot be checked: {now['note']}"]
    if now["commit"] and then["commit"] != now["commit"]:
        changes.append(f"commit {then['commit'] or then['note']} then, {now['commit']} now")
    if then["package_version"] != now["package_version"]:
        changes.append(f"version {then['package_version']} then, {now['package_version']} now")
    for when, code in (("then", then), ("now", now)):
        if code["dirty"]:
            names = ", ".join(code["untracked"][:5])
            untracked = f"; untracked: {names}" if names else ""
            sha = code["diff_sha256"] or "-"
            changes.append(f"uncommitted changes {when} (diff {sha[:12]}{untracked})")
    return changes


def same_weights(original: Path, rerun: Path, summary: dict[str, Any]) -> bool:
    """Whether two checkpoints hold the same tensors, bit for bit and of one dtype (for a
    checkpoint renamed since its run, the rerun's best one)."""
    if not rerun.is_file():
        rerun = Path(summary.get("best_checkpoint") or rerun)
    if not rerun.is_file():  # e.g. callbacks=none: nothing saved
        return False
    a, b = (read_checkpoint(path, "rerun")["state_dict"] for path in (original, rerun))
    tensors = all(isinstance(t, torch.Tensor) for t in (*a.values(), *b.values()))
    same = tensors and a.keys() == b.keys()
    return same and all(a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]) for k in a)


def compare(
    then: dict, now: dict, metrics: dict, summary: dict, weights: dict, deterministic: bool
) -> dict[str, Any]:
    """Each metric then and now, the weights, and whether the rerun reproduced the original; where
    it could not agree bit for bit (code, torch, device, free GPU kernels), why."""
    env = then["environment"], now["environment"]
    reasons = code_changes(then["code"], now["code"]) + [
        f"{key} {env[0].get(key)} then, {env[1].get(key)} now"
        for key in BITWISE
        if env[0].get(key) != env[1].get(key)
    ]
    if "cuda" in str(env[1]["device"]) and not deterministic:
        reasons.append("GPU kernels chosen freely (trainer.deterministic=false)")
    rows = {k: {"original": v, "rerun": summary.get(k), "difference": _minus(summary.get(k), v)}
            for k, v in metrics.items()}  # fmt: skip
    same = all(row["difference"] == 0 for row in rows.values()) and all(weights.values())
    verdict = (
        "reproduced: every metric equal" + ", weights bit-identical" * bool(weights)
        if same
        else f"not comparable bit for bit: {'; '.join(reasons)}"
        if reasons
        else "NOT reproduced, although the code, environment and device are the same"
    )
    return {"metrics": rows, "weights_identical": weights, "not_comparable_because": reasons,
            "reproduced": same, "verdict": verdict}  # fmt: skip


def report(source: Path, result: dict[str, Any]) -> None:
    """The comparison as a table, then the verdict."""
    print(f"\nRerun of {source} (also in rerun.json):")
    print(f"  {'metric':<14}{'original':>12}{'rerun':>12}{'difference':>12}")
    for key, row in result["metrics"].items():
        print(
            f"  {key:<14}"
            + "".join(f"{_g(row[k]):>12}" for k in ("original", "rerun", "difference"))
        )
    weights = result["weights_identical"].items()
    shown = ", ".join(f"{name} {'bit-identical' if same else 'differ'}" for name, same in weights)
    print(f"  {'weights':<14}{shown or 'no checkpoint to compare'}\n{result['verdict']}")


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except ValueError as err:
        raise ValueError(f"rerun: {path} is not the JSON mnist-cnn wrote ({err}).") from None


def _minus(b: Any, a: Any) -> float | None:
    return b - a if type(b) in (int, float) else None


def _g(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, (int, float)) else "-"
