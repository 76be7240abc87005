"""SIGTERM or Ctrl-C during fit: stop at a batch end, save a checkpoint, say how to resume."""

from __future__ import annotations

import shlex
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L
from lightning.pytorch.utilities.exceptions import SIGTERMException

SIGNALS = (signal.SIGTERM, signal.SIGINT)
_RESUME_KEYS = ("ckpt_path=", "hydra.run.dir=")


class Interrupted(SystemExit):
    """Training stopped on a signal at a batch boundary; the exit status is 128 + the signal."""


class SaveOnInterrupt(L.Callback):
    """On SIGTERM or SIGINT during fit, stops after the current training batch (never mid-step),
    saves `<dirpath>/last.ckpt` (what `ckpt_path=last` resumes) and exits with 128 + signal.

    A second Ctrl-C aborts at once without saving; the last periodic checkpoint stays. Under DDP,
    Lightning's own SIGTERM handling (all ranks stop at the same batch) is kept.
    """

    def __init__(
        self,
        dirpath: str,
        resume_command: str = "python train.py ckpt_path=last",
        overrides: Sequence[str] = (),
    ) -> None:
        self.path = Path(dirpath) / "last.ckpt"
        # The run's own overrides, less those the resume command sets itself.
        kept = [o for o in overrides if not o.lstrip("+~").startswith(_RESUME_KEYS)]
        self.resume_command = " ".join([resume_command, *map(shlex.quote, kept)])
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}
        self._ddp = False

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._ddp = trainer.world_size > 1
        # Installed after Lightning's own SIGTERM handler, which it calls under DDP.
        self._previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
        for signum in SIGNALS:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # the second Ctrl-C: stop now
        self.signum = signum
        print(
            f"\nReceived {signal.Signals(signum).name}: stopping after this batch and saving "
            f"{self.path} (Ctrl-C again to abort without saving).",
            file=sys.stderr,
        )
        if self._ddp and callable(previous := self._previous.get(signal.SIGTERM)):
            previous(signum, frame)

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        # After the optimiser step, before this step's checkpoints: a consistent state to save.
        if self.signum is not None and not self._ddp:
            raise Interrupted(128 + self.signum)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._restore_handlers()
        if self.signum is not None and not self._ddp:
            # The signal came during the last validation: training is complete, still stop.
            raise Interrupted(128 + self.signum)

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self._restore_handlers()
        if isinstance(exception, SIGTERMException):
            exception.code = 128 + signal.SIGTERM  # Lightning's own exits with status 0
        if not isinstance(exception, (Interrupted, SIGTERMException)):
            return
        if trainer.state.fn != "fit" or (self.signum is None and not self._ddp):
            return  # not stopped by us during training (e.g. during test): nothing to save
        trainer.save_checkpoint(self.path)
        if trainer.is_global_zero:
            print(
                f"Training interrupted at epoch {trainer.current_epoch}, step "
                f"{trainer.global_step}; saved {self.path}.\nResume with:\n  {self.resume_command}",
                file=sys.stderr,
            )

    def _restore_handlers(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
