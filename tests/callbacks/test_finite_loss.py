"""A NaN or infinite loss stops training with a clear error; the last good checkpoint is kept."""

import pytest
import torch

from mnist_cnn.callbacks.finite_loss import NonFiniteLossError
from mnist_cnn.train import train
from tests.fixtures import compose_config, overrides

# Plain SGD with a huge learning rate: finite (huge) weights after step 1, a NaN loss at step 2.
DIVERGE = (
    "model.optimizer._target_=torch.optim.SGD", "model.optimizer.lr=1e20",
    "callbacks.periodic_checkpoint.every_n_train_steps=1",
)  # fmt: skip


@pytest.mark.parametrize(
    ("check_every", "message"),
    [
        (1, r"train/loss is nan at step 2"),
        # The loss goes unchecked: the save of the NaN weights is refused instead.
        (1000, r"weights hold NaN or infinite values at step 2"),
    ],
)
def test_non_finite_loss_stops_training_and_keeps_the_last_good_checkpoint(
    check_every, message, tiny_data_dir, tmp_path
):
    extra = (*DIVERGE, f"callbacks.finite_loss.check_every_n_steps={check_every}")
    cfg = compose_config("train", overrides(tiny_data_dir, *extra), tmp_path)
    last = tmp_path / "checkpoints" / "last.ckpt"
    with pytest.raises(NonFiniteLossError, match=message) as info:
        train(cfg)
    assert f"last good checkpoint is kept ({last})" in str(info.value)
    checkpoint = torch.load(last, weights_only=True)
    assert checkpoint["global_step"] == 1
    weights = {k: v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
    assert weights and all(torch.isfinite(v).all() for v in weights.values())
    assert not (tmp_path / "metrics.json").exists()


def test_check_interval_is_validated():
    from mnist_cnn.callbacks import StopOnNonFiniteLoss

    with pytest.raises(ValueError, match=r"check_every_n_steps=0: must be >= 1"):
        StopOnNonFiniteLoss(check_every_n_steps=0)
