"""A client for any OpenAI-compatible server: vLLM, llama.cpp's server, Ollama, LM Studio, OpenAI.

Spec: `openai:MODEL@http://host:port/v1`, optionally with `?api=chat` for servers that only
offer `/chat/completions` (OpenAI's newer models): `complete()` then sends the prompt as one
user message.

Only the wire format is assumed, so the client uses the fields every server accepts and sends
optional ones (`top_k`, `seed`, `stop`) only when set, because OpenAI rejects unknown fields.
Failures become one-line `BackendError`s that say what to fix. Requests are retried with
exponential backoff and jitter on 429, 5xx and connection errors, but never once a stream has
started: the caller has already seen text, and a retry would repeat or contradict it.
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx

from soundstage.backends.base import Chunk, Completion, FinishReason, Message, Sampling, TextBackend
from soundstage.errors import BackendError, BackendSpecError, BackendUnavailable
from soundstage.settings import Settings, load_settings

__all__ = ["OpenAIBackend"]

Api = Literal["completions", "chat"]
KEY_ENV_VARS = ("SOUNDSTAGE_OPENAI_API_KEY", "OPENAI_API_KEY")
# A server asking us to wait longer than this is treated as down rather than slept on.
MAX_RETRY_AFTER = 60.0


@dataclass
class OpenAIBackend(TextBackend):
    """Talks to `base_url` (ending in `/v1`) with one pooled `httpx.Client`; `close()` frees it."""

    base_url: str = "http://127.0.0.1:8000/v1"
    api_key: str | None = field(default=None, repr=False)
    # Where the key came from, so a 401 can name the variable to fix.
    key_source: str | None = field(default=None, repr=False)
    api: Api = "completions"
    timeout: float = 120.0
    max_retries: int = 3
    # First backoff delay in seconds; doubles on each retry, with jitter.
    backoff: float = 0.5
    _client: httpx.Client = field(init=False, repr=False, compare=False)
    # Cleared when a server rejects `stream_options`, so we ask for usage only once.
    _usage_in_stream: bool = field(default=True, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        headers = {"User-Agent": "soundstage"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        self._client = httpx.Client(
            headers=headers, timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0))
        )

    @classmethod
    def from_settings(
        cls, model: str, base_url: str, settings: Settings | None, *, spec: str
    ) -> OpenAIBackend:
        """Build from a spec's parts; the key, timeout and retries come from settings."""
        settings = settings if settings is not None else load_settings()
        url, api, template = _split_options(base_url, spec)
        key, source = _find_key(settings)
        return cls(
            model=model,
            spec=spec,
            base_url=url,
            api_key=key,
            key_source=source,
            api=api,
            chat_format=template if api == "completions" else "",
            timeout=settings.request_timeout,
            max_retries=settings.max_retries,
        )

    # -- TextBackend ---------------------------------------------------------------------

    def _stream(self, prompt: str, sampling: Sampling) -> Iterator[Chunk]:
        if self.api == "chat":
            return self.chat_stream([Message("user", prompt)], sampling)
        return self._stream_events("/completions", self.completion_body(prompt, sampling))

    def complete_sampling(self, prompt: str, sampling: Sampling) -> Completion:
        if self.api == "chat":
            return self.chat([Message("user", prompt)], sampling)
        body = self.completion_body(prompt, sampling, stream=False)
        return self._completion("/completions", body)

    def chat_stream(self, messages: Sequence[Message], sampling: Sampling) -> Iterator[Chunk]:
        return self._stream_events("/chat/completions", self.chat_body(messages, sampling))

    def chat(self, messages: Sequence[Message], sampling: Sampling) -> Completion:
        body = self.chat_body(messages, sampling, stream=False)
        return self._completion("/chat/completions", body)

    def close(self) -> None:
        self._client.close()

    # -- request bodies ------------------------------------------------------------------

    def completion_body(
        self, prompt: str, sampling: Sampling, *, stream: bool = True
    ) -> dict[str, Any]:
        """The JSON body for `POST /completions` (public so benchmarks can send the same one)."""
        return {"model": self.model, "prompt": prompt, **self._common(sampling, stream)}

    def chat_body(
        self, messages: Sequence[Message], sampling: Sampling, *, stream: bool = True
    ) -> dict[str, Any]:
        """The JSON body for `POST /chat/completions`."""
        wire = [{"role": m.role, "content": m.content} for m in messages]
        return {"model": self.model, "messages": wire, **self._common(sampling, stream)}

    def _common(self, sampling: Sampling, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "max_tokens": sampling.max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "stream": stream,
        }
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        if sampling.top_k is not None:
            body["top_k"] = sampling.top_k
        if stream and self._usage_in_stream:
            body["stream_options"] = {"include_usage": True}
        return body

    # -- responses -----------------------------------------------------------------------

    def _completion(self, path: str, body: dict[str, Any]) -> Completion:
        data = _json_object(self._send(path, body, stream=False), self._url(path))
        choice = _first_choice(data)
        text = _choice_text(choice)
        usage = data.get("usage") or {}
        return Completion(
            text=text,
            finish_reason=_finish(choice.get("finish_reason")) or "length",
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            model=self.model,
        )

    def _stream_events(self, path: str, body: dict[str, Any]) -> Iterator[Chunk]:
        """Yield text chunks as events arrive, then one empty chunk with finish reason and usage."""
        url = self._url(path)
        response = self._send(path, body)
        finish: FinishReason | None = None
        usage: dict[str, Any] = {}
        pieces = 0
        done = False
        try:
            if response.headers.get("content-type", "").startswith("text/event-stream"):
                events: Iterator[dict[str, Any] | None] = _sse_events(response, url)
            else:  # some servers ignore `stream: true` and answer with one JSON object
                events = iter([_json_object(response, url), None])
            for event in events:
                if event is None:
                    done = True
                    break
                usage = event.get("usage") or usage
                choices = event.get("choices") or []
                if not choices:
                    continue
                text = _choice_text(choices[0])
                if text:
                    pieces += 1
                    yield Chunk(text)
                finish = _finish(choices[0].get("finish_reason")) or finish
        except httpx.TimeoutException:
            raise BackendUnavailable(
                f"{url} stopped sending after {pieces} chunks (nothing for {self.timeout:g} s)",
                hint="raise SOUNDSTAGE_REQUEST_TIMEOUT or check the server",
            ) from None
        except httpx.TransportError as exc:
            raise BackendError(
                f"stream from {url} broke after {pieces} chunks: {_describe(exc)}",
                hint="the server closed the connection mid-answer; check its logs",
            ) from None
        finally:
            response.close()
        if not done and finish is None:
            raise BackendError(f"stream from {url} ended before the answer was finished")
        if usage:
            prompt_tokens: int | None = int(usage.get("prompt_tokens") or 0)
            completion_tokens = int(usage.get("completion_tokens") or 0)
        else:  # no usage from the server: each event is (about) one token
            prompt_tokens, completion_tokens = None, pieces
        yield Chunk("", finish or "stop", prompt_tokens, completion_tokens)

    # -- transport -----------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _send(self, path: str, body: dict[str, Any], *, stream: bool = True) -> httpx.Response:
        """POST with retries; return a successful response, still open when `stream`."""
        url = self._url(path)
        attempt = 0
        while True:
            try:
                request = self._client.build_request("POST", url, json=body)
                response = self._client.send(request, stream=stream)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                # Nothing was received, so the server cannot have started an answer.
                if attempt < self.max_retries:
                    self._sleep(attempt, None)
                    attempt += 1
                    continue
                raise _connect_error(url, exc) from None
            except httpx.TimeoutException:
                raise BackendUnavailable(
                    f"no answer from {url} within {self.timeout:g} s",
                    hint="raise SOUNDSTAGE_REQUEST_TIMEOUT or check the server",
                ) from None
            except httpx.TransportError as exc:
                raise BackendUnavailable(
                    f"request to {url} failed: {_describe(exc)}", hint="is the server running?"
                ) from None
            if response.status_code < 400:
                return response
            message, is_json = _error_body(response)
            status = response.status_code
            if status == 429 or status >= 500:
                wait = _retry_after(response)
                if attempt < self.max_retries and (wait is None or wait <= MAX_RETRY_AFTER):
                    self._sleep(attempt, wait)
                    attempt += 1
                    continue
                tries = f" after {attempt + 1} tries" if attempt else ""
                raise BackendUnavailable(
                    f"{url} answered HTTP {status}{tries}: {message}",
                    hint="the server is overloaded or failing; try again later",
                )
            if status == 400 and "stream_options" in body and "stream_options" in message:
                # Older servers reject the usage request; count chunks instead.
                self._usage_in_stream = False
                body = {k: v for k, v in body.items() if k != "stream_options"}
                continue
            raise self._client_error(url, status, message, is_json)

    def _sleep(self, attempt: int, retry_after: float | None) -> None:
        if retry_after is not None:
            delay = retry_after
        else:
            delay = self.backoff * 2**attempt * random.uniform(0.5, 1.5)
        time.sleep(max(0.0, delay))

    def _client_error(self, url: str, status: int, message: str, is_json: bool) -> BackendError:
        if status in (401, 403):
            if self.key_source:
                hint = f"check the key in {self.key_source}"
            else:
                hint = "no API key is set: set SOUNDSTAGE_OPENAI_API_KEY or OPENAI_API_KEY"
            return BackendError(f"{url} rejected the API key (HTTP {status}): {message}", hint=hint)
        chat_hint = "for chat-only servers add ?api=chat to the URL"
        if status == 404 and is_json and "model" in message.lower():
            hint = "check the model name before '@' in the spec"
            if self.api == "completions" and "chat" in message.lower():
                hint = chat_hint
            return BackendError(
                f"{self.base_url} does not serve model {self.model!r}: {message}", hint=hint
            )
        if status == 404:
            hint = "the base URL usually ends in /v1"
            if self.api == "completions":
                hint += f"; {chat_hint}"
            return BackendError(f"no OpenAI-compatible API at {url} (HTTP 404)", hint=hint)
        return BackendError(f"{url} refused the request (HTTP {status}): {message}")


# -- helpers -------------------------------------------------------------------------------


def _split_options(base_url: str, spec: str) -> tuple[str, Api, str]:
    """Take `?api=chat|completions` and `?template=chatml` off the URL; anything else is an
    error."""
    parts = urlsplit(base_url)
    options = parse_qs(parts.query, keep_blank_values=True)
    api: Api = "completions"
    template = ""
    for name, values in options.items():
        value = values[-1]
        if name == "api" and value in ("chat", "completions"):
            api = "chat" if value == "chat" else "completions"
        elif name == "template" and value == "chatml":
            template = value
        else:
            raise BackendSpecError(
                f"unknown option {name}={value} in backend spec {spec!r}",
                hint="the options are ?api=chat|completions and ?template=chatml",
            )
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), api, template


def _find_key(settings: Settings) -> tuple[str | None, str | None]:
    if settings.openai_api_key is not None:
        from_env = os.environ.get("SOUNDSTAGE_OPENAI_API_KEY")
        source = "SOUNDSTAGE_OPENAI_API_KEY" if from_env else "the openai_api_key setting"
        return settings.openai_api_key.get_secret_value(), source
    for name in KEY_ENV_VARS:
        if os.environ.get(name):
            return os.environ[name], name
    return None, None


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from a `Retry-After` header (a number or an HTTP date), if any."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _sse_events(response: httpx.Response, url: str) -> Iterator[dict[str, Any] | None]:
    """Parse `data: {...}` lines; yield None for `data: [DONE]`. Other SSE fields are skipped."""
    for line in response.iter_lines():
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            yield None
            return
        try:
            event = json.loads(payload)
        except json.JSONDecodeError:
            raise BackendError(
                f"{url} sent a stream event that is not JSON: {payload[:80]!r}",
                hint="is the base URL an OpenAI-compatible API (usually ending in /v1)?",
            ) from None
        if not isinstance(event, dict):
            raise BackendError(f"{url} sent a stream event that is not an object: {payload[:80]!r}")
        if "error" in event:
            raise BackendError(f"{url} failed mid-answer: {_error_text(event['error'])}")
        yield event


def _json_object(response: httpx.Response, url: str) -> dict[str, Any]:
    try:
        response.read()
        data = response.json()
    except httpx.TimeoutException:
        raise BackendUnavailable(f"no answer from {url} in time") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        kind = response.headers.get("content-type", "no content type")
        raise BackendError(
            f"{url} answered with something that is not JSON ({kind}): {response.text[:80]!r}",
            hint="is the base URL an OpenAI-compatible API (usually ending in /v1)?",
        ) from None
    if not isinstance(data, dict):
        raise BackendError(f"{url} answered with JSON that is not an object")
    return data


def _first_choice(data: dict[str, Any]) -> dict[str, Any]:
    choices = data.get("choices")
    if not choices or not isinstance(choices[0], dict):
        raise BackendError(f"answer has no choices: {json.dumps(data)[:120]}")
    choice: dict[str, Any] = choices[0]
    return choice


def _choice_text(choice: dict[str, Any]) -> str:
    """Text of a choice in any of the three shapes: stream delta, chat message, completion."""
    for key in ("delta", "message"):
        if key in choice:
            part = choice.get(key) or {}
            return str(part.get("content") or "") if isinstance(part, dict) else ""
    return str(choice.get("text") or "")


def _finish(value: object) -> FinishReason | None:
    """Map a server's finish reason onto ours; anything but 'length' ended on purpose."""
    if value is None:
        return None
    return "length" if value == "length" else "stop"


def _error_body(response: httpx.Response) -> tuple[str, bool]:
    """Read an error answer: (its most useful line, whether it was JSON); closes the response."""
    try:
        response.read()
    except httpx.HTTPError:
        return response.reason_phrase or f"HTTP {response.status_code}", False
    finally:
        response.close()
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        text = " ".join(response.text.split())
        return text[:200] or response.reason_phrase, False
    if isinstance(data, dict):
        # OpenAI's `error.message`, FastAPI's `detail`, or a bare `message`.
        for key in ("error", "detail", "message"):
            if key in data:
                return _error_text(data[key]), True
    return json.dumps(data)[:200], True


def _error_text(error: object) -> str:
    if isinstance(error, dict) and "message" in error:
        return str(error["message"])
    return str(error)[:200]


def _describe(exc: httpx.HTTPError) -> str:
    return str(exc) or type(exc).__name__


def _connect_error(url: str, exc: httpx.HTTPError) -> BackendUnavailable:
    text = _describe(exc)
    if isinstance(exc, httpx.ConnectTimeout):
        reason = "connection timed out"
    elif "refused" in text.lower():
        reason = "connection refused"
    else:
        reason = text
    return BackendUnavailable(f"cannot connect to {url}: {reason}", hint="is the server running?")
