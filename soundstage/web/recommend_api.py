"""HTTP routes for recommendations: a thin layer over `recommend.service`.

    GET  /recommendations/{user_id}?n=10&kind=movie&exclude_seen=true&diversity=0.2
         (or &calibration=0.3: genres in the proportions of the user's history)
    GET  /recommendations/models                  versions in the registry, the active one
    PUT  /recommendations/models/active           {"version": "..."}: switch without restart
    POST /recommendations/items                   [{"id", "title", "kind", "genres", ...}]
    POST /recommendations/{user_id}/events        {"items": ["..."]}: taste updates at once

An unknown user is not an error: they get the cold-start answer (`cold_start: true`). Bad
parameters are 422/400 with a one-line `detail`; no active model is 503. Handlers are `async`
because each answer is a few milliseconds of numpy: a thread hop would cost more than it saves.
"""

from __future__ import annotations

import json
import os
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from soundstage.accounts import Accounts
from soundstage.recommend.data import Item
from soundstage.recommend.events import EventLog
from soundstage.recommend.models import RecommendError
from soundstage.recommend.registry import Registry
from soundstage.recommend.service import (
    MAX_N,
    Served,
    add_items,
    recommend_for,
)
from soundstage.web.auth import DEFAULT_PER_MINUTE, install_auth, require
from soundstage.web.bodies import Body
from soundstage.web.errors import install_error_handlers
from soundstage.web.schemas import RecActive, RecAdded, RecAnswer, RecEvents, RecModels

__all__ = ["app_from_env", "create_recommend_app", "recommend_router"]


class Activate(Body):
    version: str


class Events(Body):
    items: list[str] = Field(min_length=1, max_length=1000)


class NewItem(Body):
    id: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=500)
    kind: str = "movie"
    genres: list[str] = []
    year: int | None = None
    description: str = Field(default="", max_length=10_000)
    creator: str = ""


def recommend_router(registry: Registry, events: EventLog | None = None) -> APIRouter:
    """The routes over `registry`; with `events`, posted events are stored and every
    server process sees them (see recommend/events.py), else they live in this one."""
    router = APIRouter(prefix="/recommendations", tags=["recommendations"])
    served = Served(registry, events)

    def bundle() -> Any:
        """The served bundle with the events stored since the last sync (blocking: sync routes
        call it; the async one goes through `fresh_bundle`)."""
        try:
            current = served.get()
        except RecommendError as exc:
            raise HTTPException(503, str(exc)) from None
        if served.sync_due():
            served.sync()
        return current

    async def fresh_bundle() -> Any:
        """`bundle()` without blocking the event loop on a due sync's database read."""
        return await run_in_threadpool(bundle) if served.sync_due() else bundle()

    analyst = [Depends(require("analyst"))]
    admin = [Depends(require("admin"))]

    @router.get("/models", dependencies=analyst, response_model=RecModels)
    async def models() -> dict[str, Any]:
        return {
            "active": registry.active(),
            "versions": [registry.card(v) for v in registry.versions()],
        }

    @router.put("/models/active", dependencies=admin, response_model=RecActive)
    async def activate(body: Activate) -> dict[str, Any]:
        try:
            loaded = served.switch(body.version)
        except RecommendError as exc:
            raise HTTPException(404, str(exc)) from None
        return {"active": loaded.version, "model": loaded.model.name}

    @router.post("/items", dependencies=admin, response_model=RecAdded)
    def new_items(items: list[NewItem]) -> dict[str, Any]:
        # Sync on purpose: embedding text takes tens of milliseconds, keep it off the loop.
        from soundstage.recommend.content import item_text, shared_embedder

        current = bundle()
        catalog = [Item(**{**it.model_dump(), "genres": tuple(it.genres)}) for it in items]
        try:
            vectors = shared_embedder().encode([item_text(it) for it in catalog])
            added = add_items(current, catalog, vectors)
        except RecommendError as exc:
            raise HTTPException(400, str(exc)) from None
        return {"added": added, "version": current.version}

    @router.post("/{user_id}/events", dependencies=analyst, response_model=RecEvents)
    def post_events(user_id: str, body: Events) -> dict[str, Any]:
        # Sync: a database write and a history rebuild, off the event loop.
        current = bundle()
        try:
            size = served.record(user_id, body.items)
        except RecommendError as exc:
            raise HTTPException(400, str(exc)) from None
        return {"user_id": user_id, "history": size, "version": current.version}

    @router.get(
        "/{user_id}",
        dependencies=analyst,
        response_class=Response,
        responses={200: {"model": RecAnswer, "content": {"application/json": {}}}},
    )
    async def recommendations(
        user_id: str,
        n: int = Query(10, ge=1, le=MAX_N),
        kind: str | None = None,
        exclude_seen: bool = True,
        diversity: float = Query(0.0, ge=0.0, le=1.0),
        calibration: float = Query(0.0, ge=0.0, le=1.0),
    ) -> Response:
        current = await fresh_bundle()
        try:
            answer = recommend_for(
                current,
                user_id,
                n,
                kind=kind,
                exclude_seen=exclude_seen,
                diversity=diversity,
                calibration=calibration,
            )
        except RecommendError as exc:
            raise HTTPException(400, str(exc)) from None
        # Serialised directly: FastAPI's generic encoder walks the dict again, slower.
        return Response(json.dumps(answer.as_dict()), media_type="application/json")

    return router


def create_recommend_app(
    registry: Registry,
    accounts: Accounts | None,
    events: EventLog | None = None,
    per_minute: int = DEFAULT_PER_MINUTE,
) -> FastAPI:
    """An app with only the recommendation routes (what `soundstage recommend serve` runs);
    `accounts=None` serves without sign-in (local use only, see web/auth.py)."""
    app = FastAPI(title="soundstage recommendations")
    app.include_router(recommend_router(registry, events))
    install_error_handlers(app)
    return install_auth(app, accounts, per_minute)


def app_from_env() -> FastAPI:
    """The recommendation app for one of several server processes (`serve --workers N`)."""
    from threadpoolctl import threadpool_limits

    from soundstage.settings import load_settings
    from soundstage.store.db import open_store
    from soundstage.web.auth import install_host_check

    threadpool_limits(limits=1)  # one process per core: no BLAS threads fighting each other
    settings = load_settings()
    engine = open_store(settings)
    registry = Registry(settings.data_dir / "recommend")
    app = create_recommend_app(
        registry, Accounts(engine), EventLog(engine), settings.rate_limit_per_minute
    )
    hosts = os.environ.get("SOUNDSTAGE_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],::1")
    return install_host_check(app, hosts.split(","))
