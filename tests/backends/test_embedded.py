"""The shipped embedded model: repeatable, stoppable, streaming, and it writes dialogue."""

from __future__ import annotations

import re

import pytest

from soundstage.backends import Message, Sampling, load_backend
from soundstage.backends.embedded import EmbeddedBackend, list_shipped_models
from soundstage.errors import BackendUnavailable, SamplingError


@pytest.fixture(scope="module")
def backend() -> EmbeddedBackend:
    b = load_backend("embedded")
    assert isinstance(b, EmbeddedBackend)
    return b


def test_same_seed_same_text_and_different_seeds_differ(backend: EmbeddedBackend) -> None:
    a = backend.complete("ROMEO:", max_tokens=60, seed=1)
    b = backend.complete("ROMEO:", max_tokens=60, seed=1)
    c = backend.complete("ROMEO:", max_tokens=60, seed=2)
    assert a.text == b.text
    assert a.text != c.text
    assert a.completion_tokens == 60 and a.finish_reason == "length"
    assert a.prompt_tokens == backend.count_tokens("ROMEO:")


def test_output_looks_like_a_play(backend: EmbeddedBackend) -> None:
    text = backend.complete("ROMEO:\n", max_tokens=200, temperature=0.9, top_p=0.9, seed=3).text
    cues = re.findall(r"^[A-Z][A-Za-z ]{1,30}:$", text, flags=re.M)
    assert len(cues) >= 2, text  # it answers with further speaker turns
    words = re.findall(r"[a-z']+", text.lower())
    common = {"the", "and", "i", "to", "of", "my", "you", "a", "that", "in", "is", "me", "not"}
    assert sum(w in common for w in words) / len(words) > 0.15, text  # English, not noise


def test_streaming_yields_the_same_text_as_complete(backend: EmbeddedBackend) -> None:
    chunks = list(backend.stream("JULIET:\n", max_tokens=50, seed=5))
    assert len(chunks) > 10
    assert all(c.finish_reason is None for c in chunks[:-1])
    assert chunks[-1].finish_reason == "length" and chunks[-1].completion_tokens == 50
    full = backend.complete("JULIET:\n", max_tokens=50, seed=5)
    assert "".join(c.text for c in chunks) == full.text


def test_stop_strings_end_the_text_before_the_stop(backend: EmbeddedBackend) -> None:
    free = backend.complete("ROMEO:\n", max_tokens=120, seed=1).text
    assert "\n\n" in free
    stopped = backend.complete("ROMEO:\n", max_tokens=120, seed=1, stop=["\n\n"])
    assert stopped.finish_reason == "stop"
    assert stopped.text == free[: free.index("\n\n")]
    streamed = "".join(
        c.text for c in backend.stream("ROMEO:\n", max_tokens=120, seed=1, stop=["\n\n"])
    )
    assert streamed == stopped.text


def test_greedy_is_deterministic_without_a_seed(backend: EmbeddedBackend) -> None:
    a = backend.complete("HAMLET:\n", max_tokens=20, temperature=0)
    b = backend.complete("HAMLET:\n", max_tokens=20, temperature=0)
    assert a.text == b.text


def test_any_unicode_prompt_encodes(backend: EmbeddedBackend) -> None:
    out = backend.complete("ZOË 🎬 — «scène»:\n", max_tokens=10, seed=0)
    assert out.prompt_tokens > 5 and out.completion_tokens <= 10


def test_chat_renders_roles_as_speakers(backend: EmbeddedBackend) -> None:
    reply = backend.chat(
        [Message("system", "A quarrel in Verona."), Message("user", "Who goes there?")],
        Sampling(max_tokens=40, seed=1),
    )
    assert "USER:" not in reply.text and reply.completion_tokens <= 40


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"temperature": -1}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"top_k": 0}, "top_k"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"stop": [""]}, "stop"),
    ],
)
def test_bad_sampling_values_are_rejected(
    backend: EmbeddedBackend, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(SamplingError, match=field):
        backend.complete("x", **kwargs)  # type: ignore[arg-type]


def test_missing_model_directory_is_a_clear_error(tmp_path: object) -> None:
    with pytest.raises(BackendUnavailable, match="not found"):
        load_backend(f"embedded:{tmp_path}/none")


def test_shipped_model_is_listed_within_the_size_budget() -> None:
    (model,) = [m for m in list_shipped_models() if m["name"] == "drama-lm"]
    assert isinstance(model["bytes"], int) and model["bytes"] <= 60 * 1024 * 1024
    assert isinstance(model["params"], int) and model["params"] > 1_000_000
