"""Hydra finds sweepers only in the `hydra_plugins` namespace package; this names ours there.

`_target_: hydra_plugins.mnist_cnn_optuna.OptunaSweeper` (conf/hydra/sweeper/optuna.yaml).
Hydra imports this module on every start, so a missing optuna must not break plain runs.
"""

from typing import Any

from hydra.plugins.sweeper import Sweeper

try:
    from mnist_cnn.launch.optuna_sweeper import OptunaSweeper as _Base
except ModuleNotFoundError as missing:  # optuna comes with the `cluster` extra
    _reason = f"hparams_search=optuna needs {missing.name}: pip install -e '.[cluster]'"

    class _Base(Sweeper):  # type: ignore[no-redef]
        def __init__(self, **kwargs: Any) -> None:
            raise ModuleNotFoundError(_reason)

        def setup(self, **kwargs: Any) -> None:
            raise ModuleNotFoundError(_reason)

        def sweep(self, arguments: list[str]) -> Any:
            raise ModuleNotFoundError(_reason)


class OptunaSweeper(_Base):
    """mnist_cnn.launch.optuna_sweeper.OptunaSweeper, under the name Hydra accepts."""


__all__ = ["OptunaSweeper"]
