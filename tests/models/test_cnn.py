import pytest
import torch

from mnist_cnn.models import MnistCNN


def test_default_is_the_keras_convnet():
    net = MnistCNN()
    assert sum(p.numel() for p in net.parameters()) == 34_826
    kinds = [type(m).__name__ for m in [*net.features, *net.classifier]]
    assert kinds == [
        "Conv2d", "MaxPool2d", "ReLU", "Conv2d", "MaxPool2d", "ReLU",
        "Flatten", "Dropout", "Linear",
    ]  # fmt: skip
    assert net.classifier[-1].in_features == 1600
    assert net(torch.rand(5, 1, 28, 28)).shape == (5, 10)


@pytest.mark.parametrize(
    ("kwargs", "flat"),
    [
        ({"channels": (16, 48)}, 48 * 5 * 5),
        ({"input_size": (32, 32)}, 64 * 6 * 6),
        ({"kernel_size": 5, "channels": (8, 8, 8), "input_size": (64, 64)}, 8 * 4 * 4),
    ],
)
def test_flattened_size_is_computed(kwargs, flat):
    net = MnistCNN(num_classes=7, **kwargs)
    assert net.classifier[-1].in_features == flat
    size = kwargs.get("input_size", (28, 28))
    assert net(torch.rand(2, 1, *size)).shape == (2, 7)


def test_bad_arguments_are_refused_with_the_key():
    with pytest.raises(ValueError, match=r"dropout=1\.0"):
        MnistCNN(dropout=1.0)
    with pytest.raises(ValueError, match="too small"):
        MnistCNN(input_size=(6, 6))
    with pytest.raises(ValueError, match="std"):
        MnistCNN(mean=0.1)


def test_normalisation_inside_the_net():
    torch.manual_seed(0)
    plain = MnistCNN().eval()
    normalised = MnistCNN(mean=0.5, std=2.0).eval()
    normalised.load_state_dict(plain.state_dict())
    x = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(normalised(x), plain((x - 0.5) / 2.0))


def test_keras_initialisation_by_default():
    net = MnistCNN()
    layers = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert all(torch.count_nonzero(layer.bias) == 0 for layer in layers)
    # Glorot-uniform bound for the last layer: sqrt(6 / (fan_in + fan_out)).
    bound = (6 / (1600 + 10)) ** 0.5
    assert net.classifier[-1].weight.abs().max() <= bound
    assert torch.count_nonzero(MnistCNN(keras_init=False).classifier[-1].bias) > 0


def test_pooling_before_relu_equals_the_keras_order_exactly():
    """Same outputs and same gradients as Conv → ReLU → MaxPool, the order Keras writes."""
    torch.manual_seed(0)
    net = MnistCNN().eval()
    conv1, _, _, conv2, _, _ = net.features
    keras_order = torch.nn.Sequential(
        conv1, torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        conv2, torch.nn.ReLU(), torch.nn.MaxPool2d(2), net.classifier,
    )  # fmt: skip
    x = torch.rand(16, 1, 28, 28)
    out = net(x)
    assert torch.equal(out, keras_order(x))
    grads = torch.autograd.grad(out.square().sum(), list(net.parameters()))
    keras_grads = torch.autograd.grad(keras_order(x).square().sum(), list(net.parameters()))
    for grad, keras_grad in zip(grads, keras_grads, strict=True):
        assert torch.equal(grad, keras_grad)
