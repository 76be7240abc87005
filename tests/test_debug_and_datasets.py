"""debug=shapes, and data=fashion_mnist / data=kmnist with their class names."""

import pytest

from mnist_cnn.inference import load_classifier
from mnist_cnn.train import train
from tests.fixtures import compose_config, synthetic_digits, write_dataset


def test_debug_shapes_prints_each_layers_output_for_one_batch(tiny_data_dir, tmp_path, capsys):
    cfg = compose_config(
        "train",
        [f"data.data_dir={tiny_data_dir}", "debug=shapes", "trainer.accelerator=cpu"],
        tmp_path,
    )
    summary = train(cfg)
    lines = capsys.readouterr().out.splitlines()
    shapes = {line.split()[0]: line[line.index("(") :] for line in lines if "(128," in line}
    assert shapes["input"] == "(128, 1, 28, 28)"
    assert shapes["net.features.0"] == "(128, 32, 26, 26)"
    assert shapes["net.features.5"] == "(128, 64, 5, 5)"
    assert shapes["net.classifier.0"] == "(128, 1600)" and shapes["net.classifier.2"] == "(128, 10)"
    assert summary["global_step"] == 1 and "test/acc" not in summary  # one batch, then stop
    assert len([line for line in lines if line.startswith("net.features.0 ")]) == 1


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
    assert 0.0 <= summary["test/acc"] <= 1.0 and (tmp_path / "run" / "mistakes.png").is_file()
    classify = load_classifier(summary["best_checkpoint"])
    (result,) = classify(synthetic_digits(1)[0])
    assert classify.class_names[:2] == first_names and result.prediction in classify.class_names
