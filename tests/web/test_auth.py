"""Sign-in on every route of the full app, on a real server: 401 without a token, 403 for
the wrong role. The routes are read from the app itself, so a new route without
`require(...)` fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from conftest import FixedTextTestBackend
from servers import running

from soundstage.accounts import Accounts
from soundstage.settings import Settings
from soundstage.store import open_store
from soundstage.web.app import create_app
from soundstage.web.auth import allowed_hosts, install_auth, is_loopback

OPEN = {"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[str, list[tuple[str, str]], Accounts]]:
    engine = open_store(settings)
    accounts = Accounts(engine)
    app = create_app(settings, FixedTextTestBackend(), accounts=accounts)
    # Every route the app documents. A route hidden from the schema (include_in_schema=False)
    # would escape this list: soundstage declares none.
    routes = [
        (method.upper(), re.sub(r"\{[^}]+\}", "x", path))
        for path, operations in app.openapi()["paths"].items()
        if path not in OPEN
        for method in sorted(operations)
    ]
    with running(app) as url:
        yield url, routes, accounts
    engine.dispose()


def test_every_route_but_health_needs_a_token(
    served: tuple[str, list[tuple[str, str]], Accounts],
) -> None:
    url, routes, accounts = served
    assert len(routes) >= 20  # openai, moderation, queue and recommendations are all mounted
    assert ("POST", "/moderate/queue/x/decision") in routes
    assert any(p.startswith("/recommendations") for _, p in routes)
    with httpx.Client(base_url=url, timeout=30) as http:
        assert http.get("/healthz").status_code == 200
        for method, path in routes:
            answer = http.request(method, path, json={})
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.headers.get("www-authenticate") == "Bearer", (method, path)
        revoked = accounts.add("gone", ["admin"])
        accounts.revoke("gone")
        signed = {"Authorization": f"Bearer {revoked.token}"}
        for method, path in routes:
            assert http.request(method, path, json={}, headers=signed).status_code == 401


def test_roles_decide_and_admin_may_do_everything(
    served: tuple[str, list[tuple[str, str]], Accounts],
) -> None:
    url, _, accounts = served
    tokens = {
        name: accounts.add(name, roles).token
        for name, roles in {
            "wendy": ["writer"],
            "rita": ["reviewer"],
            "anna": ["analyst"],
            "root": ["admin"],
        }.items()
    }

    def call(who: str, method: str, path: str, **kw: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {tokens[who]}"}
        return httpx.request(method, f"{url}{path}", headers=headers, timeout=30, **kw)  # type: ignore[arg-type]

    completion = {"prompt": "INT.", "max_tokens": 2}
    assert call("wendy", "POST", "/v1/completions", json=completion).status_code == 200
    denied = call("rita", "POST", "/v1/completions", json=completion)
    assert denied.status_code == 403
    error = denied.json()["error"]  # OpenAI clients read errors in OpenAI's shape
    assert error["type"] == "permission_error" and "writer or composer" in error["message"]
    assert call("wendy", "GET", "/moderate/queue").status_code == 403
    assert call("rita", "GET", "/moderate/queue").status_code == 200
    assert call("anna", "GET", "/moderate/queue/stats").status_code == 403
    assert call("anna", "POST", "/moderate", json={"text": "hello"}).status_code == 200
    assert call("root", "GET", "/moderate/queue").status_code == 200
    assert call("root", "POST", "/v1/completions", json=completion).status_code == 200
    assert call("wendy", "PUT", "/recommendations/models/active", json={}).status_code == 403
    unsigned = httpx.post(f"{url}/v1/completions", json=completion, timeout=30)
    assert unsigned.status_code == 401 and unsigned.json()["error"]["code"] == "invalid_api_key"


def test_without_accounts_everyone_is_the_local_operator(settings: Settings) -> None:
    app = create_app(settings, FixedTextTestBackend(), accounts=None)
    with running(app) as url:
        answer = httpx.post(f"{url}/v1/completions", json={"prompt": "a", "max_tokens": 1})
        assert answer.status_code == 200


def test_an_app_built_without_auth_refuses_to_serve() -> None:
    from fastapi import Depends, FastAPI

    from soundstage.web.auth import require

    app = FastAPI()

    @app.get("/x", dependencies=[Depends(require())])
    def x() -> dict[str, str]:
        return {}

    with running(app) as url:
        assert httpx.get(f"{url}/x").status_code == 500


def test_hosts_a_server_answers() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.5")
    assert "localhost" in allowed_hosts("127.0.0.1", [])
    assert allowed_hosts("10.0.0.5", ["Studio.Example.com"]) == ["studio.example.com", "10.0.0.5"]
    assert allowed_hosts("0.0.0.0", ["*"])[0] == "*"


def test_each_account_has_a_request_budget(settings: Settings) -> None:
    engine = open_store(settings)
    accounts = Accounts(engine)
    greedy = {"Authorization": f"Bearer {accounts.add('greedy', ['writer']).token}"}
    other = {"Authorization": f"Bearer {accounts.add('other', ['writer']).token}"}
    app = create_app(settings, FixedTextTestBackend(), accounts=accounts)
    install_auth(app, accounts, per_minute=60)  # a burst of 10, then one a second
    with running(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        codes = [http.get("/v1/models", headers=greedy).status_code for _ in range(12)]
        assert codes[:10] == [200] * 10 and codes[-1] == 429
        limited = http.get("/v1/models", headers=greedy)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
        assert "over 60 requests a minute" in limited.json()["error"]["message"]
        assert http.get("/v1/models", headers=other).status_code == 200  # others unaffected
        assert http.get("/healthz").status_code == 200
    engine.dispose()


def test_allowed_hosts_may_be_comma_separated() -> None:
    assert allowed_hosts("0.0.0.0", ["a.example, b.example", "c.example"])[:3] == [
        "a.example",
        "b.example",
        "c.example",
    ]
    assert "127.0.0.1" in allowed_hosts("0.0.0.0", ["a.example"])  # the container's own check
