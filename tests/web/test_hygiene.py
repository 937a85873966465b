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


def _raw(url: str, head: bytes, body_parts: list[bytes]) -> tuple[bytes, float]:
    """Send a request by hand (a client that keeps sending after a 413 is what we test);
    the answer's first bytes and the seconds until they came. The answer is read as soon as
    it arrives, before the server's close can reset the connection."""
    import select
    import socket
    import time

    host, port = url.removeprefix("http://").split(":")
    started = time.perf_counter()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head)
        for part in [b"", *body_parts]:
            try:
                sock.sendall(part)
            except OSError:  # the server answered and closed: it did not wait for the rest
                break
            if select.select([sock], [], [], 0.05)[0]:
                break
        answer = b""
        while b"}" not in answer:  # the JSON body, which may come in a second segment
            try:
                more = sock.recv(4096)
            except OSError:
                break
            if not more:
                break
            answer += more
        return answer, time.perf_counter() - started


def test_a_body_over_the_limit_is_413_before_it_is_read(client: httpx.Client) -> None:
    url = str(client.base_url).rstrip("/")
    declared = (
        b"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 52428800\r\n\r\n"
    )
    answer, seconds = _raw(url, declared, [b'{"prompt": "'])  # 50 MB announced, 12 bytes sent
    assert answer.startswith(b"HTTP/1.1 413") and seconds < 1
    chunked = (
        b"POST /moderate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"100000\r\n" + b"a" * 0x100000 + b"\r\n"  # 1 MiB a chunk, no length announced
    answer, _ = _raw(url, chunked, [chunk] * 40)
    assert answer.startswith(b"HTTP/1.1 413") and b"8,388,608" in answer
    assert client.post("/moderate", json={"text": "fine"}).status_code == 200  # still serving


def test_prompts_and_max_tokens_must_fit_the_models_window() -> None:
    from soundstage.web.openai_api import OpenAIError, fit_messages, fit_prompt

    class Fixed(FixedTextTestBackend):  # TEST BACKEND with a window of 100 tokens
        def window(self) -> tuple[int, bool] | None:
            return 100, False

    class Sliding(FixedTextTestBackend):  # TEST BACKEND that reads its last 100 tokens
        def window(self) -> tuple[int, bool] | None:
            return 100, True

    assert fit_prompt(Fixed(), "short", 50) == "short"
    with pytest.raises(OpenAIError) as err:
        fit_prompt(Fixed(), "x" * 12_801, 50)
    assert err.value.status == 413 and "12,801 characters" in str(err.value)
    with pytest.raises(OpenAIError, match="max_tokens is 101"):
        fit_prompt(Fixed(), "short", 101)
    assert fit_prompt(Sliding(), "a" + "x" * 12_800, 4096) == "x" * 12_800  # its tail
    with pytest.raises(OpenAIError, match="max_tokens is 4,097"):
        fit_prompt(Sliding(), "short", 4097)
    from soundstage.backends import Message

    with pytest.raises(OpenAIError, match="messages are 12,801 characters"):
        fit_messages(Fixed(), [Message("user", "x" * 12_801)], 10)
