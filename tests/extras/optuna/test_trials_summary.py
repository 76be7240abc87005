"""An Optuna search's trials land in the sweep's summary, and its study outside the sweep."""

import pytest
from omegaconf import OmegaConf

from tests.fixtures import QUICK_JOB, run_cli, summary_rows


@pytest.mark.slow
def test_optuna_trials_land_in_the_summary(tiny_data_dir, tmp_path):
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        "train.py", "-m", "hparams_search=optuna", "hydra.sweeper.n_trials=3",
        "hydra.sweeper.sampler.n_startup_trials=2", f"data.data_dir={tiny_data_dir}", *QUICK_JOB,
        f"hydra.sweep.dir={sweep_dir}", f"paths.log_dir={tmp_path}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = summary_rows(sweep_dir)
    assert len(rows) == 3 and all(row["status"] == "completed" for row in rows)
    # The generic space, and the network's own (conf/hparams_search/search_space/keras_cnn.yaml):
    # in each row, or above the table when all three trials drew the same value.
    shared = (sweep_dir / "summary.md").read_text().split("\n", 1)[0]
    for key in ("model.optimizer.lr=", "data.batch_size=", "model.net.dropout="):
        assert all(key in row["overrides"] for row in rows) or key in shared
    assert not any("++optuna_trial." in row["overrides"] for row in rows)  # the trial's id
    # The study persists outside the sweep folder: outputs/optuna/<task>_<model>.db by default.
    assert (tmp_path / "optuna" / "train_keras_cnn.db").is_file()
    best = OmegaConf.load(sweep_dir / "optimization_results.yaml").best_value
    assert best == pytest.approx(max(float(row["val/acc_best"]) for row in rows))
