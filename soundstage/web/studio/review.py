"""Pages: `/review` (the moderation queue, reviewer) and `/report` (any account).

    GET  /review                      inbox: claimable items (spans highlighted), my claims, stats
    POST /review/claim                claim the next item (never one's own decision on appeal)
    GET  /review/{id}                 an item: text, scores, decision form, appeal, audit log
    POST /review/{id}/claim           claim this item
    POST /review/{id}/release         give it back
    POST /review/{id}/decide          decide it (an appealed item: decide the appeal)
    GET  /review/{id}/statement.md    the statement of reasons, as a download (also .json)
    GET  /report                      report a text, appeal a decision (any signed-in account)
    POST /report, /report/appeal

The reviewer, reporter and appellant are always the signed-in account, never a form field;
the queue (`soundstage.moderate.queue`) enforces the rules (one holder, a block names its
clause, an appeal goes to a second reviewer) and its refusals are shown on the page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import select

from soundstage.accounts import Principal
from soundstage.errors import SoundstageError
from soundstage.moderate.queue import QueueError, QueueItem, ReviewQueue, TextTooLarge
from soundstage.moderate.types import Span
from soundstage.store.db import translate_errors
from soundstage.store.schema import ModItem
from soundstage.web.studio.pages import Studio, redirect, render, secured, studio
from soundstage.web.studio.session import PageDenied, page_for, read_form

__all__ = ["highlight", "router"]

router = APIRouter(include_in_schema=False)
reviewer = page_for("reviewer")
anyone = page_for()

Segments = list[tuple[str, bool]]
EXCERPT = 280  # characters of each text in the inbox
INBOX = 50
# Queue refusals about what the form said (400), not about the item's state (409).
FORM_MISTAKES = ("a reason is required", "decision must be", "clause is", "blocking item")


def highlight(text: str, spans: Sequence[Span], limit: int | None = None) -> Segments:
    """`text` cut into (piece, marked) segments, marked where a span lies (spans are
    character offsets into the text; overlapping ones merge). With `limit`, an excerpt of
    about that many characters around the first span, with "…" where it was cut. The pieces
    are plain text: the template escapes them."""
    ranges: list[list[int]] = []
    for start, end in sorted((max(0, s.start), min(len(text), s.end)) for s in spans):
        if end <= start:
            continue
        if ranges and start <= ranges[-1][1]:
            ranges[-1][1] = max(ranges[-1][1], end)
        else:
            ranges.append([start, end])
    lo, hi = 0, len(text)
    if limit is not None and len(text) > limit:
        lo = max(0, (ranges[0][0] if ranges else 0) - limit // 4)
        hi = min(len(text), lo + limit)
    segments: Segments = [("…", False)] if lo > 0 else []
    at = lo
    for start, end in ranges:
        start, end = max(start, lo), min(end, hi)
        if end <= start:
            continue
        if start > at:
            segments.append((text[at:start], False))
        segments.append((text[start:end], True))
        at = end
    if at < hi:
        segments.append((text[at:hi], False))
    if hi < len(text):
        segments.append(("…", False))
    return segments


def segments_of(item: QueueItem, limit: int | None = None) -> Segments:
    if item.text is None:
        return []
    return highlight(item.text, item.verdict.spans if item.verdict else [], limit)


@lru_cache(maxsize=32)
def _policy_clauses(name: str) -> tuple[str, ...]:
    from soundstage.moderate.policy import builtin_policies, load_policy

    if name not in builtin_policies():
        return ()
    policy = load_policy(name)
    return tuple(dict.fromkeys(r.clause for rules in policy.rules.values() for r in rules.values()))


def clauses_for(item: QueueItem) -> list[str]:
    """The policy clauses a reviewer picks from: the verdict's first, then its policy's
    (a user report without a verdict: the community policy's)."""
    hits = [h.clause for h in item.verdict.hits] if item.verdict else []
    policy = (item.policy or "community").split("@", 1)[0]
    return list(dict.fromkeys([*hits, *_policy_clauses(policy)]))


def queue_of(state: Studio) -> ReviewQueue:
    return ReviewQueue(state.engine, lease=timedelta(minutes=state.settings.claim_lease_minutes))


def status_of(exc: SoundstageError, refused: int = 409) -> int:
    """A refused queue operation: unknown item 404, too large 413, the queue's rules
    `refused` (409: the item's state forbids it; 400: the form was not filled in right),
    the store 503."""
    if isinstance(exc, TextTooLarge):
        return 413
    if exc.message.startswith("no moderation item"):
        return 404
    if exc.message.startswith(FORM_MISTAKES):
        return 400
    return refused if isinstance(exc, QueueError) else 503


def _claimed_by(state: Studio, name: str) -> list[QueueItem]:
    """The items `name` holds now (newest claim first)."""
    q = queue_of(state)
    stmt = (
        select(ModItem.id)
        .where(ModItem.status == "assigned", ModItem.assignee == name)
        .order_by(ModItem.assigned_at.desc())
        .limit(INBOX)
    )
    with translate_errors(state.engine, "cannot read"), state.engine.connect() as conn:
        ids = list(conn.execute(stmt).scalars())
    return [q.get(i) for i in ids]


def _inbox(state: Studio, name: str) -> dict[str, Any]:
    q = queue_of(state)
    pending = q.pending(INBOX)
    return {
        "items": [(item, segments_of(item, EXCERPT)) for item in pending],
        "mine": [(item, segments_of(item, EXCERPT)) for item in _claimed_by(state, name)],
        "stats": q.stats(),
    }


async def _inbox_page(
    request: Request, state: Studio, who: Principal, status: int = 200, error: str = ""
) -> Response:
    try:
        data = await run_in_threadpool(_inbox, state, who.name)
    except SoundstageError as exc:
        raise PageDenied(503, str(exc)) from None
    return render(request, "review.html", status=status, error=error, **data)


@router.get("/review")
async def inbox(
    request: Request, who: Principal = Depends(reviewer), state: Studio = Depends(studio)
) -> Response:
    return await _inbox_page(request, state, who)


@router.post("/review/claim")
async def claim_next(
    request: Request, who: Principal = Depends(reviewer), state: Studio = Depends(studio)
) -> Response:
    await read_form(request)
    try:
        item = await run_in_threadpool(queue_of(state).claim, who.name)
    except SoundstageError as exc:
        return await _inbox_page(request, state, who, status_of(exc), str(exc))
    if item is None:
        return await _inbox_page(request, state, who, 409, "nothing to review: the queue is empty")
    return redirect(request, f"/review/{item.id}")


def _item_view(state: Studio, item_id: str) -> dict[str, Any]:
    q = queue_of(state)
    item = q.get(item_id)
    return {
        "item": item,
        "segments": segments_of(item),
        "history": q.history(item_id),
        "clauses": clauses_for(item),
        "has_statement": item.decision is not None or item.automated_decision == "block",
    }


async def _item_page(
    request: Request,
    state: Studio,
    item_id: str,
    status: int = 200,
    error: str = "",
    form: dict[str, str] | None = None,
) -> Response:
    try:
        data = await run_in_threadpool(_item_view, state, item_id)
    except SoundstageError as exc:
        raise PageDenied(status_of(exc), str(exc)) from None
    return render(request, "review_item.html", status=status, error=error, form=form or {}, **data)


@router.get("/review/{item_id}")
async def item_page(
    request: Request,
    item_id: str,
    who: Principal = Depends(reviewer),
    state: Studio = Depends(studio),
) -> Response:
    return await _item_page(request, state, item_id)


async def _act(
    request: Request,
    state: Studio,
    item_id: str,
    action: Callable[[ReviewQueue], Any],
    form: dict[str, str] | None = None,
) -> Response:
    """Run one queue operation; back to the item page, or the page again with the refusal."""
    try:
        await run_in_threadpool(action, queue_of(state))
    except SoundstageError as exc:
        return await _item_page(request, state, item_id, status_of(exc), str(exc), form)
    return redirect(request, f"/review/{item_id}")


@router.post("/review/{item_id}/claim")
async def claim(
    request: Request,
    item_id: str,
    who: Principal = Depends(reviewer),
    state: Studio = Depends(studio),
) -> Response:
    await read_form(request)
    return await _act(request, state, item_id, lambda q: q.claim(who.name, item_id=item_id))


@router.post("/review/{item_id}/release")
async def release(
    request: Request,
    item_id: str,
    who: Principal = Depends(reviewer),
    state: Studio = Depends(studio),
) -> Response:
    await read_form(request)
    return await _act(request, state, item_id, lambda q: q.release(item_id, who.name))


@router.post("/review/{item_id}/decide")
async def decide(
    request: Request,
    item_id: str,
    who: Principal = Depends(reviewer),
    state: Studio = Depends(studio),
) -> Response:
    """Decide a claimed item; when it is under appeal, this decides the appeal."""
    form = await read_form(request)
    decision = form.get("decision", "")
    reason = form.get("reason", "")
    clause = form.get("other_clause", "").strip() or form.get("clause", "").strip() or None

    def act(q: ReviewQueue) -> QueueItem:
        if q.get(item_id).in_appeal:
            return q.decide_appeal(item_id, who.name, decision, reason, clause)
        return q.decide(item_id, who.name, decision, reason, clause)

    return await _act(request, state, item_id, act, form)


@router.get("/review/{item_id}/statement.{fmt}")
async def statement(
    request: Request,
    item_id: str,
    fmt: str,
    who: Principal = Depends(reviewer),
    state: Studio = Depends(studio),
) -> Response:
    """The DSA statement of reasons, downloaded as Markdown (for the person) or JSON."""
    from soundstage.moderate.reasons import render_markdown

    if fmt not in ("md", "json"):
        raise PageDenied(404, "a statement comes as .md or .json")
    try:
        data = await run_in_threadpool(queue_of(state).statement_of_reasons, item_id)
    except SoundstageError as exc:
        raise PageDenied(status_of(exc), str(exc)) from None
    if fmt == "md":
        body, media = render_markdown(data), "text/markdown; charset=utf-8"
    else:
        body = json.dumps(data, indent=2, ensure_ascii=False, default=str)
        media = "application/json"
    response = Response(body, media_type=media)
    name = f"statement-{item_id}.{fmt}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return secured(request, response)


# --- /report: any account ------------------------------------------------------------------


def _report_page(
    request: Request, status: int = 200, *, report: str = "", appeal: str = "", **context: Any
) -> Response:
    context.setdefault("done", "")
    context.setdefault("form", {})
    return render(
        request, "report.html", status=status, report_error=report, appeal_error=appeal, **context
    )


@router.get("/report")
async def report_page(
    request: Request, who: Principal = Depends(anyone), done: str = ""
) -> Response:
    messages = {
        "report": "Thank you: your report is in the review queue.",
        "appeal": "Your appeal is in: a second reviewer will look at the decision again.",
    }
    return _report_page(request, done=messages.get(done, ""))


@router.post("/report")
async def report(
    request: Request, who: Principal = Depends(anyone), state: Studio = Depends(studio)
) -> Response:
    form = await read_form(request)

    def act() -> QueueItem:
        return queue_of(state).report(
            form.get("content_id", ""),
            who.name,
            form.get("reason", ""),
            form.get("text", ""),
            surface=form.get("surface", ""),
        )

    try:
        await run_in_threadpool(act)
    except SoundstageError as exc:
        return _report_page(request, status_of(exc, 400), report=str(exc), form=form)
    return redirect(request, "/report?done=report")


@router.post("/report/appeal")
async def appeal(
    request: Request, who: Principal = Depends(anyone), state: Studio = Depends(studio)
) -> Response:
    form = await read_form(request)
    item_id = form.get("item_id", "").strip()
    try:
        await run_in_threadpool(queue_of(state).appeal, item_id, who.name, form.get("reason", ""))
    except SoundstageError as exc:
        return _report_page(request, status_of(exc), appeal=str(exc), form=form)
    return redirect(request, "/report?done=appeal")
