"""Print the network as Keras's `model.summary()` does, once, as training starts."""

from __future__ import annotations

import lightning as L

from mnist_cnn.models.summary import summary


class KerasSummary(L.Callback):
    """The network's Keras-style summary (mnist_cnn.models.summary) on process 0 at fit start.
    Lightning's own table instead: callbacks.model_summary._target_=lightning.pytorch.callbacks.
    ModelSummary (+callbacks.model_summary.max_depth=-1 for every module)."""

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            print(summary(pl_module.net))
