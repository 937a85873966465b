"""Sign-in, sign-out, roles and the gate in front of every page, in a real browser and over
plain HTTP."""

from __future__ import annotations

import re

import httpx
from studio_helpers import PASSWORD, Studio, shot, sign_in


def test_signed_out_visitor_goes_to_login_and_a_wrong_password_is_refused(
    live: Studio, page
) -> None:  # type: ignore[no-untyped-def]
    page.goto(live.url + "/")
    assert page.url.endswith("/login")
    shot(page, "login")
    sign_in(page, live.url, "wendy", "not the password")
    assert page.get_by_role("alert").inner_text() == "wrong user name or password"
    assert "/login" in page.url
    sign_in(page, live.url, "Wendy")  # names are canonical: Wendy is wendy
    assert page.url.endswith("/projects")
    assert page.get_by_role("navigation", name="Studio").inner_text().split() == [
        "Projects",
        "Report",
    ]
    page.get_by_role("button", name="Sign out").click()
    assert page.url.endswith("/login")
    page.goto(live.url + "/projects")
    assert "/login?next=/projects" in page.url


def test_session_cookie_flags_and_csrf(live: Studio) -> None:
    with httpx.Client(base_url=live.url) as client:
        form = client.get("/login")
        assert form.headers["content-security-policy"].startswith("default-src 'self'")
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text)
        assert csrf
        # Without the token (a form from another site) nothing is checked: 400.
        bad = client.post("/login", data={"username": "wendy", "password": PASSWORD})
        assert bad.status_code == 400 and "expired or came from another site" in bad.text
        good = client.post(
            "/login", data={"username": "wendy", "password": PASSWORD, "csrf": csrf.group(1)}
        )
        assert good.status_code == 303
        cookie = good.headers["set-cookie"]
        assert "sst_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        # The session is an account token: listed with the account's tokens.
        sessions = [t for t in live.accounts.tokens("wendy") if t.label == "studio session"]
        assert sessions and sessions[-1].revoked_at is None


def test_failed_sign_ins_are_throttled(live: Studio) -> None:
    with httpx.Client(base_url=live.url) as client:
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/login").text)
        assert csrf
        codes = [
            client.post(
                "/login", data={"username": "ana", "password": "guess", "csrf": csrf.group(1)}
            ).status_code
            for _ in range(6)
        ]
        assert codes == [401] * 5 + [429]
        # Even the right password waits now, and says for how long.
        late = client.post(
            "/login", data={"username": "ana", "password": PASSWORD, "csrf": csrf.group(1)}
        )
        assert late.status_code == 429 and int(late.headers["retry-after"]) > 0


def test_sign_in_with_the_keyboard_only(live: Studio, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(live.url + "/login")
    assert page.evaluate("document.activeElement.id") == "username"  # autofocus
    page.keyboard.type("rob")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(live.url + "/review")
    # Then Tab reaches the skip link, the brand, and the first page of the navigation.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    for _ in range(2):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "/review"
