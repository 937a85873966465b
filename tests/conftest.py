"""Shared fixtures: every test gets its own data directory and a clean SOUNDSTAGE_* environment."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from soundstage.settings import Settings, load_settings
from soundstage.store import open_store
from soundstage.store.testing import (
    ADMIN_URL,
    postgres_unavailable,
    reset_database,
    temporary_postgres_database,
)

# Module- and session-scoped fixtures run before `_isolated_env`: pin drama-lm for them too.
os.environ["SOUNDSTAGE_MODEL"] = "embedded"

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.startswith("SOUNDSTAGE_") or key in {"OPENAI_API_KEY", "XDG_CONFIG_HOME"}:
            monkeypatch.delenv(key, raising=False)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("SOUNDSTAGE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    # Tests of the machinery (store, jobs, formats, CLI) write with drama-lm: fast and
    # deterministic. The default writer (local SmolLM2) has its own end-to-end tests in
    # tests/script/test_guided.py, which pass --model local explicitly.
    monkeypatch.setenv("SOUNDSTAGE_MODEL", "embedded")
    return data_dir


@pytest.fixture
def settings(_isolated_env: Path) -> Settings:
    return load_settings()


@pytest.fixture
def shared() -> Callable[..., Path]:
    """`shared("music", "jsb_chorales")`: a path in ../shared/data, or skip the test."""
    return shared_data


def shared_data(*parts: str) -> Path:
    """Path into ../shared/data; skips the test when the folder is absent (a user's machine)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not present: {path}")
    return path


# --- databases: tests that ask for `engine` run on SQLite and on PostgreSQL ---------------

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One fresh PostgreSQL database for the session, dropped at the end."""
    reason = postgres_unavailable(ADMIN_URL)
    if reason:
        pytest.skip(f"PostgreSQL not reachable ({reason}); set SOUNDSTAGE_TEST_POSTGRES_URL")
    with temporary_postgres_database(ADMIN_URL) as url:
        yield url


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store at head: a new SQLite file, or the session's PostgreSQL database reset."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'soundstage.db'}"
    url: str = request.getfixturevalue("postgres_url")
    reset_database(url)
    return url


@pytest.fixture(params=DATABASES)
def fresh_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new, never migrated database (for tests about migrations)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh' / 'soundstage.db'}"
        return
    request.getfixturevalue("postgres_url")  # skips when PostgreSQL is unreachable
    with temporary_postgres_database(ADMIN_URL) as url:
        yield url


@pytest.fixture
def store_settings(db_url: str, _isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings pointing at `db_url`, through the environment so subprocesses see it too."""
    monkeypatch.setenv("SOUNDSTAGE_DATABASE_URL", db_url)
    return load_settings()


@pytest.fixture
def engine(store_settings: Settings) -> Iterator[Engine]:
    engine = open_store(store_settings)
    yield engine
    engine.dispose()
