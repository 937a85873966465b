"""The HTTP side of soundstage: one FastAPI app that capability routers are mounted on."""

from __future__ import annotations

from soundstage.web.app import create_app
from soundstage.web.openai_api import create_openai_app, openai_router

__all__ = ["create_app", "create_openai_app", "openai_router"]
