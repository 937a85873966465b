"""Error handling shared by every soundstage web app.

Why: FastAPI's default 422 handler echoes the offending input back, and when that input is a
request body that is not UTF-8 it tries to decode the raw bytes and fails with a 500. Clients
sending bad bytes deserve a 422 that says so.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

__all__ = ["install_error_handlers"]


def _printable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, dict):
        return {k: _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    clean = [{k: _printable(v) for k, v in e.items() if k != "ctx"} for e in errors]
    return JSONResponse({"detail": clean}, status_code=422)


def install_error_handlers(app: FastAPI) -> FastAPI:
    app.add_exception_handler(RequestValidationError, _validation_error)
    return app
