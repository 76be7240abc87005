"""k-fold cross-validation: data.num_folds=K data.fold=i."""

import pytest
import torch

from mnist_cnn.data.datamodule import MnistDataModule


def _images(dataset):
    return {bytes(image.numpy()) for image in dataset.images}


def test_k_folds_partition_the_training_set_and_leave_the_test_set_alone(tiny_data_dir):
    def setup(**kwargs):
        data = MnistDataModule(str(tiny_data_dir), download=False, **kwargs)
        data.setup()
        return data

    whole = setup(val_fraction=0.1)
    everything = _images(whole.train_set) | _images(whole.val_set)
    folds = [setup(num_folds=3, fold=i) for i in range(3)]
    val_sets = [_images(data.val_set) for data in folds]
    assert sum(map(len, val_sets)) == len(everything) == 600  # 600 distinct training images
    assert set().union(*val_sets) == everything  # together: the whole training set, once
    for data, val in zip(folds, val_sets, strict=True):
        assert len(val) == 200 and not val & _images(data.train_set)  # disjoint from training
        assert torch.equal(data.test_set.images, whole.test_set.images)  # test set untouched


@pytest.mark.parametrize(("num_folds", "fold"), [(5, 5), (5, -1), (1, 0)])
def test_a_fold_out_of_range_is_refused_before_any_work(num_folds, fold):
    with pytest.raises(ValueError, match=f"data.num_folds={num_folds} data.fold={fold}"):
        MnistDataModule("nowhere", num_folds=num_folds, fold=fold)
