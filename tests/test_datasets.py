"""data=fashion_mnist and data=kmnist, with their class names."""

import pytest

from mnist_cnn.inference import load_classifier
from mnist_cnn.train import train
from tests.fixtures import compose_config, is_share_of, synthetic_digits, write_dataset


@pytest.mark.parametrize(
    ("option", "folder", "first_names"),
    [
        ("fashion_mnist", "FashionMNIST", ["T-shirt/top", "Trouser"]),
        ("kmnist", "KMNIST", ["o", "ki"]),
    ],
)
def test_other_mnist_format_datasets_train_and_name_their_classes(
    option, folder, first_names, tmp_path
):
    data_dir = write_dataset(
        tmp_path / "data", synthetic_digits(300), synthetic_digits(100, seed=1), dataset=folder
    )
    overrides = [
        f"data={option}", f"data.data_dir={data_dir}", "data.download=false", "data.batch_size=64",
        "trainer.accelerator=cpu", "trainer.max_epochs=1", "logger=none",
    ]  # fmt: skip
    cfg = compose_config("train", overrides, tmp_path / "run")
    assert cfg.data.dataset == folder and list(cfg.data.class_names[:2]) == first_names
    summary = train(cfg)
    # 100 test images in batches of 64 and 36.
    assert is_share_of(summary["test/acc"], 100) and (tmp_path / "run" / "mistakes.png").is_file()
    classify = load_classifier(summary["best_checkpoint"])
    (result,) = classify(synthetic_digits(1)[0])
    assert classify.class_names[:2] == first_names and result.prediction in classify.class_names
