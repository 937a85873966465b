from __future__ import annotations

import os
from pathlib import Path

import pytest

from soundstage.errors import ConfigError
from soundstage.settings import ensure_data_dir, load_settings


@pytest.fixture(autouse=True)
def _no_model_pin(monkeypatch: pytest.MonkeyPatch) -> None:
    """conftest pins SOUNDSTAGE_MODEL=embedded for the machinery tests; settings tests need
    the real precedence (file < environment < flags) and the real default."""
    monkeypatch.delenv("SOUNDSTAGE_MODEL", raising=False)


def test_defaults_put_the_database_in_the_data_dir(
    _isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = load_settings()
    assert s.data_dir == _isolated_env
    assert s.db_url == f"sqlite:///{_isolated_env / 'soundstage.db'}"
    assert s.model == "local"  # the pretrained writer is the default


def test_xdg_data_home_is_the_default_parent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SOUNDSTAGE_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert load_settings().data_dir == tmp_path / "xdg" / "soundstage"


def test_environment_beats_toml_file_and_overrides_beat_both(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "soundstage.toml"
    config.write_text('model = "openai:m@http://127.0.0.1:9/v1"\nmax_retries = 5\n')
    monkeypatch.setenv("SOUNDSTAGE_CONFIG", str(config))
    s = load_settings()
    assert s.model == "openai:m@http://127.0.0.1:9/v1" and s.max_retries == 5
    monkeypatch.setenv("SOUNDSTAGE_MAX_RETRIES", "1")
    assert load_settings().max_retries == 1
    assert load_settings(max_retries=0).max_retries == 0


def test_the_xdg_config_file_is_read_when_present(tmp_path: Path) -> None:
    folder = Path(os.environ["XDG_CONFIG_HOME"]) / "soundstage"
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text("request_timeout = 7.5\n")
    assert load_settings().request_timeout == 7.5


@pytest.mark.parametrize(
    ("env", "value", "field"),
    [
        ("SOUNDSTAGE_MAX_RETRIES", "many", "max_retries"),
        ("SOUNDSTAGE_REQUEST_TIMEOUT", "-1", "request_timeout"),
        ("SOUNDSTAGE_JOB_LEASE_SECONDS", "0", "job_lease_seconds"),
    ],
)
def test_invalid_values_name_the_field(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, field: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError, match=field):
        load_settings()


def test_unknown_keys_and_broken_files_are_config_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "c.toml"
    monkeypatch.setenv("SOUNDSTAGE_CONFIG", str(config))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings()
    config.write_text("modle = 'embedded'\n")
    with pytest.raises(ConfigError, match="modle"):
        load_settings()
    config.write_text("model = \n")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings()


def test_unwritable_data_dir_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match="not writable"):
        ensure_data_dir(load_settings(data_dir=blocker / "data"))
