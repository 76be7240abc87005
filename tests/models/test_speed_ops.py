"""The speed changes keep the recipe's numbers: fused Adam, per-step schedules."""

import pytest
import torch

from mnist_cnn.models import MnistCNN
from mnist_cnn.models.module import KERAS_ADAM, MnistLitModule


def _trained_weights(optimizer_factory, steps: int = 30) -> torch.Tensor:
    torch.manual_seed(0)
    net = MnistCNN(dropout=0.0)
    optimizer = optimizer_factory(net.parameters())
    generator = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x = torch.rand(16, 1, 28, 28, generator=generator)
        y = torch.randint(0, 10, (16,), generator=generator)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        optimizer.step()
    return torch.cat([p.detach().flatten() for p in net.parameters()])


def test_fused_adam_takes_the_same_steps_as_the_per_tensor_loop():
    assert KERAS_ADAM.keywords == {"lr": 1e-3, "fused": True}
    fused = _trained_weights(KERAS_ADAM)
    plain = _trained_weights(lambda params: torch.optim.Adam(params, lr=1e-3, foreach=False))
    assert not torch.equal(fused, _trained_weights(lambda p: torch.optim.Adam(p, lr=2e-3)))
    # One kernel instead of eight changes only float rounding, not the update.
    torch.testing.assert_close(fused, plain, rtol=0, atol=1e-5)


def test_a_step_schedule_is_told_the_runs_length():
    module = MnistLitModule(
        MnistCNN(),
        scheduler=lambda opt, total_steps: torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=0.01, total_steps=total_steps
        ),
        scheduler_interval="step",
    )
    module.trainer = type("T", (), {"estimated_stepping_batches": 844})()  # what fit computes
    config = module.configure_optimizers()
    assert config["lr_scheduler"]["interval"] == "step"
    assert config["lr_scheduler"]["scheduler"].total_steps == 844


def test_an_unknown_scheduler_interval_is_refused():
    with pytest.raises(ValueError, match="scheduler_interval='batch'"):
        MnistLitModule(MnistCNN(), scheduler_interval="batch")
