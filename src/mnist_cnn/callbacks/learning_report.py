"""See what the model learned: confusion matrix, worst mistakes, curves and final HParams."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from matplotlib.figure import Figure
from torchmetrics.classification import MulticlassConfusionMatrix

from mnist_cnn.models.module import scalars
from mnist_cnn.report.plots import confusion_matrix_figure, curves_figure, mistakes_figure
from mnist_cnn.tracking import tell_trackers

CURVE_KEYS = ("train/loss", "train/acc", "val/loss", "val/acc")


class LearningReport(L.Callback):
    """Records per-epoch train/val metrics during fit; after test writes confusion_matrix.png,
    mistakes.png and curves.png into `output_dir` and logs them to every tracker (TensorBoard,
    MLflow, W&B), and the final metrics to TensorBoard's HParams tab.

    Under DDP the confusion matrix covers every process; the mistakes come from rank 0's share.
    """

    def __init__(self, output_dir: str, mistakes: int = 32) -> None:
        if mistakes <= 0:
            raise ValueError(
                f"callbacks.learning_report.mistakes={mistakes}: must be > 0, e.g. 32."
            )
        self.output_dir = Path(output_dir)
        self.mistakes = mistakes
        self.history: list[dict[str, float]] = []
        self._epoch_running = False
        self.fit_metrics: dict[str, float] = {}

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # The module logs its training metrics in its own on_train_epoch_end, which Lightning
        # calls after this callback's: an epoch's row is complete once the next one starts.
        self._record_finished_epoch(trainer)
        self._epoch_running = True

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._record_finished_epoch(trainer)

    def _record_finished_epoch(self, trainer: L.Trainer) -> None:
        if not self._epoch_running:  # none yet in this process (a resumed run starts here)
            return
        metrics = trainer.callback_metrics
        row = {key: float(metrics[key]) for key in CURVE_KEYS if key in metrics}
        self.history.append({"epoch": trainer.current_epoch, **row})  # 1-based: the one done
        self._epoch_running = False

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # trainer.test clears callback_metrics; keep val/acc_best and co. for the HParams tab.
        self.fit_metrics = scalars(trainer.callback_metrics, "val/")

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.class_names: list[str] = trainer.datamodule.class_names
        self.confusion = MulticlassConfusionMatrix(len(self.class_names)).to(pl_module.device)
        # The most confidently wrong so far: confidence (K,), images, labels, predictions.
        self.worst: list[torch.Tensor] = [torch.empty(0)] * 4

    def on_test_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: torch.Tensor,
        batch: tuple[torch.Tensor, torch.Tensor],
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        images, labels = batch  # images already float in [0, 1] (on_after_batch_transfer)
        confidences, predictions = outputs.softmax(dim=1).max(dim=1)  # test_step's logits
        self.confusion.update(predictions, labels)
        wrong = predictions != labels
        candidates = [confidences[wrong], images[wrong], labels[wrong], predictions[wrong]]
        merged = [
            torch.cat([kept.to(new), new]) if kept.numel() else new
            for kept, new in zip(self.worst, candidates, strict=True)
        ]
        top = merged[0].topk(min(self.mistakes, len(merged[0]))).indices
        self.worst = [tensor[top].detach() for tensor in merged]

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        counts = self.confusion.compute()  # all-reduced: every process must call it
        if not trainer.is_global_zero:
            return
        figures = {"confusion_matrix": confusion_matrix_figure(counts, self.class_names)}
        confidences, images, labels, predictions = self.worst
        if len(confidences):
            figures["mistakes"] = mistakes_figure(
                images, labels, predictions, confidences, self.class_names
            )
        if self.history:
            figures["curves"] = curves_figure(self.history)
        for name, figure in figures.items():
            self._save(trainer, name, figure)

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # The HParams tab pairs the run's config with its final metrics.
        results = {**self.fit_metrics, **scalars(trainer.callback_metrics, "test/")}
        final = {f"final/{key}": value for key, value in results.items()}
        for logger in _tensorboards(trainer):
            logger.log_hyperparams(logger.hparams, metrics=final)

    def _save(self, trainer: L.Trainer, name: str, figure: Figure) -> None:
        self.output_dir.mkdir(parents=True, exist_ok=True)
        png = self.output_dir / f"{name}.png"
        figure.savefig(png, dpi=100)
        for logger in _tensorboards(trainer):
            logger.experiment.add_figure(f"test/{name}", figure, global_step=trainer.global_step)
        tell_trackers(trainer.loggers, "log_figure", name, figure, png, trainer.global_step)


def _tensorboards(trainer: L.Trainer) -> list[TensorBoardLogger]:
    return [logger for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)]
