"""The speed changes keep the recipe's numbers: fused Adam, FastCPUDropout, per-step schedules."""

import pytest
import torch

from mnist_cnn.models import MnistCNN, MnistLitModule
from mnist_cnn.models.cnn import FastCPUDropout
from mnist_cnn.models.module import KERAS_ADAM


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


def test_fast_cpu_dropout_matches_nn_dropout_in_distribution_and_gradient():
    torch.manual_seed(0)
    x = torch.randn(512, 1600, requires_grad=True)
    out = FastCPUDropout(0.25)(x)
    kept = out != 0
    assert abs(kept.float().mean().item() - 0.75) < 0.01
    torch.testing.assert_close(out[kept], x[kept] / 0.75)
    out.sum().backward()
    torch.testing.assert_close(x.grad, kept.float() / 0.75)
    assert isinstance(FastCPUDropout(0.5), torch.nn.Dropout)  # a drop-in nn.Dropout


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


def test_the_bf16_speed_check_still_finds_torchs_private_op():
    from mnist_cnn.models.module import cpu_bf16_is_fast

    assert torch.__version__ < "3"  # the op is private: recheck it on a new major version
    assert isinstance(cpu_bf16_is_fast(torch.device("cpu")), bool)
    assert cpu_bf16_is_fast(torch.device("meta"))  # only CPUs are checked
