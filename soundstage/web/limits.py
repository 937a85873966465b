"""Request bodies are limited while they are read, not after.

`BodyLimit` is ASGI middleware: a `Content-Length` over the route's limit is answered 413
before a byte of the body is read, and a chunked body is counted as it arrives and cut off
with 413 the moment it passes the limit. Without it a 50 MB POST was read whole (and a 50 MB
prompt tokenized: 10 GB) before anything said no.

Limits by path prefix: `/moderate` takes batches (up to 1,000 texts), so 8 MiB; every other
route 2 MiB, which is more than any model's window of text.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DEFAULT_LIMIT", "LIMITS", "BodyLimit"]

MiB = 1024 * 1024
DEFAULT_LIMIT = 2 * MiB
LIMITS = {"/moderate": 8 * MiB}


class BodyTooLarge(Exception):
    """Raised from `receive` when the body passes its limit (caught by BodyLimit)."""


def limit_for(path: str) -> int:
    for prefix, limit in LIMITS.items():
        if path == prefix or path.startswith(prefix + "/") or path.startswith(prefix + "?"):
            return limit
    return DEFAULT_LIMIT


class BodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _answer(send, 400, "Content-Length is not a number")
                return
            if int(declared) > limit:
                await _answer(send, 413, _too_large(int(declared), limit))
                return
        seen = 0
        started = over = False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            # FastAPI turns an error while reading a body into its own 400: whatever the
            # app answers once the limit was passed, the client gets the 413.
            nonlocal started
            if over:
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _answer(send, 413, _too_large(seen, limit))
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if not started:
                await _answer(send, 413, _too_large(seen, limit))


def _too_large(size: int, limit: int) -> str:
    return f"request body of {size:,}+ bytes is over this route's limit of {limit:,} bytes"


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 413:
        headers.append((b"connection", b"close"))  # the unread body is not worth draining
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
