"""The training and evaluation entry points, in process and as real command lines."""

import subprocess
import sys
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from mnist_cnn.train import train
from tests.fixtures import compose_config, is_share_of, read_metrics, run_cli


def test_fast_dev_run_through_the_composed_config(tiny_data_dir, tmp_path):
    cfg = compose_config(
        "train",
        [f"data.data_dir={tiny_data_dir}", "debug=fast", "trainer.accelerator=cpu"],
        tmp_path,
    )
    summary = train(cfg)
    # fast_dev_run tests one batch: 128 of the 300 test images.
    assert is_share_of(summary["test/acc"], 128) and summary["global_step"] == 1
    assert read_metrics(tmp_path)["test/acc"] == summary["test/acc"]
    assert summary["params"] == 34_826  # the Keras example's model.summary() count


@pytest.fixture(scope="module")
def real_run(real_data_dir, tmp_path_factory):
    """`python train.py` for 3 epochs on 8,000 real digits, exactly as the README says."""
    run_dir = tmp_path_factory.mktemp("run")
    result = run_cli(
        "train.py",
        f"data.data_dir={real_data_dir}",
        "trainer.max_epochs=3",
        "trainer.accelerator=cpu",
        f"hydra.run.dir={run_dir}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir, result


@pytest.mark.slow
def test_cli_run_learns_and_leaves_a_complete_run_folder(real_run):
    run_dir, result = real_run
    metrics = read_metrics(run_dir)
    assert metrics["test/acc"] >= 0.95, metrics
    assert metrics["epochs"] == 3 and metrics["val/acc_best"] >= metrics["val/acc"] - 1e-9
    assert (run_dir / ".hydra" / "config.yaml").is_file()
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert metrics["best_checkpoint"].startswith(str(run_dir / "checkpoints"))
    # Keras's model.summary() of the network, printed once: not Lightning's table of the module.
    assert result.stdout.count('Model: "MnistCNN"') == 1
    assert "features.0 (Conv2d)               (None, 32, 26, 26)      320" in result.stdout
    assert "Total params: 34,826 (0.13 MB)" in result.stdout and "| Name" not in result.stdout
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    assert {"val/acc", "val/acc_best", "train/loss"} <= set(events.Tags()["scalars"])


@pytest.mark.slow
def test_eval_of_the_best_checkpoint_reproduces_test_acc(real_run, real_data_dir, tmp_path):
    run_dir, _ = real_run
    trained = read_metrics(run_dir)
    result = run_cli(
        "eval.py",
        f"ckpt_path={trained['best_checkpoint']}",
        f"data.data_dir={real_data_dir}",
        "trainer.accelerator=cpu",
        f"hydra.run.dir={tmp_path}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_metrics(tmp_path)["test/acc"] == trained["test/acc"]


def test_without_data_the_run_stops_fast_with_the_fix(tmp_path):
    result = run_cli(
        "train.py", f"data.data_dir={tmp_path / 'empty'}", "data.download=false",
        f"hydra.run.dir={tmp_path / 'run'}", timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "t10k-labels-idx1-ubyte" in result.stderr and "data.data_dir=" in result.stderr
    assert "Traceback" not in result.stderr  # our message alone (HYDRA_FULL_ERROR=1 adds it)
    assert not (tmp_path / "run" / "metrics.json").exists()


@pytest.mark.parametrize(
    ("script", "task"),
    [("mnist-train", "train"), ("mnist-eval", "eval"), ("mnist-from-keras", "from_keras")],
)
def test_console_scripts_find_the_configs_from_any_directory(script, task, tmp_path):
    executable = Path(sys.executable).parent / script
    if not executable.exists():
        pytest.skip(f"{script} is not installed beside {sys.executable} (pip install -e .)")
    overrides = {
        "mnist-eval": ["ckpt_path=x.ckpt"],
        "mnist-from-keras": ["keras_model=m.keras", "output=m.ckpt"],
    }.get(script, [])
    result = subprocess.run(
        [str(executable), *overrides, "--cfg", "job"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"task_name: {task}" in result.stdout
    module = "_target_: mnist_cnn.models.module.MnistLitModule"
    assert module in result.stdout or script != "mnist-train"
