"""Sweep summary: after each job of a multirun (grid, Optuna, any launcher), `summary.csv` and
`summary.md` in the sweep folder list every job: overrides, metrics, epochs, wall time, status.
Jobs that differ only in `seed` or `data.fold` are also summarised per configuration as
mean ± std (n)."""

from __future__ import annotations

import csv
import io
import json
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


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def _job_order(job_dir: Path) -> tuple[int, str]:
    return (int(job_dir.name), "") if job_dir.name.isdigit() else (1 << 30, job_dir.name)


def summary_rows(sweep_dir: Path, metrics: Sequence[str]) -> list[dict[str, Any]]:
    """One row per job folder under `sweep_dir` (a folder holding `.hydra/` or `job.json`)."""
    job_dirs = {path.parent.parent for path in sweep_dir.glob("**/.hydra/overrides.yaml")}
    job_dirs |= {path.parent for path in sweep_dir.glob(f"**/{JOB_FILE}")}
    rows = []
    for job_dir in sorted(job_dirs, key=_job_order):
        job, results = _read_json(job_dir / JOB_FILE), _read_json(job_dir / "metrics.json")
        rows.append(
            {
                "job": str(job_dir.relative_to(sweep_dir)),
                "overrides": " ".join(
                    o for o in job.get("overrides", []) if not o.startswith(_TRIAL_KEY)
                ),
                **{name: results.get(name, "") for name in metrics},
                "epochs": results.get("epochs", ""),
                "wall_time_s": job.get("wall_time_s", ""),
                # No job.json yet: the job is still running, or was killed before it ended.
                "status": job.get("status", "running or killed"),
                "error": job.get("error", ""),
            }
        )
    return rows


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def repeat_rows(rows: list[dict[str, Any]], metrics: Sequence[str]) -> list[dict[str, Any]]:
    """Per configuration (the overrides less seed and data.fold) run two or more times:
    `mean ± std (n)` of each metric over its completed jobs. Empty when nothing repeats."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        overrides = row["overrides"].split()
        kept = [o for o in overrides if _key(o) not in REPEAT_KEYS]
        if len(kept) < len(overrides):
            groups.setdefault(" ".join(kept), []).append(row)
    summary = []
    for overrides, group in groups.items():
        if len(group) < 2:
            continue
        done = [row for row in group if row["status"] == "completed"]
        row = {"job": "mean ± std (n)", "overrides": overrides}
        for name in metrics:
            values = [float(r[name]) for r in done if r[name] != ""]
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            if values:
                row[name] = f"{statistics.fmean(values):.4f} ± {std:.4f} ({len(values)})"
            else:
                row[name] = ""
        row |= {"epochs": "", "wall_time_s": "", "error": ""}
        row["status"] = f"{len(done)} of {len(group)} completed"
        summary.append(row)
    return summary


def _cell(value: Any) -> str:
    text = f"{value:.4f}" if isinstance(value, float) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no jobs)\n"
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(_cell(row[key]) for key in header) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_summary(sweep_dir: Path, metrics: Sequence[str]) -> list[dict[str, Any]]:
    """(Re)write `summary.csv` and `summary.md` in `sweep_dir` from its job folders."""
    rows = summary_rows(sweep_dir, metrics)
    rows += repeat_rows(rows, metrics)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["job"])
    writer.writeheader()
    writer.writerows(rows)
    write_text(sweep_dir / "summary.csv", buffer.getvalue())
    write_text(sweep_dir / "summary.md", markdown_table(rows))
    return rows


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
        rows = write_summary(sweep_dir, self.metrics)
        print(f"\nSweep summary ({sweep_dir / 'summary.md'}):\n{markdown_table(rows)}")
