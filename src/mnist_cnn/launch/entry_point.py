"""What every command (train, eval, predict, export) does around its Hydra main: a console that
shows our output, not library chatter, and errors the user can fix shown as their message alone.

`@entry_point("train")` on `task(cfg)` gives the command's `main()`. An expected error (missing
or corrupt data, a bad checkpoint, a bad config value, an unreachable tracker) prints just its
message and exits with status 1; `HYDRA_FULL_ERROR=1` prints the whole traceback, as for any
Hydra error.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import hydra
from hydra.errors import CompactHydraException, InstantiationException
from lightning.pytorch.utilities import rank_zero_only
from lightning.pytorch.utilities.exceptions import MisconfigurationException
from omegaconf import DictConfig

from mnist_cnn.launch.config import CONFIG_DIR
from mnist_cnn.launch.run_dirs import register_resolvers
from mnist_cnn.utils.failed_run import marked_if_failed

Result = TypeVar("Result")

# What our code raises for faults the user can fix (every such message names the value and the
# fix): ValueError for bad values, corrupt files and bad checkpoints; OSError for missing files,
# full disks and unreachable servers (ConnectionError is an OSError); FloatingPointError for a
# diverged run (NonFiniteLossError); MisconfigurationException for Lightning's own config checks.
EXPECTED_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    OSError,
    FloatingPointError,
    MisconfigurationException,
)


class UserError(CompactHydraException):
    """An expected error, re-raised so that Hydra prints its message without a traceback
    (Hydra's rule for CompactHydraException); the original error is its `__cause__`."""


def expected_error(error: BaseException) -> BaseException | None:
    """The error to show the user as a message, or None for a bug (shown with its traceback)."""
    if isinstance(error, InstantiationException) and error.__cause__ is not None:
        error = error.__cause__  # a constructor's own check, e.g. data.batch_size=0
    return error if isinstance(error, EXPECTED_ERRORS) else None


def brief_errors(task: Callable[[DictConfig], Result]) -> Callable[[DictConfig], Result]:
    """`task` with expected errors turned into `UserError`: one message, no traceback. A failed
    run's folder is marked (FAILED.txt). In a multirun the job is still recorded as failed, with
    that message, and the sweep goes on."""

    @functools.wraps(task)
    def run(cfg: DictConfig) -> Result:
        try:
            with marked_if_failed(cfg.paths.output_dir):
                return task(cfg)
        except Exception as error:
            expected = expected_error(error)
            if expected is None:
                raise
            raise UserError(str(expected)) from error

    return run


class _DropTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("💡 Tip:")


_DROP_TIPS = _DropTips()


def quiet_libraries() -> None:
    """Silence the two library messages that say nothing about this run (checked with
    Lightning 2.6.6 and torch 2.14.1); everything else Lightning says is kept."""
    # Lightning 2.6 advertises its cloud services on every fit ("💡 Tip: ... litlogger",
    # "... litmodels"), with no setting to turn that off; its other messages stay.
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logging.getLogger(name).addFilter(_DROP_TIPS)
    # torch 2.14 deprecates LeafSpec, which Lightning 2.6.6 builds on every batch transfer.
    warnings.filterwarnings("ignore", r"`isinstance\(treespec, LeafSpec\)` is deprecated")


def entry_point(config_name: str) -> Callable[[Callable[[DictConfig], Any]], Callable[[], None]]:
    """Decorate `task(cfg)` into the command's `main()`: quiet libraries, our resolvers, then
    Hydra's main with `conf/<config_name>.yaml` around `brief_errors(task)`."""

    def decorate(task: Callable[[DictConfig], Any]) -> Callable[[], None]:
        hydra_main = hydra.main(
            version_base="1.3", config_path=str(CONFIG_DIR), config_name=config_name
        )(brief_errors(task))

        def main() -> None:
            quiet_libraries()
            register_resolvers()
            hydra_main()

        main.__doc__ = f"Console script and launcher of `{config_name}`: {task.__doc__}"
        return main

    return decorate


@rank_zero_only
def print_results(results: dict[str, Any], run_dir: str | Path) -> None:
    """The final results as a two-column table, then the run folder (process 0 only)."""
    width = max(len(key) for key in results)
    print("\nResults (also in metrics.json):")
    for key, value in results.items():
        print(f"  {key:<{width}}  {f'{value:.4g}' if isinstance(value, float) else value}")
    print(f"Run folder: {Path(run_dir).resolve()}")
