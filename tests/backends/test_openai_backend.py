"""The `openai:` client against scripted HTTP servers: retries, errors and request bodies.

End-to-end behaviour against soundstage's own server is in tests/web/test_openai_api.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from soundstage.backends import Message, Sampling, load_backend
from soundstage.backends.openai import OpenAIBackend
from soundstage.errors import BackendError, BackendSpecError, BackendUnavailable
from soundstage.settings import Settings, load_settings

Scripted = Callable[..., Any]


def completion(text: str = "hello", finish: str = "stop") -> dict[str, Any]:
    choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}
    usage = {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
    return {
        "id": "cmpl-1",
        "object": "text_completion",
        "model": "m",
        "choices": [choice],
        "usage": usage,
    }


def event(text: str, finish: str | None = None) -> str:
    return json.dumps({"choices": [{"index": 0, "text": text, "finish_reason": finish}]})


def client(url: str, **options: Any) -> OpenAIBackend:
    defaults: dict[str, Any] = {"backoff": 0.01, "max_retries": 3, "timeout": 5.0}
    return OpenAIBackend(model="m", spec="openai:m@" + url, base_url=url, **{**defaults, **options})


# -- retries -------------------------------------------------------------------------------


def test_429_is_retried_after_the_retry_after_delay(scripted: Scripted, reply: Any) -> None:
    server = scripted(
        reply(429, json={"error": {"message": "slow down"}}, headers={"Retry-After": "1"}),
        reply(json=completion()),
    )
    # A huge backoff shows the wait came from Retry-After, not from our own schedule.
    with client(server.url, backoff=30.0) as backend:
        start = time.monotonic()
        assert backend.complete("x").text == "hello"
        elapsed = time.monotonic() - start
    assert server.count == 2
    assert 0.9 < elapsed < 5


def test_503_is_retried_with_backoff_until_it_succeeds(scripted: Scripted, reply: Any) -> None:
    server = scripted(reply(503, text="busy"), reply(503, text="busy"), reply(json=completion()))
    with client(server.url) as backend:
        assert backend.complete("x").text == "hello"
    assert server.count == 3


def test_retries_give_up_after_max_retries(scripted: Scripted, reply: Any) -> None:
    server = scripted(reply(500, json={"error": {"message": "boom"}}))
    with client(server.url, max_retries=2) as backend:
        with pytest.raises(BackendUnavailable, match="HTTP 500 after 3 tries: boom"):
            backend.complete("x")
    assert server.count == 3


def test_a_long_retry_after_is_not_slept_on(scripted: Scripted, reply: Any) -> None:
    server = scripted(reply(429, text="quota", headers={"Retry-After": "3600"}))
    with client(server.url) as backend:
        start = time.monotonic()
        with pytest.raises(BackendUnavailable, match="HTTP 429"):
            backend.complete("x")
    assert time.monotonic() - start < 2
    assert server.count == 1


def test_no_retry_once_a_stream_has_started(scripted: Scripted, reply: Any) -> None:
    server = scripted(reply(events=[event(" once"), event(" upon")], abort=True))
    with client(server.url) as backend:
        received: list[str] = []
        with pytest.raises(BackendError, match="broke after 2 chunks"):
            for chunk in backend.stream("x"):
                received.append(chunk.text)
    assert received == [" once", " upon"]
    assert server.count == 1


def test_stream_errors_before_headers_are_retried(scripted: Scripted, reply: Any) -> None:
    server = scripted(reply(503, text="warming up"), reply(events=[event("hi", "stop"), "[DONE]"]))
    with client(server.url) as backend:
        assert "".join(c.text for c in backend.stream("x")) == "hi"
    assert server.count == 2


# -- errors --------------------------------------------------------------------------------


def test_401_names_the_env_var_the_key_came_from(
    scripted: Scripted, reply: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = scripted(reply(401, json={"error": {"message": "Incorrect API key provided"}}))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    with load_backend(f"openai:m@{server.url}") as backend:
        with pytest.raises(BackendError) as info:
            backend.complete("x")
    assert "rejected the API key (HTTP 401): Incorrect API key provided" in str(info.value)
    assert info.value.hint == "check the key in OPENAI_API_KEY"
    assert server.received[0].headers["Authorization"] == "Bearer sk-wrong"
    assert server.count == 1


def test_401_without_a_key_says_which_variables_to_set(scripted: Scripted, reply: Any) -> None:
    server = scripted(reply(401, text="unauthorized"))
    with load_backend(f"openai:m@{server.url}") as backend:
        with pytest.raises(BackendError) as info:
            backend.complete("x")
    assert info.value.hint is not None
    assert "SOUNDSTAGE_OPENAI_API_KEY or OPENAI_API_KEY" in info.value.hint
    assert "Authorization" not in server.received[0].headers


def test_soundstage_key_wins_over_openai_key(
    scripted: Scripted, reply: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = scripted(reply(json=completion()))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-generic")
    monkeypatch.setenv("SOUNDSTAGE_OPENAI_API_KEY", "sk-soundstage")
    with load_backend(f"openai:m@{server.url}", load_settings()) as backend:
        backend.complete("x")
    assert server.received[0].headers["Authorization"] == "Bearer sk-soundstage"


def test_404_with_a_model_message_blames_the_model(scripted: Scripted, reply: Any) -> None:
    message = "The model `m` does not exist or you do not have access to it."
    server = scripted(reply(404, json={"error": {"message": message, "code": "model_not_found"}}))
    with client(server.url) as backend:
        with pytest.raises(BackendError, match="does not serve model 'm'"):
            backend.complete("x")


def test_404_without_json_blames_the_url(scripted: Scripted, reply: Any) -> None:
    server = scripted(reply(404, text="<h1>Not Found</h1>"))
    with client(server.url) as backend:
        with pytest.raises(BackendError, match=r"no OpenAI-compatible API at .*/v1/completions"):
            backend.complete("x")


def test_connection_refused_says_the_url_and_asks_if_it_runs(free_port: int) -> None:
    url = f"http://127.0.0.1:{free_port}/v1"
    with client(url, max_retries=1) as backend:
        with pytest.raises(BackendUnavailable) as info:
            backend.complete("x")
    assert str(info.value) == (
        f"cannot connect to {url}/completions: connection refused (is the server running?)"
    )


def test_timeout_is_a_clear_error(scripted: Scripted, reply: Any) -> None:
    server = scripted(reply(json=completion(), delay=3))
    with client(server.url, timeout=0.3) as backend:
        start = time.monotonic()
        with pytest.raises(BackendUnavailable, match=r"no answer from .* within 0.3 s"):
            backend.complete("x")
    assert time.monotonic() - start < 2
    assert server.count == 1  # a slow server is not hammered with retries


def test_non_json_answer_is_a_clear_error(scripted: Scripted, reply: Any) -> None:
    server = scripted(reply(200, text="<html>welcome to my router</html>"))
    with client(server.url) as backend:
        with pytest.raises(BackendError, match=r"not JSON \(text/html\).*welcome to my router"):
            backend.complete("x")
        with pytest.raises(BackendError, match="not JSON"):
            list(backend.stream("x"))


def test_non_json_stream_event_is_a_clear_error(scripted: Scripted, reply: Any) -> None:
    server = scripted(reply(events=["<oops>"]))
    with client(server.url) as backend, pytest.raises(BackendError, match="not JSON"):
        list(backend.stream("x"))


def test_stream_cut_short_without_done_is_an_error(scripted: Scripted, reply: Any) -> None:
    server = scripted(reply(events=[event("half")]))
    with (
        client(server.url) as backend,
        pytest.raises(BackendError, match="ended before the answer was finished"),
    ):
        list(backend.stream("x"))


# -- request bodies and usage --------------------------------------------------------------


def test_optional_fields_are_sent_only_when_set(scripted: Scripted, reply: Any) -> None:
    server = scripted(reply(json=completion()))
    with client(server.url) as backend:
        backend.complete("x", max_tokens=7, temperature=0.5)
        backend.complete("x", top_k=40, seed=3, stop=["\n"])
    plain, full = (r.body for r in server.received)
    assert plain == {
        "model": "m",
        "prompt": "x",
        "max_tokens": 7,
        "temperature": 0.5,
        "top_p": 1.0,
        "stream": False,
    }
    assert (full["top_k"], full["seed"], full["stop"]) == (40, 3, ["\n"])


def test_streaming_asks_for_usage_and_uses_it(scripted: Scripted, reply: Any) -> None:
    usage = json.dumps({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 2}})
    server = scripted(reply(events=[event("a"), event("b", "length"), usage, "[DONE]"]))
    with client(server.url) as backend:
        chunks = list(backend.stream("x"))
    assert server.received[0].body["stream_options"] == {"include_usage": True}
    assert [c.text for c in chunks] == ["a", "b", ""]
    assert (chunks[-1].finish_reason, chunks[-1].prompt_tokens, chunks[-1].completion_tokens) == (
        "length",
        9,
        2,
    )


def test_servers_rejecting_stream_options_fall_back_to_counting(
    scripted: Scripted, reply: Any
) -> None:
    rejected = {"error": {"message": "Unrecognized request argument supplied: stream_options"}}
    server = scripted(
        reply(400, json=rejected),
        reply(events=[event("a"), event("b"), event("", "stop"), "[DONE]"]),
    )
    with client(server.url) as backend:
        last = list(backend.stream("x"))[-1]
        assert (last.finish_reason, last.completion_tokens) == ("stop", 2)
        list(backend.stream("x"))  # remembered: not asked again
    assert [("stream_options" in r.body) for r in server.received] == [True, False, False]


def test_chat_uses_the_chat_endpoint_and_message_shape(scripted: Scripted, reply: Any) -> None:
    answer = {
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "hey"},
                "finish_reason": "stop",
            }
        ]
    }
    server = scripted(reply(json=answer))
    with client(server.url) as backend:
        result = backend.chat([Message("user", "hi")], Sampling(max_tokens=4))
    assert (result.text, result.finish_reason) == ("hey", "stop")
    assert server.received[0].path == "/v1/chat/completions"
    assert server.received[0].body["messages"] == [{"role": "user", "content": "hi"}]


def test_api_chat_option_sends_complete_through_chat(scripted: Scripted, reply: Any) -> None:
    delta = json.dumps(
        {"choices": [{"index": 0, "delta": {"content": "hey"}, "finish_reason": "stop"}]}
    )
    server = scripted(reply(events=[delta, "[DONE]"]))
    with load_backend(f"openai:m@{server.url}?api=chat") as backend:
        assert "".join(c.text for c in backend.stream("hi")) == "hey"
    assert server.received[0].path == "/v1/chat/completions"
    assert server.received[0].body["messages"] == [{"role": "user", "content": "hi"}]


# -- construction --------------------------------------------------------------------------


def test_from_settings_takes_timeout_and_retries(settings: Settings) -> None:
    tuned = settings.model_copy(update={"request_timeout": 7.5, "max_retries": 1})
    backend = OpenAIBackend.from_settings(
        "m", "http://h:1/v1/", tuned, spec="openai:m@http://h:1/v1/"
    )
    assert (backend.base_url, backend.timeout, backend.max_retries) == ("http://h:1/v1", 7.5, 1)
    backend.close()
    backend.close()  # safe twice


def test_unknown_url_option_is_a_spec_error() -> None:
    with pytest.raises(BackendSpecError, match="unknown option foo=1"):
        load_backend("openai:m@http://h:1/v1?foo=1")
