"""Where the configs live, composing them outside a Hydra run, and building config groups."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict, read_write

from mnist_cnn.launch.run_dirs import register_resolvers

_PACKAGE_DIR = Path(__file__).resolve().parents[1]
# A wheel ships the configs inside the package; a source checkout (editable install) has ./conf.
CONFIG_DIR = (
    _PACKAGE_DIR / "conf" if (_PACKAGE_DIR / "conf").is_dir() else _PACKAGE_DIR.parents[1] / "conf"
)


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
