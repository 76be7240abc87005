"""Sweep summary: after each job of a multirun (grid, Optuna, any launcher), `summary.csv` and
`summary.md` in the sweep folder list every job: the overrides that vary (those all share, once
above), metrics, epochs, wall time, status. Jobs that differ only in `seed` or `data.fold` are
also summarised per configuration as mean ± std (n)."""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from mnist_cnn.atomic import write_json, write_text
from mnist_cnn.private_apis import failed_job_error

JOB_FILE = "job.json"  # written into each job folder: status, error, wall time, overrides
# Overrides that repeat one configuration (other seeds, other folds) rather than change it.
REPEAT_KEYS = ("seed", "data.fold")
# Set by the Optuna sweeper for each job; they name the trial, not the configuration.
_TRIAL_KEY = "++optuna_trial."
_FLOAT = re.compile(r"(?<==)-?\d+\.\d+(e-?\d+)?\b")  # a float an override sets


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def _job_order(job_dir: Path) -> tuple[int, str]:
    return (int(job_dir.name), "") if job_dir.name.isdigit() else (1 << 30, job_dir.name)


def summary_rows(sweep_dir: Path, metrics: Sequence[str]) -> tuple[list[str], list[dict]]:
    """The overrides every job shares; a row per job folder (`.hydra/` or `job.json` in it) under
    `sweep_dir`, with the overrides that vary."""
    job_dirs = {path.parent.parent for path in sweep_dir.glob("**/.hydra/overrides.yaml")}
    job_dirs |= {path.parent for path in sweep_dir.glob(f"**/{JOB_FILE}")}
    rows = []
    for job_dir in sorted(job_dirs, key=_job_order):
        job, results = _read_json(job_dir / JOB_FILE), _read_json(job_dir / "metrics.json")
        rows.append(
            {
                "job": str(job_dir.relative_to(sweep_dir)),
                "overrides": [o for o in job.get("overrides", []) if not o.startswith(_TRIAL_KEY)],
                **{name: results.get(name, "") for name in metrics},
                "epochs": results.get("epochs", ""),
                "wall_time_s": job.get("wall_time_s", ""),
                # No job.json yet: the job is still running, or was killed before it ended.
                "status": job.get("status", "running or killed"),
                "error": job.get("error", ""),
            }
        )
    known = [row["overrides"] for row in rows if row["overrides"]]  # none yet while running
    fixed = [o for o in known[0] if all(o in other for other in known)] if known else []
    for row in rows:
        row["overrides"] = " ".join(o for o in row["overrides"] if o not in fixed)
    return fixed, rows


def repeat_rows(rows: list[dict[str, Any]], metrics: Sequence[str]) -> list[dict[str, Any]]:
    """Per configuration (the overrides less seed and data.fold) run two or more times:
    `mean ± std (n)` of each metric over its completed jobs. Empty when nothing repeats."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        overrides = row["overrides"].split()
        kept = [o for o in overrides if o.split("=", 1)[0].lstrip("+~") not in REPEAT_KEYS]
        if len(kept) < len(overrides):
            groups.setdefault(" ".join(kept), []).append(row)
    summary = []
    for overrides, group in [(o, g) for o, g in groups.items() if len(g) > 1]:
        done = [row for row in group if row["status"] == "completed"]
        row = {"job": "mean ± std (n)", "overrides": overrides}
        for name in metrics:
            values = [float(r[name]) for r in done if r[name] != ""]
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            mean = f"{statistics.fmean(values):.4f} ± {std:.4f} ({len(values)})"
            row[name] = mean if values else ""
        status = f"{len(done)} of {len(group)} completed"
        summary.append(row | {"epochs": "", "wall_time_s": "", "status": status, "error": ""})
    return summary


def _cell(value: Any) -> str:
    """4 significant digits, also for the floats overrides set (lr=0.0026789780 as lr=0.002679)."""
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    text = _FLOAT.sub(lambda number: f"{float(number[0]):.4g}", text)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(fixed: Sequence[str], rows: list[dict[str, Any]]) -> str:
    """The overrides every job shares, then the table (4 significant digits)."""
    if not rows:
        return "(no jobs)\n"
    lines = [f"Every job: `{' '.join(fixed)}`", ""] if fixed else []
    lines += ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * len(rows[0])]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row[key]) for key in rows[0]) + " |")
    return "\n".join(lines) + "\n"


def write_summary(sweep_dir: Path, metrics: Sequence[str]) -> str:
    """(Re)write `summary.csv` (exact values) and `summary.md` (returned) from the job folders."""
    fixed, rows = summary_rows(sweep_dir, metrics)
    rows += repeat_rows(rows, metrics)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["job"])
    writer.writeheader()
    writer.writerows(rows)
    write_text(sweep_dir / "summary.csv", buffer.getvalue())
    write_text(sweep_dir / "summary.md", text := markdown(fixed, rows))
    return text


class SweepSummary(Callback):
    """Hydra callback (hydra.callbacks): keeps the sweep folder's summary up to date after every
    job, so a failed or killed job still leaves it; prints the table when the sweep ends."""

    def __init__(self, metrics: Sequence[str] = ("val/acc_best", "test/acc")) -> None:
        self.metrics = list(metrics)
        self._started = time.perf_counter()

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._started = time.perf_counter()

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if config.hydra.mode != RunMode.MULTIRUN:
            return  # single runs, and the extra processes of a DDP job
        failed = job_return.status == JobStatus.FAILED
        error = failed_job_error(job_return) if failed else None
        # optuna.TrialPruned, named rather than imported: optuna is an optional dependency.
        pruned = type(error).__name__ == "TrialPruned"
        job = {
            "status": "pruned" if pruned else "failed" if failed else "completed",
            "error": f"{type(error).__name__}: {error}" if failed else "",
            "overrides": list(config.hydra.overrides.task),
            "wall_time_s": round(time.perf_counter() - self._started, 2),
        }
        write_json(Path(config.hydra.runtime.output_dir) / JOB_FILE, job)
        write_summary(Path(config.hydra.sweep.dir), self.metrics)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        text = write_summary(sweep_dir, self.metrics)
        print(f"\nSweep summary ({sweep_dir / 'summary.md'}):\n{text}")
