"""The phone check the studio's page tests share (review, recommendations, admin)."""

from __future__ import annotations

from studio_helpers import shot


def fits_a_phone(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """At 390 px wide the page does not scroll sideways (wide tables scroll in their box);
    with STUDIO_SHOTS set, `name`-390.png is saved. Back to 1280 px after."""
    page.wait_for_load_state()
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, f"{name}-390")
    page.set_viewport_size({"width": 1280, "height": 900})
