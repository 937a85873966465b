"""Real servers for web tests: uvicorn in a background thread on 127.0.0.1, on a free port.

`FixedTextTestBackend` is a test-only backend with a known answer, so tests can assert exact
text without a trained model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field

import pytest
from servers import running

from soundstage.backends import Chunk, Sampling, TextBackend
from soundstage.errors import BackendError
from soundstage.web.openai_api import create_openai_app

CONTINUATION = " once upon a time a robot wrote a play about a lighthouse and the sea"
TOKENS = tuple(" " + word for word in CONTINUATION.split())


@dataclass
class FixedTextTestBackend(TextBackend):
    """TEST BACKEND: continues any prompt with CONTINUATION, one word per token.

    Honours max_tokens and stop strings like a real model; `delay` slows each token down;
    `fail_after` raises mid-stream; `max_active` records overlapping calls (must stay 1).
    """

    model: str = "fixed-text"
    delay: float = 0.0
    fail_after: int | None = None
    active: int = field(default=0, compare=False)
    max_active: int = field(default=0, compare=False)

    def _stream(self, prompt: str, sampling: Sampling) -> Iterator[Chunk]:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            yield from self._tokens(prompt, sampling)
        finally:
            self.active -= 1

    def _tokens(self, prompt: str, sampling: Sampling) -> Iterator[Chunk]:
        tokens = TOKENS[: sampling.max_tokens]
        finish = "stop" if len(tokens) == len(TOKENS) else "length"
        text = "".join(tokens)
        cuts = [i for i in (text.find(s) for s in sampling.stop) if i >= 0]
        if cuts:
            text, finish = text[: min(cuts)], "stop"
        emitted = used = 0
        for token in tokens:
            if emitted >= len(text):
                break
            if self.fail_after is not None and used == self.fail_after:
                raise BackendError("test backend failed on purpose")
            time.sleep(self.delay)
            piece = text[emitted : emitted + len(token)]
            emitted += len(piece)
            used += 1
            yield Chunk(piece)
        yield Chunk("", "stop" if finish == "stop" else "length", len(prompt.split()), used)


@pytest.fixture(scope="session")
def fixed_backend() -> FixedTextTestBackend:
    return FixedTextTestBackend()


@pytest.fixture(scope="session")
def server_url(fixed_backend: FixedTextTestBackend) -> Iterator[str]:
    """One shared server over the fixed-text test backend, for the whole session."""
    with running(create_openai_app(fixed_backend, None)) as url:
        yield url


@pytest.fixture
def serve() -> Iterator[Callable[[TextBackend], str]]:
    """Start a server for any backend; stopped when the test ends."""
    with ExitStack() as stack:
        yield lambda backend: stack.enter_context(running(create_openai_app(backend, None)))


@pytest.fixture
def make_fixed_backend() -> Callable[..., FixedTextTestBackend]:
    return FixedTextTestBackend
