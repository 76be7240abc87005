"""The console of every command: our output without library chatter, expected errors in brief."""

from __future__ import annotations

import pytest
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from mnist_cnn.cli import UserError, brief_errors, expected_error, misspelt_key
from tests.fixtures import compose_config, run_cli

# Lightning 2.6's lines that a default run used to print before the model summary.
CHATTER = (
    "💡 Tip",
    "Trainer already configured with model summary callbacks",
    "was configured so 100%",
    "Seed set to",
)


@pytest.mark.slow
def test_a_default_run_shows_summary_progress_results_and_run_folder_only(tiny_data_dir, tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli(
        "train.py", f"data.data_dir={tiny_data_dir}", "data.download=false",
        "trainer.accelerator=cpu", "trainer.max_epochs=1", f"hydra.run.dir={run_dir}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    console = result.stdout + result.stderr
    assert [line for line in CHATTER if line in console] == []
    # Lightning's lines once, as Lightning prints them (not again through Hydra's log handler).
    assert console.count("GPU available: False, used: False") == 1, console[:3000]
    assert "[lightning.pytorch" not in console
    assert "LeafSpec" not in console  # torch 2.14's deprecation of what Lightning 2.6.6 calls
    assert "Trainable params" in console and "Epoch 0: 100%" in console  # summary, progress
    assert "Results (also in metrics.json):" in result.stdout
    assert "  test/acc " in result.stdout and "  val/acc_best " in result.stdout
    assert result.stdout.rstrip().endswith(f"Run folder: {run_dir.resolve()}")
    assert "Traceback" not in console


def _expect_message_only(result, message: str) -> None:
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert message in result.stderr
    assert "Traceback" not in result.stderr and 'File "' not in result.stderr


@pytest.mark.slow
def test_a_bad_checkpoint_prints_the_message_without_a_traceback(tmp_path):
    corrupt = tmp_path / "corrupt.ckpt"
    corrupt.write_bytes(b"not a checkpoint")
    result = run_cli("eval.py", f"ckpt_path={corrupt}", f"hydra.run.dir={tmp_path / 'run'}")
    _expect_message_only(result, f"ckpt_path={corrupt}: not a zip archive, so not a checkpoint")


@pytest.mark.slow
def test_hydra_full_error_still_prints_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    result = run_cli(
        "train.py", f"data.data_dir={tmp_path / 'none'}", "data.download=false",
        f"hydra.run.dir={tmp_path / 'run'}", timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "DataNotFoundError" in result.stderr
    assert "MNIST files not found" in result.stderr


@pytest.mark.parametrize(
    "error",
    [
        FileNotFoundError("data missing"),  # missing data
        ValueError("train-images-idx3-ubyte: truncated"),  # corrupt file, bad config value
        ConnectionError("tracker at http://127.0.0.1:1 unreachable"),  # unreachable tracker
        FloatingPointError("train/loss is nan"),  # NonFiniteLossError
    ],
)
def test_expected_errors_become_one_line_hydra_errors(error, tmp_path):
    def task(cfg):
        raise error

    with pytest.raises(UserError, match=str(error)) as raised:
        brief_errors(task, "usage")(OmegaConf.create({"paths": {"output_dir": str(tmp_path)}}))
    assert raised.value.__cause__ is error  # HYDRA_FULL_ERROR=1 shows the original
    assert str(error) in (tmp_path / "FAILED.txt").read_text()  # the run folder says it failed


def test_a_constructors_check_is_unwrapped_from_hydras_instantiation_error(tmp_path):
    cfg = compose_config("train", ["data.batch_size=0"], tmp_path)
    with pytest.raises(InstantiationException) as raised:
        instantiate(cfg.data)
    assert str(expected_error(raised.value)).startswith("data.batch_size=0: must be a positive")


def test_a_bug_keeps_its_traceback(tmp_path):
    def task(cfg):
        raise TypeError("a bug")

    with pytest.raises(TypeError, match="a bug"):
        brief_errors(task, "usage")(OmegaConf.create({"paths": {"output_dir": str(tmp_path)}}))
    assert expected_error(KeyError("x")) is None
    assert expected_error(ModuleNotFoundError("x", name="mnist_cnn.x")) is None  # ours: a bug
    missing = ModuleNotFoundError("logger=mlflow needs mlflow: pip install ...", name="mlflow")
    assert expected_error(missing) is missing  # an optional package: say what to install


def test_a_required_setting_left_out_names_itself_and_the_usage(tmp_path):
    from mnist_cnn.eval import evaluate

    cfg = compose_config("eval", [], tmp_path)  # no ckpt_path=
    with pytest.raises(UserError) as raised:
        brief_errors(evaluate, "python eval.py ckpt_path=PATH [key=value ...]")(cfg)
    assert str(raised.value) == (
        "ckpt_path is required and has no default: python eval.py ckpt_path=PATH [key=value ...]"
    )


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("trainer.max_epoch=2", "trainer.max_epochs"), ("data.batchsize=64", "data.batch_size")],
)
def test_a_misspelt_key_gets_the_key_it_was_meant_to_be(typed, meant):
    hint = misspelt_key("train", ["data.download=false", typed])
    assert hint == f"{typed.split('=')[0]}: no such setting; did you mean `{meant}`?"
    assert misspelt_key("train", ["trainer.max_epochs=2", "model=keras_cnn"]) is None


@pytest.mark.slow
def test_help_and_a_misspelt_key_on_the_command_line():
    helped = run_cli("train.py", "--help")
    assert helped.returncode == 0 and "The commands run most:" in helped.stdout
    assert "python eval.py ckpt_path=" in helped.stdout and "\ntrainer: cpu, ddp" in helped.stdout
    typo = run_cli("train.py", "trainer.max_epoch=2")
    assert typo.returncode == 1
    ours = typo.stderr.index("did you mean `trainer.max_epochs`?")
    assert ours < typo.stderr.index("Could not override 'trainer.max_epoch'")  # Hydra's, below
