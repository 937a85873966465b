"""An OpenAI-compatible HTTP API over any `TextBackend`, so existing OpenAI clients and tools
(and our own `openai:` backend) can use soundstage's models.

Wire format follows OpenAI's: `POST /v1/completions` and `POST /v1/chat/completions`, streaming
as server-sent events (`data: {json}` ... `data: [DONE]`), errors as
`{"error": {"message", "type", "param", "code"}}`. Deliberate differences: one choice per request
(`n` > 1 is refused), unknown request fields are ignored rather than rejected (clients send
many we do not use), and `max_tokens` defaults to 256 on both endpoints.

Backends are not assumed thread-safe, so `BackendRunner` serialises calls with a lock and runs
them in worker threads: the event loop keeps answering `/healthz` while a model is busy, and
streamed chunks are sent as they are produced.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import asdict
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from pydantic import ConfigDict, Field

from soundstage.accounts import Accounts
from soundstage.backends.base import Chunk, Completion, Message, Sampling, TextBackend
from soundstage.errors import BackendError, BackendUnavailable, SamplingError, SoundstageError
from soundstage.web.auth import install_auth, require
from soundstage.web.bodies import Body
from soundstage.web.errors import install_error_handlers
from soundstage.web.schemas import ChatCompletion, Health, ModelCard, ModelList, TextCompletion

__all__ = [
    "BackendRunner",
    "ChatRequest",
    "CompletionRequest",
    "OpenAIError",
    "create_openai_app",
    "openai_router",
]

T = TypeVar("T")
DEFAULT_MAX_TOKENS = 256
# More characters than any token of the shipped vocabularies spells (SmolLM2's longest is 81,
# a run of spaces; drama-lm's 15), so a prompt longer than window × CHARS_PER_TOKEN cannot
# fit and is refused (or cut, for a sliding model) before tokenizing.
CHARS_PER_TOKEN = 128
MAX_SLIDING_TOKENS = 4096  # a sliding model could write forever: one request's cap
DISCONNECT_POLL_SECONDS = 0.25
SAMPLING_FIELDS = ("max_tokens", "temperature", "top_p", "top_k", "stop", "seed")


# -- errors --------------------------------------------------------------------------------


class OpenAIError(Exception):
    """An error answered in OpenAI's shape; raise it from a route of `openai_router`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type, "param": param, "code": code}}

    @classmethod
    def from_soundstage(cls, exc: SoundstageError) -> OpenAIError:
        message = str(exc)
        if isinstance(exc, SamplingError):
            first = message.split(" ", 1)[0]
            param = first if first in SAMPLING_FIELDS else None
            return cls(400, message, param=param, code="invalid_value")
        if isinstance(exc, BackendUnavailable):
            return cls(503, message, type="server_error", code="backend_unavailable")
        if isinstance(exc, BackendError):
            return cls(502, message, type="server_error", code="backend_error")
        return cls(400, message)

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status, headers=headers)


class _OpenAIRoute(APIRoute):
    """Answers this router's errors in OpenAI's shape without app-wide exception handlers,
    so other routers mounted on the same app keep their own error style."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return _validation_error(exc).response()
            except OpenAIError as exc:
                return exc.response()
            except HTTPException as exc:  # sign-in and roles (web/auth.py)
                kind = {401: "authentication_error", 403: "permission_error"}
                code = "invalid_api_key" if exc.status_code == 401 else None
                error = OpenAIError(
                    exc.status_code,
                    str(exc.detail),
                    type=kind.get(exc.status_code, "invalid_request_error"),
                    code=code,
                )
                return error.response(dict(exc.headers or {}))
            except SoundstageError as exc:
                return OpenAIError.from_soundstage(exc).response()

        return route


def _validation_error(exc: RequestValidationError) -> OpenAIError:
    first = exc.errors()[0] if exc.errors() else {}
    # Drop "body" and the union-branch tags pydantic adds ("str", "list[str]").
    loc = [str(p) for p in first.get("loc", ()) if p != "body" and not _is_type_tag(p)]
    if first.get("type") == "json_invalid":
        return OpenAIError(400, "request body is not valid JSON")
    param = ".".join(loc) or None
    where = f"{param}: " if param else ""
    return OpenAIError(400, f"{where}{first.get('msg', 'invalid request')}", param=param)


def _is_type_tag(part: object) -> bool:
    return isinstance(part, str) and (part in ("str", "int", "float", "bool") or "[" in part)


# -- request bodies ------------------------------------------------------------------------


class StreamOptions(Body):
    include_usage: bool = False


class _Common(Body):
    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None  # not in OpenAI's API; vLLM and llama.cpp accept it too
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None

    def sampling(self, max_tokens: int | None = None) -> Sampling:
        """Raises SamplingError, which becomes a 400 naming the bad field."""
        stop = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())
        return Sampling(
            max_tokens=next(
                (n for n in (max_tokens, self.max_tokens) if n is not None), DEFAULT_MAX_TOKENS
            ),
            temperature=1.0 if self.temperature is None else self.temperature,
            top_p=1.0 if self.top_p is None else self.top_p,
            top_k=self.top_k,
            stop=stop,
            seed=self.seed,
        )

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


class CompletionRequest(_Common):
    prompt: str | list[str]

    def prompt_text(self) -> str:
        if isinstance(self.prompt, str):
            return self.prompt
        if len(self.prompt) != 1:
            raise OpenAIError(
                400, "prompt must be a string or a list of exactly one string", param="prompt"
            )
        return self.prompt[0]


class TextPart(Body):
    type: Literal["text"]
    text: str


class ChatMessage(Body):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None

    def message(self) -> Message:
        if isinstance(self.content, list):
            text = "".join(part.text for part in self.content)
        else:
            text = self.content or ""
        return Message("system" if self.role == "developer" else self.role, text)


class ChatRequest(_Common):
    messages: list[ChatMessage] = Field(min_length=1)
    # OpenAI's newer name for max_tokens.
    max_completion_tokens: int | None = None


# -- running the backend -------------------------------------------------------------------


class BackendRunner:
    """Serialises calls into one backend and keeps them off the event loop."""

    def __init__(self, backend: TextBackend) -> None:
        self.backend = backend
        self.lock = threading.Lock()  # the studio's writers' room takes it too

    async def stream(self, make: Callable[[], Iterator[Chunk]]) -> AsyncGenerator[Chunk, None]:
        """Drive `make()`'s iterator in a worker thread, handing chunks over as they come.

        The lock is held for the whole stream. If the consumer goes away (client
        disconnected), the worker stops at the next chunk and closes the iterator.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Chunk | BaseException | None] = asyncio.Queue()
        stop = threading.Event()

        def put(item: Chunk | BaseException | None) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is closed: the server is shutting down
                stop.set()

        def produce() -> None:
            try:
                with self.lock:
                    chunks = make()
                    try:
                        for chunk in chunks:
                            put(chunk)
                            if stop.is_set():
                                break
                    finally:
                        close = getattr(chunks, "close", None)
                        if callable(close):
                            close()
            except BaseException as exc:  # re-raised on the event loop, in the request
                put(exc)
            else:
                put(None)

        loop.run_in_executor(None, produce)
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()


async def finish_unless_gone(
    request: Request, model: str, chunks: AsyncGenerator[Chunk, None]
) -> Completion:
    """Join a stream into one Completion while watching the client: when it disconnects,
    stop generating (the worker thread stops at its next token and frees the model),
    instead of holding the model for a 3-minute answer nobody will read. 499 (nginx's
    "client closed request") is what the access log then shows."""
    from soundstage.backends.base import join_chunks

    async def join() -> Completion:
        return join_chunks([chunk async for chunk in chunks], model)

    task = asyncio.ensure_future(join())
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=DISCONNECT_POLL_SECONDS)
            if done:
                return task.result()
            if await request.is_disconnected():
                raise OpenAIError(499, "the client closed the request")
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await chunks.aclose()


# -- routes --------------------------------------------------------------------------------


def openai_router(backend: TextBackend, runner: BackendRunner | None = None) -> APIRouter:
    """`/healthz` and the `/v1` routes for one backend; include it in any FastAPI app."""
    runner = runner or BackendRunner(backend)
    router = APIRouter(route_class=_OpenAIRoute)
    started = int(time.time())

    def model_card() -> dict[str, Any]:
        card = {"id": backend.model, "object": "model", "created": started}
        return {**card, "owned_by": "soundstage"}

    def check_model(requested: str | None) -> None:
        if requested and requested not in (backend.model, backend.spec):
            raise OpenAIError(
                404,
                f"The model `{requested}` does not exist; this server serves `{backend.model}`",
                param="model",
                code="model_not_found",
            )

    def check_n(n: int | None) -> None:
        if n is not None and n != 1:
            raise OpenAIError(
                400, "n must be 1: this server returns one choice per request", param="n"
            )

    @router.get("/healthz", response_model=Health)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "model": backend.model}

    model_user = [Depends(require("writer", "composer"))]

    @router.get("/v1/models", dependencies=model_user, response_model=ModelList)
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [model_card()]}

    @router.get("/v1/models/{model_id:path}", dependencies=model_user, response_model=ModelCard)
    async def get_model(model_id: str) -> dict[str, Any]:
        check_model(model_id)
        return model_card()

    @router.post(
        "/v1/completions",
        response_model=None,
        dependencies=model_user,
        responses={200: {"model": TextCompletion, "description": "or server-sent events"}},
    )
    async def completions(body: CompletionRequest, request: Request) -> Response | dict[str, Any]:
        check_model(body.model)
        check_n(body.n)
        sampling = body.sampling()
        prompt = fit_prompt(backend, body.prompt_text(), sampling.max_tokens)
        if body.stream:
            chunks = runner.stream(lambda: backend.stream(prompt, **asdict(sampling)))
            return await _sse_response(chunks, _TextStream(backend.model, body.include_usage))
        result = await finish_unless_gone(
            request,
            backend.model,
            runner.stream(lambda: backend.stream(prompt, **asdict(sampling))),
        )
        choice = {"index": 0, "text": result.text, "logprobs": None}
        return _final("cmpl", "text_completion", backend.model, choice, result)

    @router.post(
        "/v1/chat/completions",
        response_model=None,
        dependencies=model_user,
        responses={200: {"model": ChatCompletion, "description": "or server-sent events"}},
    )
    async def chat_completions(body: ChatRequest, request: Request) -> Response | dict[str, Any]:
        check_model(body.model)
        check_n(body.n)
        messages = [m.message() for m in body.messages]
        sampling = body.sampling(body.max_completion_tokens)
        fit_messages(backend, messages, sampling.max_tokens)
        if body.stream:
            chunks = runner.stream(lambda: backend.chat_stream(messages, sampling))
            return await _sse_response(chunks, _ChatStream(backend.model, body.include_usage))
        chunks = runner.stream(lambda: backend.chat_stream(messages, sampling))
        result = await finish_unless_gone(request, backend.model, chunks)
        message = {"role": "assistant", "content": result.text}
        choice = {"index": 0, "message": message, "logprobs": None}
        return _final("chatcmpl", "chat.completion", backend.model, choice, result)

    return router


def fit_prompt(backend: TextBackend, prompt: str, max_tokens: int) -> str:
    """The prompt as the model can take it, checked before tokenizing (tokenizing 50 MB of
    text to read its last block cost 10 GB): a sliding model gets the tail it would read
    anyway; a fixed-window one a 413 when the text cannot fit. max_tokens must fit too."""
    limit = _text_limit(backend, max_tokens)
    if limit is None or len(prompt) <= limit[0]:
        return prompt
    if limit[1]:
        return prompt[-limit[0] :]
    raise _too_long(backend, "prompt is", len(prompt), "prompt")


def fit_messages(backend: TextBackend, messages: list[Message], max_tokens: int) -> None:
    """A chat must fit as it is (no message is cut): 413 when it cannot, before tokenizing."""
    limit = _text_limit(backend, max_tokens)
    size = sum(len(m.content) for m in messages)
    if limit is not None and size > limit[0]:
        raise _too_long(backend, "messages are", size, "messages")


def _text_limit(backend: TextBackend, max_tokens: int) -> tuple[int, bool] | None:
    """(characters of text the model can take, whether it slides), after checking that
    `max_tokens` fits; None when the backend does not know its window."""
    window = backend.window()
    if window is None:
        return None
    tokens, slides = window
    cap = MAX_SLIDING_TOKENS if slides else tokens
    if max_tokens > cap:
        raise OpenAIError(
            400,
            f"max_tokens is {max_tokens:,}; {backend.model} writes at most {cap:,} per request",
            param="max_tokens",
        )
    return tokens * CHARS_PER_TOKEN, slides


def _too_long(backend: TextBackend, what: str, size: int, param: str) -> OpenAIError:
    window = backend.window()
    tokens = window[0] if window else 0
    return OpenAIError(
        413,
        f"{what} {size:,} characters; {backend.model} reads at most {tokens:,} tokens",
        param=param,
        code="context_length_exceeded",
    )


def create_openai_app(backend: TextBackend, accounts: Accounts | None) -> FastAPI:
    """An app serving only the OpenAI-compatible API; `web.app.create_app` adds the rest.
    `accounts=None` serves without sign-in (local use only, see web/auth.py)."""
    app = FastAPI(title="soundstage", summary="OpenAI-compatible API over a soundstage backend")
    app.state.backend = backend
    app.state.runner = BackendRunner(backend)
    app.include_router(openai_router(backend, app.state.runner))
    install_error_handlers(app)
    return install_auth(app, accounts)


# -- response shapes -----------------------------------------------------------------------


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _final(
    prefix: str, kind: str, model: str, choice: dict[str, Any], result: Completion
) -> dict[str, Any]:
    return {
        "id": f"{prefix}-{uuid.uuid4().hex[:24]}",
        "object": kind,
        "created": int(time.time()),
        "model": model,
        "choices": [{**choice, "finish_reason": result.finish_reason}],
        "usage": _usage(result.prompt_tokens, result.completion_tokens),
    }


class _TextStream:
    """Renders chunks as `text_completion` stream events."""

    prefix, kind = "cmpl", "text_completion"

    def __init__(self, model: str, include_usage: bool) -> None:
        self.model = model
        self.include_usage = include_usage
        self.id = f"{self.prefix}-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())

    def event(self, choices: list[dict[str, Any]], **extra: Any) -> str:
        data: dict[str, Any] = {
            "id": self.id,
            "object": self.kind,
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if self.include_usage:
            data["usage"] = None
        data.update(extra)
        return _sse(data)

    def start(self) -> list[str]:
        return []

    def choice(self, text: str | None, finish: str | None) -> dict[str, Any]:
        return {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}

    def events(self, chunk: Chunk) -> Iterator[str]:
        if chunk.text:
            yield self.event([self.choice(chunk.text, None)])

    def end(self, last: Chunk | None) -> Iterator[str]:
        finish = (last.finish_reason if last else None) or "length"
        yield self.event([self.choice(None, finish)])
        if self.include_usage:
            prompt = (last.prompt_tokens if last else None) or 0
            completion = (last.completion_tokens if last else None) or 0
            yield self.event([], usage=_usage(prompt, completion))
        yield "data: [DONE]\n\n"


class _ChatStream(_TextStream):
    """Renders chunks as `chat.completion.chunk` events: a role delta first, then content."""

    prefix, kind = "chatcmpl", "chat.completion.chunk"

    def start(self) -> list[str]:
        role = {"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None}
        return [self.event([{**role, "finish_reason": None}])]

    def choice(self, text: str | None, finish: str | None) -> dict[str, Any]:
        delta = {"content": text} if text else {}
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}


def _sse(data: object) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


async def _sse_response(
    chunks: AsyncGenerator[Chunk, None], shape: _TextStream
) -> StreamingResponse:
    """Wait for the first chunk before answering, so early failures get a real status code."""
    try:
        first: Chunk | None = await anext(chunks)
    except StopAsyncIteration:
        first = None
    except SoundstageError as exc:
        raise OpenAIError.from_soundstage(exc) from None

    async def body() -> AsyncIterator[str]:
        for line in shape.start():
            yield line
        last = first
        try:
            if first is not None:
                for line in shape.events(first):
                    yield line
                async for chunk in chunks:
                    last = chunk
                    for line in shape.events(chunk):
                        yield line
        except SoundstageError as exc:  # headers are sent: report in the stream and stop
            yield _sse(OpenAIError.from_soundstage(exc).body)
            return
        finally:
            await chunks.aclose()  # stops the worker if the client went away
        for line in shape.end(last):
            yield line

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)
