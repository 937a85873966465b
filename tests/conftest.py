"""Shared fixtures: every test gets its own data directory and a clean SOUNDSTAGE_* environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from soundstage.settings import Settings, load_settings

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.startswith("SOUNDSTAGE_") or key in {"OPENAI_API_KEY", "XDG_CONFIG_HOME"}:
            monkeypatch.delenv(key, raising=False)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("SOUNDSTAGE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return data_dir


@pytest.fixture
def settings(_isolated_env: Path) -> Settings:
    return load_settings()


def shared_data(*parts: str) -> Path:
    """Path into ../shared/data; skips the test when the folder is absent (a user's machine)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not present: {path}")
    return path
