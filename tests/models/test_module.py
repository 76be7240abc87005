"""MnistLitModule's loss: Keras's label smoothing, applied the same way in every stage."""

import warnings

import pytest
import torch
import torch.nn.functional as F

from mnist_cnn.models import MnistCNN
from mnist_cnn.models.module import MnistLitModule


def test_label_smoothing_is_the_loss_of_every_stage():
    torch.manual_seed(0)
    module = MnistLitModule(MnistCNN(dropout=0.0), label_smoothing=0.1)
    images, labels = torch.rand(8, 1, 28, 28), torch.randint(0, 10, (8,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # self.log without a Trainer
        train_loss = module.training_step((images, labels), 0)
        module.validation_step((images, labels), 0)
    logits = module(images)
    smoothed = F.cross_entropy(logits, labels, label_smoothing=0.1)
    torch.testing.assert_close(train_loss, smoothed)
    torch.testing.assert_close(module.loss["val_loss"].compute(), smoothed.detach())
    assert not torch.allclose(train_loss, F.cross_entropy(logits, labels))


@pytest.mark.parametrize("value", [-0.1, 1.0])
def test_a_label_smoothing_outside_0_1_is_refused(value):
    with pytest.raises(ValueError, match=rf"model.label_smoothing={value}: must lie in \[0, 1\)"):
        MnistLitModule(MnistCNN(), label_smoothing=value)
