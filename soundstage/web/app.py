"""The soundstage web app: `create_app()` builds it, `soundstage serve` runs it.

Each capability contributes an `APIRouter`; this module is the one place they are mounted,
so the app stays a list of routers rather than a growing module. Routers get what they need
(backend, settings) as arguments instead of reaching for globals, which keeps them testable
on their own app.
"""

from __future__ import annotations

import importlib.util

from fastapi import FastAPI
from sqlalchemy import Engine

from soundstage.accounts import Accounts
from soundstage.backends import TextBackend, load_backend
from soundstage.settings import Settings, load_settings
from soundstage.web.auth import install_auth
from soundstage.web.moderate_api import moderate_router
from soundstage.web.openai_api import create_openai_app
from soundstage.web.studio import install_studio

__all__ = ["create_app"]


def create_app(
    settings: Settings | None = None,
    backend: TextBackend | None = None,
    *,
    accounts: Accounts | None,
) -> FastAPI:
    """The full app. Without `backend`, loads `settings.model`; the caller owns closing it.
    Every route but /healthz needs a bearer token of `accounts`; `accounts=None` serves
    without sign-in (`serve --no-auth`, loopback only: see web/auth.py)."""
    settings = settings if settings is not None else load_settings()
    if backend is None:
        backend = load_backend(settings.model, settings)
    app = create_openai_app(backend, accounts)
    install_auth(app, accounts, settings.rate_limit_per_minute)
    app.state.settings = settings
    app.include_router(moderate_router(settings))  # error handlers: create_openai_app's
    if importlib.util.find_spec("scipy") is not None:  # the recommend extra is installed
        from soundstage.recommend.events import EventLog
        from soundstage.recommend.registry import Registry
        from soundstage.web.recommend_api import recommend_router

        # Events are stored with the accounts; --no-auth keeps them in this process.
        events = EventLog(accounts.engine) if accounts is not None else None
        app.include_router(recommend_router(Registry(settings.data_dir / "recommend"), events))
    if accounts is not None:
        engine = accounts.engine
        install_studio(app, settings, lambda: engine)
    else:
        install_studio(app, settings, lambda: _local_store(settings))
    return app


def _local_store(settings: Settings) -> Engine:
    """The store of a --no-auth server (one with accounts uses theirs)."""
    from soundstage.settings import ensure_data_dir
    from soundstage.store.db import open_store

    if not settings.database_url:
        ensure_data_dir(settings)
    return open_store(settings)
