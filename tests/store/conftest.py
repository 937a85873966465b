"""Store fixtures; the database fixtures (`db_url`, `engine`, ...) live in tests/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from soundstage.settings import Settings, load_settings


@pytest.fixture
def fresh_settings(fresh_db_url: str, _isolated_env: Path) -> Settings:
    return load_settings(database_url=fresh_db_url)
