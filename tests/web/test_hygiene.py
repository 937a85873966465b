"""Text that cannot be stored or encoded (NUL, lone surrogates), URLs with NUL, oversize
reports and an unreachable store: 4xx/503 with the field named, never a 500. On a real
server, on SQLite and PostgreSQL (PostgreSQL refuses NUL in text columns)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from conftest import FixedTextTestBackend
from servers import running

from soundstage.errors import SoundstageError
from soundstage.script.controls import check_logline
from soundstage.settings import Settings
from soundstage.textcheck import check_text, unsafe_path
from soundstage.web.app import create_app

JSON = {"content-type": "application/json"}


@pytest.fixture
def client(store_settings: Settings) -> Iterator[httpx.Client]:
    app = create_app(store_settings, FixedTextTestBackend(), accounts=None)
    with running(app) as url, httpx.Client(base_url=url, timeout=30, headers=JSON) as http:
        yield http


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800", "\\udfff"])
def test_unsafe_text_in_any_body_is_422_naming_the_field(client: httpx.Client, escape: str) -> None:
    bodies = {
        "/moderate": '{"items": [{"text": "ok"}, {"text": "a%sb"}]}',
        "/moderate/reports": '{"content_id": "c", "reason": "r%s", "text": "t"}',
        "/moderate/queue/claim": '{"surface": "%s"}',
    }
    for route, body in bodies.items():
        answer = client.post(route, content=body.replace("%s", escape).encode())
        assert answer.status_code == 422, (route, answer.text)
        assert "NUL or lone surrogates" in answer.text
    named = client.post("/moderate", content=bodies["/moderate"].replace("%s", escape).encode())
    assert "items[1].text" in named.text
    completion = client.post("/v1/completions", content=f'{{"prompt": "x{escape}"}}'.encode())
    assert completion.status_code == 400 and "prompt" in completion.json()["error"]["message"]


@pytest.mark.parametrize(
    "path", ["/moderate/queue/%00", "/moderate/queue/a%ED%A0%80", "/moderate/queue/%FF"]
)
def test_urls_with_nul_or_bad_escapes_are_400(client: httpx.Client, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 400 and "URL" in answer.json()["detail"]
    assert client.get("/moderate/queue/stats", params={"surface": "\x00"}).status_code == 400


def test_a_report_over_1_mib_is_413_and_not_stored(client: httpx.Client) -> None:
    body = {"content_id": "c", "reason": "spam", "text": "a" * 1_048_577}
    assert client.post("/moderate/reports", json=body).status_code == 413
    assert client.get("/moderate/queue").json() == []
    body["text"] = "a" * 1_048_576
    assert client.post("/moderate/reports", json=body).status_code == 201


def test_an_unreachable_store_is_503_not_500(settings: Settings) -> None:
    from soundstage.settings import load_settings

    down = load_settings(database_url="postgresql+psycopg://nobody@127.0.0.1:9/none")
    app = create_app(down, FixedTextTestBackend(), accounts=None)
    with running(app) as url:
        answer = httpx.get(f"{url}/moderate/queue", timeout=30)
    assert answer.status_code == 503 and "cannot connect" in answer.json()["detail"]


def test_cli_text_inputs_name_the_problem() -> None:
    with pytest.raises(SoundstageError, match="the logline contains NUL at character 3"):
        check_logline("ab\x00c")
    with pytest.raises(SoundstageError, match=r"lone surrogate \(U\+DCFF\) at character 1"):
        check_text("\udcff", "the text")
    assert unsafe_path({"a": [1, {"b": "ok"}, {"c": "\ud800"}]}) == "a[2].c"
    assert unsafe_path({"ok": ["fine"]}) is None
