"""Job fixtures: a migrated store on SQLite and on PostgreSQL, with short leases.

The settings travel through SOUNDSTAGE_* variables so worker subprocesses see them too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from soundstage import jobs
from soundstage.jobs.handlers import HandlerSpec
from soundstage.settings import Settings, load_settings

LEASE_SECONDS = 1.0


@pytest.fixture
def store_settings(db_url: str, _isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SOUNDSTAGE_DATABASE_URL", db_url)
    monkeypatch.setenv("SOUNDSTAGE_JOB_LEASE_SECONDS", str(LEASE_SECONDS))
    monkeypatch.setenv("SOUNDSTAGE_WORKER_POLL_SECONDS", "0.05")
    return load_settings()


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
