"""Import a Keras model: `python from_keras.py keras_model=model.keras output=model.ckpt`.

Reads a `.keras` archive, a `.weights.h5` or a legacy `.h5` as data (Keras is not needed) and
writes a checkpoint that eval.py, predict.py, export and `load_classifier` use as they use one
from train.py; `python train.py init_from=model.ckpt` trains on from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from mnist_cnn.cli import entry_point

# Keys of from_keras.yaml that are not part of the training config the checkpoint stores.
IMPORT_KEYS = ("keras_model", "output")


def import_keras(cfg: DictConfig) -> dict[str, Any]:
    """Read `cfg.keras_model`, map it onto MnistCNN, write the checkpoint `cfg.output`; return a
    summary. Everything is checked before the single atomic write."""
    # Imported here, as in train.py: --help and --cfg answer at once.
    from mnist_cnn.checkpoint import CONFIG_KEY, write_checkpoint
    from mnist_cnn.extras.keras.keras_file import read_keras_file
    from mnist_cnn.extras.keras.keras_net import map_keras_model
    from mnist_cnn.stored_config import stored_config, validate

    source, output = Path(cfg.keras_model), Path(cfg.output)
    if output.resolve() == source.resolve():
        raise ValueError(f"output={output}: the Keras file itself; choose another path.")
    keras_model = read_keras_file(source)
    net = cfg.model.net
    mapped = map_keras_model(
        keras_model,
        in_channels=net.in_channels,
        input_size=tuple(net.input_size),
        num_classes=net.num_classes,
        dropout=net.dropout,
    )
    with open_dict(cfg):
        for key, value in mapped.settings.items():
            if key != "num_classes":  # stays ${data.num_classes}, already checked equal
                cfg.model.net[key] = value
    # The user's own composed config (trusted, as in train.py); the file only gave numbers.
    model = instantiate(cfg.model)
    model.net.load_state_dict(mapped.state_dict)
    run_config = OmegaConf.to_container(cfg, resolve=True)
    for key in IMPORT_KEYS:
        del run_config[key]
    config = validate(stored_config(run_config))  # what train.py would store, checked alike
    checkpoint = {
        "state_dict": model.state_dict(),
        CONFIG_KEY: config,
        # Plain data: where the weights came from, for whoever reads the checkpoint later.
        "imported_from": {
            "file": str(source.resolve()),
            "kind": keras_model.kind,
            "keras_version": keras_model.keras_version,
            "assumed": mapped.assumed,
        },
    }
    write_checkpoint(checkpoint, output)
    return {
        "output": str(output),
        "kind": keras_model.kind,
        "keras_version": keras_model.keras_version,
        "layers": mapped.layers,
        "net": {k: config["model"]["net"][k] for k in ("channels", "kernel_size", "dropout")},
        "parameters": sum(p.numel() for p in model.net.parameters()),
        "assumed": mapped.assumed,
    }


@entry_point("from_keras")
def main(cfg: DictConfig) -> None:
    """import a Keras model as a checkpoint of this project."""
    summary = import_keras(cfg)
    version = f", Keras {summary['keras_version']}" if summary["keras_version"] else ""
    print(f"read {cfg.keras_model} ({summary['kind']}{version}): {' → '.join(summary['layers'])}")
    for note in summary["assumed"]:
        print(f"assumed, not checked: {note}")
    print(
        f"wrote {summary['output']}: MnistCNN {summary['net']}, {summary['parameters']:,} "
        f"parameters\nnext: python eval.py ckpt_path={summary['output']}"
    )
