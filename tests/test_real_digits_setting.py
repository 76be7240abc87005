"""The real-digit tests find their data in a fork saved anywhere: option, variable, default."""

from types import SimpleNamespace

from tests.conftest import real_digits_dir
from tests.fixtures import NO_REAL_DIGITS, REAL_DIGITS_ENV, T10K_DIR


def _config(option=None):
    return SimpleNamespace(getoption=lambda name: option)


def test_option_then_variable_then_the_shared_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(REAL_DIGITS_ENV, raising=False)
    assert real_digits_dir(_config()) == T10K_DIR
    monkeypatch.setenv(REAL_DIGITS_ENV, str(tmp_path / "from_env"))
    assert real_digits_dir(_config()) == tmp_path / "from_env"
    assert real_digits_dir(_config(str(tmp_path / "opt"))) == tmp_path / "opt"


def test_the_skip_message_names_both_settings():
    assert f"{REAL_DIGITS_ENV}=DIR" in NO_REAL_DIGITS and "--real-digits=DIR" in NO_REAL_DIGITS
