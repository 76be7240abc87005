"""Sweep summary: per-job rows with the overrides that vary (the shared ones once, above), 4
significant digits, and mean ± std (n) per configuration over seeds or folds."""

import json
import statistics

from mnist_cnn.sweep_summary import write_summary
from tests.fixtures import summary_rows

METRICS = ["val/acc_best", "test/acc"]


def _job(sweep_dir, number, overrides, status="completed", **metrics):
    job_dir = sweep_dir / str(number)
    job_dir.mkdir(parents=True)
    job = {"status": status, "overrides": overrides, "wall_time_s": 1.0, "error": ""}
    (job_dir / "job.json").write_text(json.dumps(job))
    if metrics:
        (job_dir / "metrics.json").write_text(json.dumps({**metrics, "epochs": 2}))


def test_repeats_over_folds_and_seeds_are_summarised_per_configuration(tmp_path):
    val = {"lr=0.001": [0.91, 0.95, 0.90], "lr=0.01": [0.5, 0.7]}
    number = 0
    for lr, values in val.items():
        for fold, value in enumerate(values):
            overrides = [lr, f"data.fold={fold}", "seed=1"]
            _job(tmp_path, number, overrides, **{"val/acc_best": value, "test/acc": value - 0.1})
            number += 1
    _job(tmp_path, number, ["lr=0.01", "data.fold=2", "seed=1"], status="failed")
    _job(tmp_path, number + 1, ["lr=0.01", "data.fold=3", "seed=1"], status="pruned")

    write_summary(tmp_path, METRICS)
    rows = summary_rows(tmp_path)
    jobs = [row for row in rows if row["job"].isdigit()]
    repeats = {row["overrides"]: row for row in rows if not row["job"].isdigit()}
    assert len(jobs) == 7 and [row["status"] for row in jobs[-2:]] == ["failed", "pruned"]
    assert set(repeats) == {"lr=0.001", "lr=0.01"}  # seed and data.fold dropped
    for lr, values in val.items():
        row = repeats[lr]
        mean, std = statistics.fmean(values), statistics.stdev(values)
        assert row["val/acc_best"] == f"{mean:.4f} ± {std:.4f} ({len(values)})"
        test_mean = statistics.fmean(v - 0.1 for v in values)
        assert row["test/acc"].startswith(f"{test_mean:.4f} ± {std:.4f}")
    assert repeats["lr=0.01"]["status"] == "2 of 4 completed"
    assert (
        "| mean ± std (n) | lr=0.001 | 0.9200 ± 0.0265 (3) |"
        in (tmp_path / "summary.md").read_text()
    )


def test_a_sweep_without_repeats_has_only_job_rows(tmp_path):
    """One seed for every configuration: nothing to average."""
    _job(tmp_path, 0, ["lr=0.001", "seed=1"], **{"val/acc_best": 0.9, "test/acc": 0.8})
    _job(tmp_path, 1, ["lr=0.01", "seed=1"], **{"val/acc_best": 0.7, "test/acc": 0.6})
    write_summary(tmp_path, METRICS)
    assert [row["job"] for row in summary_rows(tmp_path)] == ["0", "1"]


def test_shared_overrides_are_shown_once_and_numbers_to_4_significant_digits(tmp_path):
    shared = ["hparams_search=optuna", "trainer.max_epochs=2", "++optuna_trial.number=0"]
    lrs = [0.002678978079267603, 0.00012345678]
    for number, lr in enumerate(lrs):
        overrides = [*shared, f"model.optimizer.lr={lr}", f"model.net.channels=[{number + 8},16]"]
        _job(tmp_path, number, overrides, **{"val/acc_best": 0.8500000238418579, "test/acc": 0.5})
    _job(tmp_path, 2, [])  # a job still running: no job.json overrides yet

    text = write_summary(tmp_path, METRICS)
    assert text == (tmp_path / "summary.md").read_text()
    head, table = text.split("\n\n", 1)
    assert head == "Every job: `hparams_search=optuna trainer.max_epochs=2`"  # not the trial's id
    assert "| 0 | model.optimizer.lr=0.002679 model.net.channels=[8,16] | 0.85 | 0.5 | 2 |" in table
    assert "| 1 | model.optimizer.lr=0.0001235 model.net.channels=[9,16] |" in table
    assert "max_epochs" not in table and "optuna_trial" not in table
    rows = summary_rows(tmp_path)
    assert rows[0]["overrides"] == f"model.optimizer.lr={lrs[0]} model.net.channels=[8,16]"
    assert rows[0]["val/acc_best"] == "0.8500000238418579"  # the CSV keeps every digit
