"""A real studio for browser tests: the full app on a uvicorn thread, over a SQLite store
with one account per role, and Debian's Chromium driven by Playwright.

Every account's password is PASSWORD. Tests that need Chromium skip when /usr/bin/chromium
is missing (.ci/run installs it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from servers import running

from soundstage.accounts import Accounts
from soundstage.backends import load_backend
from soundstage.settings import Settings
from soundstage.store import open_store
from soundstage.web.app import create_app

PASSWORD = "correct horse battery"
CHROMIUM = "/usr/bin/chromium"
USERS = {
    "wendy": ("writer",),
    "carl": ("composer",),
    "rita": ("reviewer",),
    "rob": ("reviewer",),
    "ana": ("analyst",),
    "ada": ("admin",),
}
# STUDIO_SHOTS=docs/img pytest tests/studio  refreshes the pictures in docs/studio.md.
SHOTS = os.environ.get("STUDIO_SHOTS", "")


@dataclass
class Studio:
    url: str
    settings: Settings
    accounts: Accounts


@contextmanager
def studio(data_dir: Path) -> Iterator[Studio]:
    settings = Settings(data_dir=data_dir, model="embedded")
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = open_store(settings)
    accounts = Accounts(engine)
    for name, roles in USERS.items():
        accounts.add(name, roles, password=PASSWORD)
    backend = load_backend("embedded", settings)
    app = create_app(settings, backend, accounts=accounts)
    try:
        with running(app) as url:
            yield Studio(url, settings, accounts)
    finally:
        app.state.studio.tasks.close()
        backend.close()
        engine.dispose()


def chromium_or_skip() -> str:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="browser tests need playwright")
    return CHROMIUM


def sign_in(page, url: str, name: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """With STUDIO_SHOTS set, a screenshot of the page as the test left it, at the
    viewport's width (the tests use 1280 px; `name` ending in -390 is the phone view)."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def fits_a_phone(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """At 390 px wide the page does not scroll sideways (wide tables scroll in their box);
    with STUDIO_SHOTS set, `name`-390.png is saved. Back to 1280 px after."""
    page.wait_for_load_state()
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, f"{name}-390")
    page.set_viewport_size({"width": 1280, "height": 900})
