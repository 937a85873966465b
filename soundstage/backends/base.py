"""The one text-model interface every generator in soundstage uses.

A backend turns a prompt into text. `stream()` is the primitive: it yields `Chunk`s and
its last chunk carries the finish reason and token counts. `complete()` drains the stream
into a `Completion`; backends may override it when the remote API has a cheaper
non-streaming call. `chat()` renders messages with `render_chat()` for plain
completion models; backends talking to chat APIs override it.

Sampling parameters are validated once, here (`Sampling`), so every backend rejects the
same bad values with the same message.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from soundstage.errors import SamplingError

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class Sampling:
    """How to sample. `temperature == 0` means greedy; `seed` makes runs repeatable."""

    max_tokens: int = 256
    temperature: float = 0.8
    top_p: float = 1.0
    top_k: int | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.max_tokens <= 32768:
            raise SamplingError(f"max_tokens must be between 1 and 32768, got {self.max_tokens}")
        if not 0.0 <= self.temperature <= 5.0:
            raise SamplingError(f"temperature must be between 0 and 5, got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise SamplingError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k is not None and self.top_k < 1:
            raise SamplingError(f"top_k must be a positive integer, got {self.top_k}")
        if len(self.stop) > 16:
            raise SamplingError(f"at most 16 stop strings are allowed, got {len(self.stop)}")
        if any(not s for s in self.stop):
            raise SamplingError("stop strings must not be empty")
        if self.seed is not None and not 0 <= self.seed < 2**63:
            raise SamplingError(f"seed must be between 0 and 2**63-1, got {self.seed}")


@dataclass(frozen=True)
class Chunk:
    """A piece of streamed text. Only the last chunk has `finish_reason` and usage set."""

    text: str
    finish_reason: FinishReason | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    model: str


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass
class TextBackend(abc.ABC):
    """Base class for text backends. Subclasses implement `_stream`."""

    model: str
    spec: str = field(default="", compare=False)
    # The prompt format an instruct model was tuned on ("chatml"), or "" for plain text models.
    # Writers that prefill an answer (the guided writer) need it; chat APIs hide it.
    chat_format: str = field(default="", compare=False)

    @abc.abstractmethod
    def _stream(self, prompt: str, sampling: Sampling) -> Iterator[Chunk]:
        """Yield text chunks; the final chunk carries finish_reason and token counts."""

    def window(self) -> tuple[int, bool] | None:
        """(tokens the model reads, whether it slides past them), or None when unknown (a
        remote server checks its own). A sliding model reads only the last `tokens` of a
        prompt and may write past its window; a fixed one refuses what does not fit."""
        return None

    def stream(
        self,
        prompt: str,
        *,
        max_tokens: int = 256,
        temperature: float = 0.8,
        top_p: float = 1.0,
        top_k: int | None = None,
        stop: Sequence[str] = (),
        seed: int | None = None,
    ) -> Iterator[Chunk]:
        sampling = Sampling(max_tokens, temperature, top_p, top_k, tuple(stop), seed)
        return self._stream(prompt, sampling)

    def complete(
        self,
        prompt: str,
        *,
        max_tokens: int = 256,
        temperature: float = 0.8,
        top_p: float = 1.0,
        top_k: int | None = None,
        stop: Sequence[str] = (),
        seed: int | None = None,
    ) -> Completion:
        sampling = Sampling(max_tokens, temperature, top_p, top_k, tuple(stop), seed)
        return self.complete_sampling(prompt, sampling)

    def complete_sampling(self, prompt: str, sampling: Sampling) -> Completion:
        return self._drain(self._stream(prompt, sampling))

    def sample(
        self,
        prompt: str,
        n: int,
        sampling: Sampling,
        pattern: str | None = None,
        penalty_window: int = 0,
    ) -> list[Completion]:
        """n completions of one prompt; with `pattern`, each is cut to what the regex allows.

        `penalty_window`: backends that can (local) make tokens from the prompt's last that
        many tokens, and the answer's own, less likely; others ignore it.

        Backends that see the model's logits (local) constrain every token, so an answer
        always matches. This fallback samples freely with seeds seed, seed+1, … and keeps
        the longest prefix of each answer that can still match; the caller validates.
        """
        out: list[Completion] = []
        for i in range(n):
            seed = None if sampling.seed is None else sampling.seed + i
            done = self.complete_sampling(prompt, replace(sampling, seed=seed))
            if pattern is not None:
                done = replace(done, text=longest_match(pattern, done.text, sampling.stop))
            out.append(done)
        return out

    def chat_stream(self, messages: Sequence[Message], sampling: Sampling) -> Iterator[Chunk]:
        """Stream a chat reply. Default: render the messages into a completion prompt."""
        prompt, stops = render_chat(messages)
        merged = Sampling(
            sampling.max_tokens,
            sampling.temperature,
            sampling.top_p,
            sampling.top_k,
            tuple(dict.fromkeys((*sampling.stop, *stops))),
            sampling.seed,
        )
        return self._stream(prompt, merged)

    def chat(self, messages: Sequence[Message], sampling: Sampling) -> Completion:
        return self._drain(self.chat_stream(messages, sampling))

    def _drain(self, chunks: Iterator[Chunk]) -> Completion:
        return join_chunks(chunks, self.model)

    def close(self) -> None:  # noqa: B027  optional hook, not abstract
        """Release connections or memory. Safe to call twice."""

    def __enter__(self) -> TextBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def longest_match(pattern: str, text: str, stops: Sequence[str] = ()) -> str:
    """The longest prefix of `text` (plus a stop string, if one ended it) that `pattern`
    matches in full, or failing that the longest it could still grow into."""
    import regex

    compiled = regex.compile(pattern, regex.DOTALL)
    for stop in ("", *stops):
        if compiled.fullmatch(text + stop):
            return text + stop
    end = len(text)
    while end > 0 and compiled.fullmatch(text[:end], partial=True) is None:
        end -= 1
    return text[:end]


def render_chat(messages: Sequence[Message]) -> tuple[str, tuple[str, ...]]:
    """Render chat messages as a play script for plain completion models.

    The embedded model was trained on `SPEAKER:\\nline\\n\\n` turns, so a chat becomes a
    scene between USER and ASSISTANT; a system message becomes a stage direction. The
    returned stop strings end the reply at the next speaker cue.
    """
    lines: list[str] = []
    for message in messages:
        if message.role == "system":
            lines.append(f"[{message.content.strip()}]\n\n")
        else:
            lines.append(f"{message.role.upper()}:\n{message.content.strip()}\n\n")
    lines.append("ASSISTANT:\n")
    return "".join(lines), ("\nUSER:", "\n\nUSER")


def join_chunks(chunks: Iterable[Chunk], model: str) -> Completion:
    """Join a stream into one Completion; usage and finish reason come from the last chunk."""
    parts: list[str] = []
    last = Chunk("", "length", 0, 0)
    for chunk in chunks:
        parts.append(chunk.text)
        last = chunk
    return Completion(
        text="".join(parts),
        finish_reason=last.finish_reason or "length",
        prompt_tokens=last.prompt_tokens or 0,
        completion_tokens=last.completion_tokens or 0,
        model=model,
    )
