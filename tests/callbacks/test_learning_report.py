"""See what it learned: run-folder PNGs and TensorBoard figures and HParams after test."""

import torch
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from mnist_cnn.callbacks import LearningReport
from mnist_cnn.report.plots import confusion_matrix_figure, curves_figure


def test_run_folder_holds_three_valid_pngs(trained_run):
    run_dir, _ = trained_run
    for name in ("confusion_matrix", "mistakes", "curves"):
        with Image.open(run_dir / f"{name}.png") as image:
            image.verify()  # raises on a damaged file
            assert image.format == "PNG" and min(image.size) >= 100, (name, image.size)


def test_tensorboard_has_the_figures_and_hparams_with_final_metrics(trained_run):
    run_dir, metrics = trained_run
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    assert {"test/confusion_matrix", "test/mistakes", "test/curves"} <= set(events.Tags()["images"])
    session = plugin_data_pb2.HParamsPluginData.FromString(
        events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    ).session_start_info
    assert session.hparams["data/batch_size"].number_value == 32
    (final_acc,) = events.Scalars("final/test/acc")
    assert abs(final_acc.value - metrics["test/acc"]) < 1e-6
    assert "final/val/acc_best" in events.Tags()["scalars"]


def test_curves_come_from_each_epochs_train_and_val_metrics():
    figure = curves_figure([
        {"epoch": 1, "train/loss": 2.0, "val/loss": 1.5, "train/acc": 0.3, "val/acc": 0.5},
        {"epoch": 2, "train/loss": 1.0, "val/loss": 0.9, "train/acc": 0.7, "val/acc": 0.8},
    ])  # fmt: skip
    loss_axes, acc_axes = figure.axes
    train_loss, val_loss = loss_axes.get_lines()
    assert list(train_loss.get_ydata()) == [2.0, 1.0] and list(val_loss.get_xdata()) == [1, 2]
    assert [line.get_label() for line in acc_axes.get_lines()] == ["train", "val"]


class _Counts:
    def update(self, *args):
        pass


def test_mistakes_keep_only_the_most_confidently_wrong(tmp_path):
    report = LearningReport(str(tmp_path), mistakes=2)
    report.worst, report.confusion = [torch.empty(0)] * 4, _Counts()
    images = torch.rand(4, 1, 28, 28)
    labels = torch.tensor([0, 1, 2, 3])
    logits = torch.tensor([[9.0, 0, 0], [0, 0, 9.0], [5.0, 0, 0], [0, 3.0, 0]])  # 0 right, 3 wrong

    report.on_test_batch_end(None, None, logits, (images, labels), 0)  # test_step's logits
    confidences, kept_images, kept_labels, predictions = report.worst
    assert kept_labels.tolist() == [1, 2] and predictions.tolist() == [2, 0]
    assert torch.equal(kept_images, images[[1, 2]]) and confidences[0] > confidences[1]


def test_the_confusion_matrix_writes_each_count_and_separates_1_from_30():
    counts = torch.tensor([[980, 1, 0], [30, 1100, 2], [0, 0, 1000]])
    figure = confusion_matrix_figure(counts, ["0", "1", "2"])
    axes, _colorbar = figure.axes
    written = {(t.get_position(), t.get_text()) for t in axes.texts}
    assert ((0, 1), "30") in written and ((1, 0), "1") in written and ((2, 2), "1,000") in written
    assert len(written) == 6  # the three empty cells are left blank
    (image,) = axes.get_images()
    one, thirty, most = image.norm([1, 30, 1100])
    assert thirty - one > 0.4 and most - thirty < 0.6  # log scale: 30 stands out from 1
    assert all(label.get_rotation() == 0 for label in axes.get_yticklabels())
    assert axes.get_title() == "Test confusion matrix (3,113 images)"
