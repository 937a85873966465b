"""The admin pages in a real browser: add a user (first token shown once), change roles,
disable and enable, create and revoke tokens; other roles are kept out."""

from __future__ import annotations

import httpx
import pytest
from servers import running
from studio_helpers import Studio, fits_a_phone, shot, sign_in

from soundstage.accounts import AuthError
from soundstage.backends import load_backend
from soundstage.settings import Settings
from soundstage.web.app import create_app


def test_an_admin_adds_a_user_and_creates_and_revokes_a_token(live: Studio, page) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, live.url, "ada")
    page.goto(live.url + "/admin")
    assert "wendy" in page.locator("#users").inner_text()
    page.get_by_label("Name", exact=True).fill("Nina")
    page.get_by_label("writer").check()
    page.get_by_label("composer").check()
    page.get_by_label("Password (blank: API tokens only)").fill("a long pass phrase")
    page.get_by_role("button", name="Add user").click()
    first = page.get_by_label("Token", exact=True).input_value()
    assert live.accounts.authenticate(first).roles == ("writer", "composer")
    nina = page.get_by_role("row").filter(has_text="nina")
    assert nina.get_by_role("cell").nth(1).inner_text().split() == ["writer", "composer"]
    shot(page, "admin")
    fits_a_phone(page, "admin")
    # The same name again: the accounts' refusal next to the form, 409.
    page.get_by_label("Name", exact=True).fill("nina")
    page.get_by_label("reviewer").check()
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Add user").click()
    assert posted.value.status == 409
    assert "already exists" in page.locator("#add-error").inner_text()
    # Her page: a new token, shown once; then revoked.
    page.get_by_role("link", name="nina").click()
    page.get_by_label("Label").fill("ci runner")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_label("Token", exact=True).input_value()
    assert live.accounts.authenticate(token).name == "nina"
    token_id = token.split("_")[1]
    page.reload()  # a GET: the secret is not on the page any more
    assert token not in page.content() and page.get_by_label("Token", exact=True).count() == 0
    page.get_by_role("button", name=f"Revoke token {token_id}").click()
    assert "revoked" in page.locator(f"#token-{token_id}").inner_text()
    with pytest.raises(AuthError, match="revoked"):
        live.accounts.authenticate(token)
    live.accounts.authenticate(first)  # the other token still works


def test_an_admin_changes_roles_and_disables_an_account(live: Studio, page) -> None:  # type: ignore[no-untyped-def]
    live.accounts.add("otto", ["writer"], password="otto's password")
    sign_in(page, live.url, "ada")
    page.goto(live.url + "/admin/users/otto")
    page.get_by_label("writer").uncheck()
    page.get_by_label("analyst").check()
    page.get_by_role("button", name="Save roles").click()
    assert live.accounts.get("otto").roles == ("analyst",)
    page.get_by_label("analyst").uncheck()
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Save roles").click()
    assert posted.value.status == 400
    assert "at least one role" in page.locator("#roles-error").inner_text()
    page.get_by_role("button", name="Disable otto").click()
    assert page.locator("#user-state").inner_text() == "disabled"
    with pytest.raises(AuthError, match="wrong user name or password"):
        live.accounts.check_password("otto", "otto's password")
    page.get_by_role("button", name="Enable otto").click()
    assert page.locator("#user-state").inner_text() == "active"
    # An admin cannot lock themselves out from here.
    page.goto(live.url + "/admin/users/ada")
    page.get_by_role("button", name="Disable ada").click()
    assert "cannot disable your own account" in page.locator("#state-error").inner_text()


def test_other_roles_are_refused_the_admin_pages(live: Studio, page) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, live.url, "ana")
    for path in ("/admin", "/admin/users/wendy"):
        assert page.goto(live.url + path).status == 403, path
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    form = {"csrf": csrf, "name": "mallory", "role_admin": "1", "password": "x"}
    assert page.request.post(live.url + "/admin/users", form=form).status == 403
    assert "mallory" not in [p.name for p, _, _ in live.accounts.users()]


def test_without_accounts_the_admin_page_says_they_are_off(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    backend = load_backend("embedded", settings)
    app = create_app(settings, backend, accounts=None)  # serve --no-auth
    try:
        with running(app) as url, httpx.Client(base_url=url) as client:
            page = client.get("/admin")
            assert page.status_code == 200 and "Accounts are off" in page.text
            csrf = client.get("/report").text.split('name="csrf" value="')[1].split('"')[0]
            added = client.post(
                "/admin/users", data={"csrf": csrf, "name": "x", "role_writer": "1"}
            )
            assert added.status_code == 404 and "accounts are off" in added.text
            assert client.get("/review").status_code == 200  # the local operator reviews
    finally:
        app.state.studio.tasks.close()
        backend.close()
