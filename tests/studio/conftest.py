"""Fixtures for the studio's browser tests: one live studio per module, one Chromium per
session, a fresh browser context (no cookies) per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from studio_helpers import Studio, chromium_or_skip, studio


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    with studio(tmp_path_factory.mktemp("studio") / "data") as running_studio:
        yield running_studio


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    path = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()
