"""Hydra finds sweepers only in the `hydra_plugins` namespace package; this names ours there:
`_target_: hydra_plugins.mnist_cnn.OptunaSweeper` (conf/hydra/sweeper/optuna.yaml)."""

from mnist_cnn.extras.optuna.sweeper import OptunaSweeper as _OptunaSweeper


class OptunaSweeper(_OptunaSweeper):
    """mnist_cnn.extras.optuna.sweeper.OptunaSweeper, under the name Hydra accepts."""


__all__ = ["OptunaSweeper"]
