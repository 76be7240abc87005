"""What every command (train, eval, predict, export) does around its Hydra main: where the
configs live, a folder of its own for each run, errors the user can fix shown as their message
alone (a failed run's folder marked FAILED.txt), and a console that shows our output, not
library chatter.

`@entry_point("train")` on `task(cfg)` gives the command's `main()`. An expected error (missing
or corrupt data, a bad checkpoint, a bad config value, an unreachable tracker) prints just its
message and exits with status 1; `HYDRA_FULL_ERROR=1` prints the whole traceback, as for any
Hydra error.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import hydra
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import CompactHydraException, ConfigCompositionException, InstantiationException
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from omegaconf.errors import MissingMandatoryValue

from mnist_cnn.atomic import write_text

_PACKAGE_DIR = Path(__file__).resolve().parent
# A wheel ships the configs inside the package; a source checkout (editable install) has ./conf.
CONFIG_DIR = (
    _PACKAGE_DIR / "conf" if (_PACKAGE_DIR / "conf").is_dir() else _PACKAGE_DIR.parents[1] / "conf"
)
FAILED_MARKER = "FAILED.txt"  # written into the run folder of a run that raised


# --- Expected errors ---------------------------------------------------------------------------
class UserError(CompactHydraException):
    """An expected error, re-raised so that Hydra prints its message without a traceback
    (Hydra's rule for CompactHydraException); the original error is its `__cause__`."""


def expected_error(error: BaseException) -> BaseException | None:
    """The error to show the user as a message, or None for a bug (shown with its traceback).

    What our code raises for faults the user can fix (every such message names the value and
    the fix): ValueError for bad values, corrupt files and bad checkpoints; OSError for missing
    files, full disks and unreachable servers (ConnectionError is an OSError);
    FloatingPointError for a diverged run; and Lightning's own config checks.
    """
    if isinstance(error, InstantiationException) and error.__cause__ is not None:
        error = error.__cause__  # a constructor's own check, e.g. data.batch_size=0
    expected: list[type] = [ValueError, OSError, FloatingPointError]
    # Lightning's MisconfigurationException, where Lightning is loaded (else none was raised).
    if exceptions := sys.modules.get("lightning.fabric.utilities.exceptions"):
        expected.append(exceptions.MisconfigurationException)
    # An optional package that is not installed (the message says what to install); a module
    # of ours that is missing is a bug.
    if isinstance(error, ModuleNotFoundError) and not (error.name or "").startswith(__package__):
        return error
    return error if isinstance(error, tuple(expected)) else None


@contextmanager
def marked_if_failed(output_dir: str | Path) -> Iterator[None]:
    """Run the body; if it raises, write FAILED.txt (the error) into `output_dir` and re-raise."""
    try:
        yield
    except (Exception, SystemExit) as err:
        # SystemExit(1) after a printed report (predict's refused inputs) is a result, not a crash.
        if not isinstance(err, SystemExit) or isinstance(err.code, str):
            write_text(Path(output_dir) / FAILED_MARKER, f"{type(err).__name__}: {err}\n")
        raise


def brief_errors(task: Callable[[DictConfig], Any], usage: str) -> Callable[[DictConfig], Any]:
    """`task` with expected errors turned into `UserError`: one message, no traceback. A failed
    run's folder is marked. In a multirun the job is still recorded as failed, with that
    message, and the sweep goes on. A required setting left out (`???`) is named with `usage`."""

    @functools.wraps(task)
    def run(cfg: DictConfig) -> Any:
        try:
            with marked_if_failed(cfg.paths.output_dir):
                return task(cfg)
        except MissingMandatoryValue as error:
            raise UserError(f"{error.full_key} is required and has no default: {usage}") from None
        except Exception as error:
            expected = expected_error(error)
            if expected is None:
                raise
            raise UserError(str(expected)) from error

    return run


def misspelt_key(config_name: str, overrides: Sequence[str]) -> str | None:
    """ "did you mean `trainer.max_epochs`?" for an override of a key the config does not have
    (Hydra would suggest adding it with `+`, which then fails inside the Trainer)."""
    overrides = [o for o in overrides if "=" in o and not o.startswith("-")]
    plain = [o for o in overrides if not o.startswith(("+", "~", "hydra."))]
    try:
        _composed(config_name, overrides)
        return None
    except ConfigCompositionException as error:
        found = re.match(r"Could not override '([\w.]+)'", str(error))
    except Exception:  # anything else: Hydra's own message says it
        return None
    if not found:
        return None
    key = found.group(1)
    try:
        config = _composed(config_name, [o for o in plain if o.split("=")[0] != key])
    except Exception:
        return None
    keys = [f"{path}.{k}" if path else k for path, node in _nodes(config) for k in node]
    close = difflib.get_close_matches(key, keys, n=1, cutoff=0.7)
    return f"{key}: no such setting; did you mean `{close[0]}`?" if close else None


def _composed(config_name: str, overrides: Sequence[str]) -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        return compose(config_name, overrides=list(overrides))


def _nodes(node: Any, path: str = "") -> Iterator[tuple[str, DictConfig]]:
    if isinstance(node, DictConfig):
        yield path, node
        for key in node:
            child = node._get_node(key)
            yield from _nodes(child, f"{path}.{key}" if path else str(key))


# --- A quiet console ---------------------------------------------------------------------------
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
    # Lightning gives these loggers a console of their own only when it is imported before
    # logging is set up; imported after Hydra's set-up (as the entry points do, to start fast)
    # it would print each line twice, through its handler and Hydra's. The console it would give:
    for name in ("lightning.pytorch", "lightning.fabric"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(logging.StreamHandler())
            logger.propagate = False


@contextmanager
def expected_lightning_warnings() -> Iterator[None]:
    """Within the block: no "does not have many workers" (batches are gathered from in-memory
    tensors on purpose; worker processes would only add IPC) and no "dataloader is not
    resumable" (the data module resumes an interrupted epoch itself; Lightning cannot tell)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        warnings.filterwarnings("ignore", ".*your dataloader is not resumable.*")
        yield


# --- Run folders -------------------------------------------------------------------------------
def launch_name() -> str | None:
    """The name shared by every process of one torchrun or srun launch, else None.

    torchrun (rendezvous id) and SLURM (job id, and step id under srun) start one process per
    device, each reading the config itself; the ids they share give one folder, and a requeued
    SLURM job finds its own folder again.
    """
    torchrun_id = os.environ.get("TORCHELASTIC_RUN_ID")
    if torchrun_id and torchrun_id != "none":  # "none": static rendezvous, no shared id
        return f"torchrun-{torchrun_id}"
    if "SLURM_NTASKS" not in os.environ:  # not in a SLURM job: spare the slow import below
        return None
    from lightning.pytorch.plugins.environments import SLURMEnvironment

    if SLURMEnvironment.detect():
        step = os.environ.get("SLURM_STEP_ID")
        return f"slurm-{SLURMEnvironment.job_id()}" + (f".{step}" if step else "")
    return None


@functools.cache  # Hydra may resolve the run folder more than once: one folder per process
def unique_dir(base: str) -> str:
    """Create and return `<base>_<pid>`, or `<base>_<pid>-2`, -3... if taken.

    mkdir is atomic, also on a shared filesystem, so two runs never share a folder: not when
    they start in the same second on two machines, nor when a process id is reused (containers
    often run every job as the same pid).
    """
    Path(base).parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, 1000):
        path = f"{base}_{os.getpid()}" + (f"-{attempt}" if attempt > 1 else "")
        try:
            os.mkdir(path)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"{base}_{os.getpid()}: 999 folders of that name exist already.")


@functools.cache
def run_dir(parent: str) -> str:
    """`<parent>/<launch name>` for torchrun and srun launches, else a new unique folder
    `<parent>/<date>_<time>_<pid>`."""
    shared = launch_name()
    if shared:
        return str(Path(parent) / shared)
    return unique_dir(f"{parent}/{datetime.now():%Y-%m-%d_%H-%M-%S}")


def sweep_dir() -> str:
    """The folder of the multirun this job belongs to, or "" for a single run (or outside
    Hydra)."""
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return ""
    # The job's folder is <sweep dir>/<job number>. Re-resolving hydra.sweep.dir instead would,
    # in a submitit job's own process, make a new unique_dir.
    return str(Path(HydraConfig.get().runtime.output_dir).parent)


def register_resolvers() -> None:
    """`${run_dir:PARENT}` and `${unique_dir:BASE}`: a folder of its own for each run;
    `${sweep_dir:}`: the sweep a job belongs to (trackers group and tag by it)."""
    OmegaConf.register_new_resolver("run_dir", run_dir, replace=True)
    OmegaConf.register_new_resolver("unique_dir", unique_dir, replace=True)
    OmegaConf.register_new_resolver("sweep_dir", sweep_dir, replace=True)


# --- The entry point ---------------------------------------------------------------------------
def entry_point(config_name: str) -> Callable[[Callable[[DictConfig], Any]], Callable[[], None]]:
    """Decorate `task(cfg)` into the command's `main()`: quiet libraries, our resolvers, then
    Hydra's main with `conf/<config_name>.yaml` around `brief_errors(task)`."""

    def decorate(task: Callable[[DictConfig], Any]) -> Callable[[], None]:
        # The config's first line is its usage, e.g. "# python eval.py ckpt_path=PATH ...".
        usage = (CONFIG_DIR / f"{config_name}.yaml").read_text().split("\n", 1)[0].lstrip("# ")
        hydra_main = hydra.main(
            version_base="1.3", config_path=str(CONFIG_DIR), config_name=config_name
        )(brief_errors(task, usage))

        def main() -> None:
            quiet_libraries()
            register_resolvers()
            arguments = sys.argv[1:]
            # A plain run is composed once more first (0.1 s), so that a misspelt key is named
            # above Hydra's own message; with flags (-m, --cfg) Hydra parses them, ours follows.
            plain = not any(argument.startswith("-") for argument in arguments)
            if plain and (hint := misspelt_key(config_name, arguments)):
                print(hint, file=sys.stderr)
            try:
                hydra_main()
            except SystemExit as stop:
                if not plain and stop.code == 1 and (hint := misspelt_key(config_name, arguments)):
                    print(hint, file=sys.stderr)
                raise

        main.__doc__ = f"Console script and launcher of `{config_name}`: {task.__doc__}"
        return main

    return decorate


def compose_config(
    config_name: str, overrides: Sequence[str], output_dir: str | Path
) -> DictConfig:
    """Compose a config as the entry point would, outside a Hydra run (tests, the benchmark),
    with its run folder at `output_dir` and HydraConfig set for `${hydra:...}` values."""
    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        cfg = compose(config_name, overrides=list(overrides), return_hydra_config=True)
    with read_write(cfg), open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
        cfg.hydra.runtime.output_dir = str(output_dir)
        # As in a multirun (job folder = <sweep dir>/<n>); never the default, which makes a folder.
        cfg.hydra.sweep.dir = str(Path(output_dir).parent)
    HydraConfig().set_config(cfg)
    with read_write(cfg), open_dict(cfg):
        del cfg["hydra"]  # as in a real run: the task sees its config without the hydra node
    return cfg


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate each entry of a `name: {_target_: ...}` group (callbacks, loggers)."""
    if not group:
        return []
    return [instantiate(node) for node in group.values() if node and "_target_" in node]


def log_config(loggers: Iterable[Any], config: dict[str, Any]) -> None:
    """Hand the resolved run config to each logger (its `log_run_config` if any)."""
    for logger in loggers:
        getattr(logger, "log_run_config", logger.log_hyperparams)(config)


def print_results(results: dict[str, Any], run_dir: str | Path) -> None:
    """The final results as a two-column table, then the run folder (process 0 only)."""
    from lightning.pytorch.utilities import rank_zero_only  # loaded by now: the run is over

    if rank_zero_only.rank != 0:
        return
    width = max(len(key) for key in results)
    print("\nResults (also in metrics.json):")
    for key, value in results.items():
        print(f"  {key:<{width}}  {f'{value:.4g}' if isinstance(value, float) else value}")
    print(f"Run folder: {Path(run_dir).resolve()}")
