"""HTTP routes for moderation: a thin layer over `moderate.service.Moderator`.

    POST /moderate            {"text": "...", "policy": "community", "surface": "chat"}
                              or {"items": [{"id": "c1", "text": "..."}, ...]} (≤ 1,000 items)
    GET  /moderate/policies   the policies a client may name, with their surfaces
    POST /moderate/reports    a user report into the review queue
    GET  /moderate/queue      items awaiting review (priority, then age); ?surface=&limit=
    GET  /moderate/queue/stats                 volume by status, appeal overturn rate
    POST /moderate/queue/claim                 {"surface"}: assign the next item to the caller
    GET  /moderate/queue/{id}                  the item and its audit history
    POST /moderate/queue/{id}/release          give a claimed item back
    POST /moderate/queue/{id}/decision         {"decision", "reason", "clause"}
    POST /moderate/queue/{id}/appeal           {"reason"}
    POST /moderate/queue/{id}/appeal/decision  a second reviewer decides the appeal
    GET  /moderate/queue/{id}/statement        DSA statement of reasons (?format=markdown)

Clients name policies, never file paths: the built-in ones and any ``*.toml`` in
``<data dir>/policies/``. A text over 1 MiB is 413; an unknown policy or surface is 400; a
body that is not JSON (or not UTF-8) is FastAPI's 422. With ``"queue": true`` every verdict that
is not ``allow`` goes into the review queue and its item id comes back as ``queue_item``.

Who is calling comes from the bearer token (`web/auth.py`), never from the body: the reviewer,
appellant and reporter are the signed-in account. The queue needs the `reviewer` role; scoring,
reporting and appealing need any account. Queue mistakes (wrong reviewer, deciding twice, an
unknown item) are 409/404 with the one-line message.

Handlers are sync (FastAPI runs them in a thread pool), except the hot path: a single short text
is scored on the event loop, because the thread hop costs more than the ~0.5 ms of numpy.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import Field, model_validator

from soundstage.accounts import Accounts, Principal
from soundstage.errors import SoundstageError
from soundstage.moderate.policy import builtin_policies, load_policy
from soundstage.moderate.service import Moderator, TextError
from soundstage.settings import Settings
from soundstage.web.auth import install_auth, require
from soundstage.web.bodies import Body
from soundstage.web.schemas import (
    PolicyInfo,
    QueueItemHistory,
    QueueItemOut,
    QueueStats,
    VerdictBatch,
    VerdictOut,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from soundstage.accounts import Accounts
    from soundstage.moderate.queue import ReviewQueue

__all__ = ["create_moderate_app", "moderate_router"]

MAX_ITEMS = 1000


class Item(Body):
    id: str = Field(default="", max_length=200)
    text: str


class Decide(Body):
    decision: str
    reason: str = Field(max_length=5000)
    clause: str | None = None


class Appeal(Body):
    reason: str = Field(max_length=5000)


class Claim(Body):
    surface: str | None = None


class Report(Body):
    content_id: str = Field(min_length=1, max_length=200)
    reason: str = Field(max_length=5000)
    text: str
    surface: str = ""
    category: str | None = None


class ModerateRequest(Body):
    text: str | None = None
    items: list[Item] | None = Field(default=None, max_length=MAX_ITEMS)
    policy: str = Field(default="community", max_length=100)
    surface: str = Field(default="", max_length=100)
    explain: bool = True
    tier: str = Field(default="fast", pattern="^(fast|cascade|ensemble)$")
    queue: bool = False

    @model_validator(mode="after")
    def one_of(self) -> ModerateRequest:
        if (self.text is None) == (self.items is None):
            raise ValueError("give exactly one of `text` or `items`")
        return self


def moderate_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/moderate", tags=["moderation"])
    policy_dir = settings.data_dir / "policies"
    moderators: dict[tuple[str, str, bool, str], Moderator] = {}
    lock = threading.Lock()
    engine: list[Engine] = []  # opened on first queue use: moderation alone needs no database

    def policy_names() -> dict[str, str | Path]:
        names: dict[str, str | Path] = {n: n for n in builtin_policies()}
        if policy_dir.is_dir():
            names.update({p.stem: p for p in sorted(policy_dir.glob("*.toml"))})
        return names

    def moderator(policy: str, surface: str, explain: bool, tier: str) -> Moderator:
        key = (policy, surface, explain, tier)
        with lock:
            if key not in moderators:
                spec = policy_names().get(policy)
                if spec is None:
                    known = ", ".join(policy_names())
                    raise HTTPException(400, f"unknown policy {policy!r} (known: {known})")
                try:
                    moderators[key] = Moderator.load(spec, surface, explain=explain, tier=tier)
                except SoundstageError as exc:
                    raise HTTPException(400, exc.message) from None
            return moderators[key]

    def queue() -> ReviewQueue:
        from soundstage.moderate.queue import ReviewQueue
        from soundstage.store.db import open_store

        with lock:
            if not engine:
                try:
                    engine.append(open_store(settings))
                except SoundstageError as exc:
                    raise HTTPException(503, exc.message) from None
        return ReviewQueue(engine[0], lease=timedelta(minutes=settings.claim_lease_minutes))

    def run(action: Any, *args: Any, **kwargs: Any) -> Any:
        from soundstage.moderate.queue import QueueError, TextTooLarge

        try:
            return action(*args, **kwargs)
        except QueueError as exc:
            status = 404 if exc.message.startswith("no moderation item") else 409
            status = 413 if isinstance(exc, TextTooLarge) else status
            raise HTTPException(status, exc.message) from None

    anyone = Depends(require())
    reviewer = Depends(require("reviewer"))

    @router.get("/policies", dependencies=[anyone], response_model=list[PolicyInfo])
    def policies() -> list[dict[str, Any]]:
        return [
            {"name": name, "id": p.id, "description": p.description, "surfaces": list(p.surfaces)}
            for name, spec in policy_names().items()
            for p in [load_policy(spec)]
        ]

    @router.post("", dependencies=[anyone], response_model=VerdictOut | VerdictBatch)
    async def moderate(body: ModerateRequest) -> dict[str, Any]:
        # One short text is ~0.5 ms of numpy: answer on the event loop (a thread hop costs
        # more). Batches, long texts, the MiniLM tier and queue writes go to the thread pool.
        quick = body.text is not None and len(body.text) < 10_000 and body.tier == "fast"
        if quick and not body.queue:
            return moderate_now(body)
        return dict(await run_in_threadpool(moderate_now, body))

    def moderate_now(body: ModerateRequest) -> dict[str, Any]:
        m = moderator(body.policy, body.surface, body.explain, body.tier)
        items = [Item(text=body.text)] if body.text is not None else list(body.items or [])
        try:
            verdicts = m.check_many([i.text for i in items])
        except TextError as exc:
            where = f"items[{exc.index}]: " if body.items is not None else ""
            raise HTTPException(413, f"{where}{exc.message}") from None
        queued: dict[int, str] = {}
        if body.queue:
            q = queue()
            for i, (item, v) in enumerate(zip(items, verdicts, strict=True)):
                if v.decision != "allow":
                    cid = item.id or v.text_sha256[:16]
                    queued[i] = run(q.submit, v, content_id=cid, text=item.text).id
        results = []
        for index, (item, verdict) in enumerate(zip(items, verdicts, strict=True)):
            data = verdict.to_json()
            if body.items is not None:
                data["id"] = item.id
            if index in queued:
                data["queue_item"] = queued[index]
            results.append(data)
        return results[0] if body.text is not None else {"results": results}

    @router.post("/reports", status_code=201, response_model=QueueItemOut)
    def report(body: Report, user: Principal = anyone) -> dict[str, Any]:
        item = run(
            queue().report,
            body.content_id,
            user.name,
            body.reason,
            body.text,
            surface=body.surface,
            category=body.category,
        )
        return dict(item.to_dict())

    @router.get("/queue", dependencies=[reviewer], response_model=list[QueueItemOut])
    def pending(
        limit: int = Query(50, ge=1, le=1000), surface: str | None = None
    ) -> list[dict[str, Any]]:
        return [i.to_dict() for i in run(queue().pending, limit, surface)]

    @router.get("/queue/stats", dependencies=[reviewer], response_model=QueueStats)
    def stats() -> dict[str, Any]:
        return dict(run(queue().stats))

    @router.post(
        "/queue/claim",
        response_model=None,
        responses={
            200: {"model": QueueItemOut, "description": "the item now assigned to the caller"},
            204: {"description": "nothing to review"},
        },
    )
    def claim(body: Claim, user: Principal = reviewer) -> Any:
        item = run(queue().claim, user.name, surface=body.surface)
        return Response(status_code=204) if item is None else item.to_dict()

    @router.get("/queue/{item_id}", dependencies=[reviewer], response_model=QueueItemHistory)
    def show(item_id: str) -> dict[str, Any]:
        q = queue()
        item = run(q.get, item_id)
        return {**item.to_dict(), "history": [e.to_dict() for e in q.history(item_id)]}

    @router.post("/queue/{item_id}/release", response_model=QueueItemOut)
    def release(item_id: str, user: Principal = reviewer) -> dict[str, Any]:
        return dict(run(queue().release, item_id, user.name).to_dict())

    @router.post("/queue/{item_id}/decision", response_model=QueueItemOut)
    def decide(item_id: str, body: Decide, user: Principal = reviewer) -> dict[str, Any]:
        args = (item_id, user.name, body.decision, body.reason, body.clause)
        return dict(run(queue().decide, *args).to_dict())

    @router.post("/queue/{item_id}/appeal", response_model=QueueItemOut)
    def appeal(item_id: str, body: Appeal, user: Principal = anyone) -> dict[str, Any]:
        return dict(run(queue().appeal, item_id, user.name, body.reason).to_dict())

    @router.post("/queue/{item_id}/appeal/decision", response_model=QueueItemOut)
    def decide_appeal(item_id: str, body: Decide, user: Principal = reviewer) -> dict[str, Any]:
        args = (item_id, user.name, body.decision, body.reason, body.clause)
        return dict(run(queue().decide_appeal, *args).to_dict())

    @router.get(
        "/queue/{item_id}/statement",
        dependencies=[reviewer],
        response_model=None,
        responses={
            200: {
                "description": "a DSA statement of reasons (JSON; Markdown: ?format=markdown)",
                "content": {"application/json": {}, "text/markdown": {}},
            }
        },
    )
    def statement(item_id: str, format: str = Query("json", pattern="^(json|markdown)$")) -> Any:
        from soundstage.moderate.reasons import render_markdown

        data = run(queue().statement_of_reasons, item_id)
        if format == "markdown":
            return Response(render_markdown(data), media_type="text/markdown; charset=utf-8")
        return data

    return router


def create_moderate_app(settings: Settings, accounts: Accounts | None) -> FastAPI:
    """Moderation and the review queue on their own (`soundstage serve` mounts them too);
    `accounts=None` serves without sign-in (local use only, see web/auth.py)."""
    from soundstage.web.errors import install_error_handlers

    app = FastAPI(title="soundstage moderation")
    app.include_router(moderate_router(settings))
    install_auth(app, accounts, settings.rate_limit_per_minute)
    return install_error_handlers(app)


def app_from_env() -> FastAPI:
    """For `uvicorn --factory soundstage.web.moderate_api:app_from_env` (settings from env)."""
    from soundstage.settings import load_settings
    from soundstage.store.db import open_store

    settings = load_settings()
    return create_moderate_app(settings, Accounts(open_store(settings)))
