"""Job fixtures: a migrated store on SQLite and on PostgreSQL, with short leases.

The settings travel through SOUNDSTAGE_* variables so worker subprocesses see them too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from soundstage import jobs
from soundstage.jobs.handlers import HandlerSpec
from soundstage.settings import Settings, load_settings
from soundstage.store import open_store
from soundstage.store.testing import (
    ADMIN_URL,
    postgres_unavailable,
    reset_database,
    temporary_postgres_database,
)

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
LEASE_SECONDS = 1.0


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
    monkeypatch.setenv("SOUNDSTAGE_DATABASE_URL", db_url)
    monkeypatch.setenv("SOUNDSTAGE_JOB_LEASE_SECONDS", str(LEASE_SECONDS))
    monkeypatch.setenv("SOUNDSTAGE_WORKER_POLL_SECONDS", "0.05")
    return load_settings()


@pytest.fixture
def engine(store_settings: Settings) -> Iterator[Engine]:
    engine = open_store(store_settings)
    yield engine
    engine.dispose()


@pytest.fixture
def registry() -> Iterator[dict[str, HandlerSpec]]:
    """The handler registry, restored after the test (for test-only job kinds)."""
    saved = dict(jobs.REGISTRY)
    yield jobs.REGISTRY
    jobs.REGISTRY.clear()
    jobs.REGISTRY.update(saved)


Eventually = Callable[..., None]


@pytest.fixture
def eventually() -> Eventually:
    """`eventually(check, what=...)`: poll `check()` until true, fail after a timeout."""

    def wait_until(check: Callable[[], bool], *, timeout: float = 20.0, what: str = "it") -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.02)

    return wait_until
