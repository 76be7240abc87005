"""Stop training on a NaN or infinite loss, and never save non-finite weights over good ones."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss or weights."""


class StopOnNonFiniteLoss(L.Callback):
    """Checks the training loss every `check_every_n_steps` steps (each check waits for the device,
    so not every step on a GPU), and the weights before every checkpoint is written, so the last
    checkpoint on disk is always the last good one."""

    def __init__(self, check_every_n_steps: int = 50) -> None:
        if check_every_n_steps < 1:
            raise ValueError(
                f"callbacks.finite_loss.check_every_n_steps={check_every_n_steps}: must be >= 1."
            )
        self.check_every_n_steps = check_every_n_steps

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if trainer.global_step % self.check_every_n_steps:
            return
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if not torch.isfinite(loss).item():
            raise NonFiniteLossError(
                f"train/loss is {loss.item()} at step {trainer.global_step} (epoch "
                f"{trainer.current_epoch}): training stopped, the weights are no longer usable. "
                f"{self._advice(trainer)}"
            )

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        finite = torch.stack([torch.isfinite(p).all() for p in pl_module.parameters()]).all()
        if not finite.item():
            raise NonFiniteLossError(
                f"the weights hold NaN or infinite values at step {trainer.global_step} (epoch "
                f"{trainer.current_epoch}): training stopped without saving them. "
                f"{self._advice(trainer)}"
            )

    @staticmethod
    def _advice(trainer: L.Trainer) -> str:
        saved = [getattr(cb, "last_model_path", "") for cb in trainer.checkpoint_callbacks]
        last = next((path for path in saved if path), "none saved yet")
        return (
            f"The last good checkpoint is kept ({last}). Lower model.optimizer.lr or check the "
            f"data, then resume from it (ckpt_path=...) or start afresh."
        )
