"""Error handling shared by every soundstage web app.

Why: FastAPI's default 422 handler echoes the offending input back, and when that input is a
request body that is not UTF-8 it tries to decode the raw bytes and fails with a 500. Clients
sending bad bytes deserve a 422 that says so.

Also: a `SoundstageError` that escapes a route is the caller's mistake (400) or the store being
unreachable (503, `StoreError`), never a 500; and a URL with NUL (`%00`) or percent-escapes
that are not UTF-8 is a 400 before any route runs (PostgreSQL refuses NUL in text, so an item
id of "%00" used to be a 500). And bodies are limited as they are read (`web/limits.py`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from soundstage.errors import SoundstageError, StoreError
from soundstage.textcheck import UNSAFE, check_text
from soundstage.web.limits import BodyLimit

__all__ = ["install_error_handlers"]


def _printable(value: Any) -> Any:
    """`value` as JSON can carry it: bytes decoded, NUL and lone surrogates replaced, long
    texts cut (a 422 need not echo a megabyte back)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        value = UNSAFE.sub("\ufffd", value)
        return value if len(value) <= 200 else value[:200] + "…"
    if isinstance(value, dict):
        return {k: _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    clean = [{k: _printable(v) for k, v in e.items() if k != "ctx"} for e in errors]
    return JSONResponse({"detail": clean}, status_code=422)


async def _soundstage_error(_request: Request, exc: Exception) -> JSONResponse:
    status = 503 if isinstance(exc, StoreError) else 400
    return JSONResponse({"detail": str(exc)}, status_code=status)


class CleanURLs:
    """ASGI middleware: 400 for a path or query with NUL or escapes that are not UTF-8."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = _url_problem(scope.get("raw_path") or b"", scope.get("query_string") or b"")
            if problem:
                await JSONResponse({"detail": problem}, status_code=400)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _url_problem(path: bytes, query: bytes) -> str | None:
    for part, raw in (("path", path), ("query", query)):
        text = unquote_to_bytes(raw.replace(b"+", b" ") if part == "query" else raw)
        if b"\x00" in text:
            return f"the URL's {part} contains NUL"
        try:
            check_text(text.decode("utf-8"), f"the URL's {part}")
        except UnicodeDecodeError:
            return f"the URL's {part} has percent-escapes that are not UTF-8"
        except SoundstageError as exc:
            return exc.message
    return None


def install_error_handlers(app: FastAPI) -> FastAPI:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(SoundstageError, _soundstage_error)
    app.add_middleware(CleanURLs)
    app.add_middleware(BodyLimit)  # outermost: a body over the limit is never read
    return app
