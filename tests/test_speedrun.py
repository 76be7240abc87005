"""experiment=speedrun works on any accelerator: composes without a GPU and trains on CPU."""

import json

from hydra.utils import instantiate

from mnist_cnn.train import train
from tests.fixtures import compose_config, is_share_of


def test_speedrun_needs_no_gpu_and_keeps_the_network(tmp_path):
    cfg = compose_config("train", ["experiment=speedrun"], tmp_path)
    assert cfg.trainer.accelerator == "auto" and cfg.trainer.precision == "32-true"
    assert not cfg.model.compile  # compiling costs more than a CPU speedrun's whole fit
    assert cfg.model.scheduler._target_.endswith("OneCycleLR")
    assert cfg.model.scheduler_interval == "step"
    net = instantiate(cfg.model.net)
    assert sum(p.numel() for p in net.parameters()) == 34_826


def test_speedrun_trains_and_tests_on_cpu(tiny_data_dir, tmp_path):
    overrides = [
        "experiment=speedrun", f"data.data_dir={tiny_data_dir}", "data.download=false",
        "trainer.accelerator=cpu", "trainer.max_epochs=1", "data.batch_size=100",
    ]  # fmt: skip
    summary = train(compose_config("train", overrides, tmp_path))
    assert summary["global_step"] == 6  # 540 training images / 100, the last batch partial
    assert is_share_of(summary["test/acc"], 300) and summary["best_checkpoint"] is None
    assert json.loads((tmp_path / "metrics.json").read_text())["fit_time_s"] > 0
    assert not (tmp_path / "checkpoints").exists()
