"""seed=S with trainer.deterministic=true: two CPU runs write the same metrics.json and weights."""

import pytest

from mnist_cnn.train import train
from tests.fixtures import assert_same_weights, compose_config, outcome, overrides


@pytest.mark.slow
def test_two_cpu_runs_with_one_seed_agree_exactly(tiny_data_dir, reference_run, tmp_path):
    # The reference ran as its own process; this one runs inside pytest: nothing is shared.
    train(compose_config("train", overrides(tiny_data_dir), tmp_path))
    assert outcome(tmp_path) == outcome(reference_run)
    assert_same_weights(
        tmp_path / "checkpoints" / "last.ckpt", reference_run / "checkpoints" / "last.ckpt"
    )


def test_another_seed_gives_another_run(tiny_data_dir, tmp_path):
    # Guards the test above against comparing runs that ignore the seed.
    runs = []
    for seed in (7, 8):
        run_dir = tmp_path / str(seed)
        extra = ("trainer.max_epochs=1", "trainer.limit_train_batches=3", f"seed={seed}")
        runs.append(train(compose_config("train", overrides(tiny_data_dir, *extra), run_dir)))
    assert runs[0]["val/loss"] != runs[1]["val/loss"]
