"""The OpenAI-compatible server, exercised over real HTTP by the real `OpenAIBackend` client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from soundstage.backends import Message, Sampling, TextBackend, load_backend
from soundstage.backends.openai import OpenAIBackend
from soundstage.errors import BackendError, BackendUnavailable

FIRST_FIVE = " once upon a time a"


@pytest.fixture
def client(server_url: str) -> Iterator[OpenAIBackend]:
    backend = load_backend(f"openai:fixed-text@{server_url}/v1")
    assert isinstance(backend, OpenAIBackend)
    with backend:
        yield backend


def sse_events(response: httpx.Response) -> list[Any]:
    """Parse an SSE body strictly: only `data:` events separated by blank lines."""
    assert response.headers["content-type"].startswith("text/event-stream")
    blocks = response.text.split("\n\n")
    assert blocks[-1] == ""
    events: list[Any] = []
    for block in blocks[:-1]:
        assert block.startswith("data: "), block
        payload = block[len("data: ") :]
        events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


# -- through the OpenAIBackend client ------------------------------------------------------


def test_completion_returns_text_finish_reason_and_usage(client: OpenAIBackend) -> None:
    result = client.complete("two words", max_tokens=5)
    assert result.text == FIRST_FIVE
    assert result.finish_reason == "length"
    assert (result.prompt_tokens, result.completion_tokens) == (2, 5)
    assert result.model == "fixed-text"


def test_streaming_yields_pieces_as_they_come_and_ends_with_usage(client: OpenAIBackend) -> None:
    chunks = list(client.stream("one two three", max_tokens=5))
    assert [c.text for c in chunks[:-1]] == [" once", " upon", " a", " time", " a"]
    last = chunks[-1]
    assert (last.finish_reason, last.prompt_tokens, last.completion_tokens) == ("length", 3, 5)


def test_streaming_text_equals_non_streaming_text(client: OpenAIBackend) -> None:
    streamed = "".join(c.text for c in client.stream("x", max_tokens=50))
    assert streamed == client.complete("x", max_tokens=50).text
    assert client.complete("x", max_tokens=50).finish_reason == "stop"  # ran out of text


def test_stop_strings_end_the_text_streaming_or_not(client: OpenAIBackend) -> None:
    result = client.complete("x", max_tokens=20, stop=[" time", " robot"])
    assert (result.text, result.finish_reason) == (" once upon a", "stop")
    streamed = list(client.stream("x", max_tokens=20, stop=[" time"]))
    assert "".join(c.text for c in streamed) == " once upon a"
    assert streamed[-1].finish_reason == "stop"


def test_chat_and_chat_stream_use_the_chat_endpoint(client: OpenAIBackend) -> None:
    messages = [Message("system", "be brief"), Message("user", "tell me a story")]
    sampling = Sampling(max_tokens=3)
    result = client.chat(messages, sampling)
    assert (result.text, result.finish_reason, result.completion_tokens) == (
        " once upon a",
        "length",
        3,
    )
    assert result.prompt_tokens > 0  # the rendered script, counted by the test backend
    chunks = list(client.chat_stream(messages, sampling))
    assert "".join(c.text for c in chunks) == " once upon a"
    assert chunks[-1].completion_tokens == 3


def test_chat_only_spec_sends_complete_through_chat(server_url: str) -> None:
    with load_backend(f"openai:fixed-text@{server_url}/v1?api=chat") as backend:
        assert isinstance(backend, OpenAIBackend)
        assert backend.api == "chat"
        assert backend.base_url == f"{server_url}/v1"
        # The chat template adds USER/ASSISTANT cues, so the prompt has more tokens than 1.
        assert backend.complete("hello", max_tokens=2).prompt_tokens > 1


def test_unknown_model_through_client_names_the_model(server_url: str) -> None:
    with load_backend(f"openai:nope@{server_url}/v1") as backend:
        with pytest.raises(BackendError, match="does not serve model 'nope'"):
            backend.complete("x")


def test_wrong_base_url_says_so(server_url: str) -> None:
    with load_backend(f"openai:fixed-text@{server_url}/v2") as backend:
        with pytest.raises(BackendError, match="no OpenAI-compatible API at .*/v2/completions"):
            backend.complete("x")


def test_error_mid_stream_reaches_the_client(
    serve: Callable[[TextBackend], str], make_fixed_backend: Callable[..., TextBackend]
) -> None:
    url = serve(make_fixed_backend(fail_after=2))
    with load_backend(f"openai:fixed-text@{url}/v1") as backend:
        received: list[str] = []
        with pytest.raises(BackendError, match="failed on purpose"):
            for chunk in backend.stream("x", max_tokens=10):
                received.append(chunk.text)
        assert received == [" once", " upon"]


def test_error_before_first_chunk_is_an_http_error(
    serve: Callable[[TextBackend], str], make_fixed_backend: Callable[..., TextBackend]
) -> None:
    url = serve(make_fixed_backend(fail_after=0))
    body = {"prompt": "x", "stream": True}
    response = httpx.post(f"{url}/v1/completions", json=body)
    assert response.status_code == 502
    assert "failed on purpose" in response.json()["error"]["message"]


# -- the wire format, checked with plain httpx ---------------------------------------------


def test_healthz_and_models(server_url: str) -> None:
    assert httpx.get(f"{server_url}/healthz").json() == {"status": "ok", "model": "fixed-text"}
    models = httpx.get(f"{server_url}/v1/models").json()
    assert models["object"] == "list"
    assert [m["id"] for m in models["data"]] == ["fixed-text"]
    assert models["data"][0]["object"] == "model"
    assert httpx.get(f"{server_url}/v1/models/fixed-text").json()["id"] == "fixed-text"
    assert httpx.get(f"{server_url}/v1/models/other").status_code == 404


def test_non_streaming_completion_shape(server_url: str) -> None:
    body = {"model": "fixed-text", "prompt": ["a b"], "max_tokens": 2}
    data = httpx.post(f"{server_url}/v1/completions", json=body).json()
    assert data["id"].startswith("cmpl-")
    assert data["object"] == "text_completion"
    assert isinstance(data["created"], int)
    assert data["model"] == "fixed-text"
    assert data["choices"] == [
        {"index": 0, "text": " once upon", "logprobs": None, "finish_reason": "length"}
    ]
    assert data["usage"] == {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}


def test_non_streaming_chat_shape_and_model_may_be_omitted(server_url: str) -> None:
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}
    data = httpx.post(f"{server_url}/v1/chat/completions", json={**body, "max_tokens": 1}).json()
    assert data["id"].startswith("chatcmpl-")
    assert data["object"] == "chat.completion"
    assert data["choices"][0]["message"] == {"role": "assistant", "content": " once"}
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] == 1


def test_streaming_completion_wire_format_with_usage(server_url: str) -> None:
    body = {
        "model": "fixed-text",
        "prompt": "a",
        "max_tokens": 2,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    events = sse_events(httpx.post(f"{server_url}/v1/completions", json=body))
    assert events[-1] == "[DONE]"
    chunks, usage = events[:-2], events[-2]
    assert {e["object"] for e in chunks} == {"text_completion"}
    assert len({e["id"] for e in events[:-1]}) == 1
    assert [e["choices"][0]["text"] for e in chunks] == [" once", " upon", ""]
    assert [e["choices"][0]["finish_reason"] for e in chunks] == [None, None, "length"]
    assert all(e["usage"] is None for e in chunks)
    assert usage["choices"] == []
    assert usage["usage"] == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}


def test_streaming_chat_wire_format_without_usage(server_url: str) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "stream": True}
    events = sse_events(httpx.post(f"{server_url}/v1/chat/completions", json=body))
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert {e["object"] for e in chunks} == {"chat.completion.chunk"}
    assert all("usage" not in e for e in chunks)
    deltas = [e["choices"][0]["delta"] for e in chunks]
    assert deltas == [
        {"role": "assistant", "content": ""},
        {"content": " once"},
        {"content": " upon"},
        {},
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


@pytest.mark.parametrize(
    ("field", "value", "param"),
    [("temperature", 9.0, "temperature"), ("top_p", 0, "top_p"), ("max_tokens", 0, "max_tokens")],
)
def test_bad_sampling_values_are_400_in_openai_shape(
    server_url: str, field: str, value: float, param: str
) -> None:
    for stream in (False, True):
        body = {"prompt": "x", field: value, "stream": stream}
        response = httpx.post(f"{server_url}/v1/completions", json=body)
        assert response.status_code == 400
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert error["type"] == "invalid_request_error"
        assert error["param"] == param
        assert param in error["message"]


def test_unknown_model_is_404_in_openai_shape(server_url: str) -> None:
    for path, extra in [
        ("completions", {"prompt": "x"}),
        ("chat/completions", {"messages": [{"role": "user", "content": "x"}]}),
    ]:
        response = httpx.post(f"{server_url}/v1/{path}", json={"model": "gpt-9", **extra})
        assert response.status_code == 404
        error = response.json()["error"]
        assert (error["code"], error["param"]) == ("model_not_found", "model")
        assert "gpt-9" in error["message"]


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ({"prompt": "x", "n": 2}, "n", "one choice"),
        ({"prompt": ["a", "b"]}, "prompt", "exactly one"),
        ({"prompt": [1, 2]}, "prompt", ""),
        ({}, "prompt", "required"),
        ({"prompt": "x", "stop": [""]}, "stop", "must not be empty"),
    ],
)
def test_invalid_requests_are_400(
    server_url: str, body: dict[str, Any], param: str, words: str
) -> None:
    response = httpx.post(f"{server_url}/v1/completions", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == param
    assert words in error["message"]


def test_body_that_is_not_json_is_400(server_url: str) -> None:
    response = httpx.post(
        f"{server_url}/v1/chat/completions",
        content=b"{nope",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "request body is not valid JSON"


# -- concurrency ---------------------------------------------------------------------------


def test_chunks_arrive_while_generating_and_healthz_stays_responsive(
    serve: Callable[[TextBackend], str], make_fixed_backend: Callable[..., TextBackend]
) -> None:
    url = serve(make_fixed_backend(delay=0.15))
    body = {"prompt": "x", "max_tokens": 6, "stream": True}
    arrivals: list[float] = []
    start = time.monotonic()
    with httpx.stream("POST", f"{url}/v1/completions", json=body, timeout=10) as response:
        for line in response.iter_lines():
            if line.startswith("data: {"):
                arrivals.append(time.monotonic() - start)
                if len(arrivals) == 1:
                    health_start = time.monotonic()
                    assert httpx.get(f"{url}/healthz").status_code == 200
                    assert time.monotonic() - health_start < 0.1
    assert len(arrivals) == 7  # six tokens, then the finish event
    assert arrivals[0] < 0.5 < arrivals[-1]  # streamed, not buffered until the end


def test_a_client_that_goes_away_frees_the_backend(
    serve: Callable[[TextBackend], str], make_fixed_backend: Callable[..., Any]
) -> None:
    backend = make_fixed_backend(delay=0.1)
    url = serve(backend)
    body = {"prompt": "x", "max_tokens": 15, "stream": True}
    with httpx.stream("POST", f"{url}/v1/completions", json=body, timeout=10) as response:
        next(response.iter_lines())  # one token in, then hang up (1.5 s of tokens left)
    start = time.monotonic()
    quick = {"prompt": "x", "max_tokens": 1}
    assert httpx.post(f"{url}/v1/completions", json=quick, timeout=10).status_code == 200
    assert time.monotonic() - start < 0.8  # the abandoned stream stopped and let go of the lock
    assert backend.active == 0


def test_a_client_that_leaves_a_non_streaming_completion_frees_the_backend(
    serve: Callable[[TextBackend], str], make_fixed_backend: Callable[..., Any]
) -> None:
    backend = make_fixed_backend(delay=0.2)
    url = serve(backend)
    body = {"prompt": "x", "max_tokens": 15}  # 3 s of tokens, no streaming
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{url}/v1/completions", json=body, timeout=0.5)  # gives up after 0.5 s
    start = time.monotonic()
    quick = {"prompt": "x", "max_tokens": 1}
    assert httpx.post(f"{url}/v1/completions", json=quick, timeout=10).status_code == 200
    assert time.monotonic() - start < 1.2  # not the 2.5 s the abandoned answer had left
    assert backend.active == 0 and backend.max_active == 1


def test_calls_into_the_backend_are_serialised(
    serve: Callable[[TextBackend], str], make_fixed_backend: Callable[..., Any]
) -> None:
    backend = make_fixed_backend(delay=0.02)
    url = serve(backend)
    errors: list[BaseException] = []

    def call(stream: bool) -> None:
        try:
            body = {"prompt": "x", "max_tokens": 5, "stream": stream}
            assert httpx.post(f"{url}/v1/completions", json=body, timeout=10).status_code == 200
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i % 2 == 0,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert backend.max_active == 1


# -- the embedded model, once it is built --------------------------------------------------


@pytest.fixture(scope="module")
def embedded() -> Iterator[TextBackend]:
    try:
        backend = load_backend("embedded")
    except BackendUnavailable as exc:
        pytest.skip(f"embedded model not built: {exc}")
    with backend:
        yield backend


def test_embedded_model_through_the_server_matches_in_process(
    serve: Callable[[TextBackend], str], embedded: TextBackend
) -> None:
    url = serve(embedded)
    args: dict[str, Any] = {"max_tokens": 16, "temperature": 0.9, "seed": 7}
    prompt = "INT. LIGHTHOUSE - NIGHT\n\n"
    with load_backend(f"openai:{embedded.model}@{url}/v1") as client:
        first = client.complete(prompt, **args)
        assert first.text
        assert client.complete(prompt, **args).text == first.text  # same seed, same text
        assert client.complete(prompt, **{**args, "seed": 8}).text != first.text
        streamed = list(client.stream(prompt, **args))
        assert "".join(c.text for c in streamed) == first.text
        assert streamed[-1].completion_tokens == first.completion_tokens
    local = embedded.complete(prompt, **args)
    assert (local.text, local.completion_tokens) == (first.text, first.completion_tokens)


def test_embedded_model_chat_through_the_server(
    serve: Callable[[TextBackend], str], embedded: TextBackend
) -> None:
    url = serve(embedded)
    messages = [Message("user", "Where were you last night?")]
    sampling = Sampling(max_tokens=16, temperature=0.7, seed=3)
    with load_backend(f"openai:{embedded.model}@{url}/v1") as client:
        remote = client.chat(messages, sampling)
        streamed = "".join(c.text for c in client.chat_stream(messages, sampling))
    assert remote.text == streamed == embedded.chat(messages, sampling).text
