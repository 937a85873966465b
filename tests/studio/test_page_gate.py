"""Every studio page is behind sign-in and a role, read from the app itself: a new page
route that forgets `page_for(...)` fails here. And no page asks anything of another host."""

from __future__ import annotations

import importlib
import pkgutil
import re

import httpx
from fastapi.routing import APIRoute
from studio_helpers import PASSWORD, Studio, sign_in

OPEN_PAGES = {("GET", "/login"), ("POST", "/login"), ("POST", "/logout")}


def page_routes() -> list[tuple[str, str]]:
    """Every route of every module of the studio package that has a router."""
    import soundstage.web.studio as package

    found = []
    for info in pkgutil.iter_modules(package.__path__):
        router = getattr(importlib.import_module(f"{package.__name__}.{info.name}"), "router", None)
        for route in getattr(router, "routes", []):
            assert isinstance(route, APIRoute)
            path = re.sub(r"\{[^}]+\}", "x", route.path)
            found += [(method, path) for method in sorted(route.methods)]
    return found


def test_every_page_sends_a_stranger_to_sign_in(live: Studio) -> None:
    routes = page_routes()
    assert len(routes) > 25, "the studio's pages are found"
    with httpx.Client(base_url=live.url) as client:
        for method, path in routes:
            if (method, path) in OPEN_PAGES:
                continue
            answer = client.request(method, path, data={"csrf": "x"})
            assert answer.status_code == 303, (method, path, answer.status_code)
            assert answer.headers["location"].startswith("/login"), (method, path)


def test_a_role_is_checked_on_every_page_of_other_roles(live: Studio) -> None:
    """ana (analyst only) signed in: every writer, composer, reviewer and admin page is 403."""
    with httpx.Client(base_url=live.url) as client:
        form = client.get("/login").text
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', form)
        assert csrf
        client.post("/login", data={"username": "ana", "password": PASSWORD, "csrf": csrf[1]})
        for method, path in page_routes():
            if not path.startswith(("/projects", "/review", "/admin")):
                continue
            answer = client.request(method, path, data={"csrf": csrf[1]})
            assert answer.status_code == 403, (method, path, answer.status_code)


def test_pages_ask_nothing_of_other_hosts(live: Studio, page) -> None:  # type: ignore[no-untyped-def]
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    sign_in(page, live.url, "ada")
    for path in ("/projects", "/review", "/recommendations", "/admin", "/report"):
        page.goto(live.url + path)
        page.wait_for_load_state("networkidle")
    assert asked and all(url.startswith(live.url + "/") for url in asked), asked
