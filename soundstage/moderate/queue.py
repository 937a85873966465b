"""The human review queue: flagged and reported content, reviewer decisions, appeals, audit log.

Why a queue and not auto-removal: scores *prioritise* review (notes/moderate.md §5), a human
makes the call, and every step is written to `mod_events`, an append-only log the database
itself protects (triggers reject UPDATE and DELETE). The EU DSA shapes the flow:

    submit / report → pending → claim → assigned → decide → decided
                                  ↑                           │ appeal (Art. 20)
                                  └──────── appealed ←────────┘
    appealed → claim (not by the first decider) → decide_appeal → closed (upheld | overturned)

- `submit` is idempotent on (content_id, surface, text_sha256): a retried call returns the
  same item and writes nothing; a user report of the same text joins that item.
- `claim` hands each item to one reviewer: `FOR UPDATE SKIP LOCKED` on PostgreSQL, the
  single-writer `BEGIN IMMEDIATE` transaction on SQLite (see `soundstage.store.db`).
- Every operation is one transaction: a refused or failed call leaves no trace.
- Do-not-store mode (`text=None`, `keep_text=False`): only the hash is kept, and span texts
  are blanked in the stored verdict. The audit log never holds content text.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from soundstage.errors import SoundstageError
from soundstage.moderate.types import MAX_BYTES, SEVERITY, Verdict, text_sha256
from soundstage.store.db import translate_errors
from soundstage.store.schema import (
    MOD_DECISIONS,
    MOD_SOURCES,
    MOD_STATUSES,
    Base,
    ModEvent,
    ModItem,
    utcnow,
)

_ITEMS = Base.metadata.tables[ModItem.__tablename__]
_EVENTS = Base.metadata.tables[ModEvent.__tablename__]

CLAIMABLE = ("pending", "appealed")
DEFAULT_LEASE = timedelta(minutes=30)
OPEN = ("pending", "assigned", "appealed")
MAX_NAME = 200
MAX_CONTENT_ID = 200
MAX_SURFACE = 64
MAX_CLAUSE = 200
# A reported item ranks with an automated "review" item; more reporters push it up, to a cap
# so a brigade cannot jump every automated "block" item.
REPORT_PRIORITY = 1.0
EXTRA_REPORT_PRIORITY = 0.25
MAX_REPORT_PRIORITY = 2.0


class QueueError(SoundstageError, ValueError):
    """A review-queue request that cannot be carried out: unknown item, wrong reviewer, ..."""


class TextTooLarge(QueueError):
    """A text over MAX_BYTES: the web app answers 413."""


@dataclass(frozen=True)
class QueueItem:
    """One row of `mod_items`, with the verdict parsed back into a `Verdict`."""

    id: str
    content_id: str
    surface: str
    source: str
    text: str | None
    text_sha256: str
    verdict: Verdict | None
    automated_decision: str | None
    policy: str | None
    model: str | None
    status: str
    priority: float
    reports: int
    assignee: str | None
    assigned_at: datetime | None
    decision: str | None
    reason: str | None
    clause: str | None
    decided_by: str | None
    decided_at: datetime | None
    appellant: str | None
    appeal_reason: str | None
    appealed_at: datetime | None
    appeal_outcome: str | None
    appeal_decided_by: str | None
    appeal_decided_at: datetime | None
    final_decision: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def in_appeal(self) -> bool:
        """Appealed and not yet re-decided: only `decide_appeal` applies."""
        return self.appealed_at is not None and self.appeal_outcome is None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data, for the CLI and the web API."""
        return _jsonable(asdict(self) | {"verdict": _verdict_json(self.verdict)})


@dataclass(frozen=True)
class AuditEvent:
    """One row of `mod_events`: who did what to an item, when, and why."""

    id: int
    item_id: str
    at: datetime
    actor: str
    actor_kind: str
    action: str
    text_sha256: str
    decision: str | None
    reason: str | None
    clause: str | None
    policy: str | None
    model: str | None
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


class ReviewQueue:
    """The review queue over one database. Each method is one transaction."""

    def __init__(self, engine: Engine, *, lease: timedelta = DEFAULT_LEASE) -> None:
        """`lease`: how long a claim holds an item; an older claim lapses, and the item
        goes back to the queue at the next `claim` (one reviewer cannot hoard it)."""
        if lease <= timedelta(0):
            raise QueueError(f"a claim lease must be positive, not {lease}")
        self.engine = engine
        self.lease = lease

    # --- intake ---------------------------------------------------------------------------

    def submit(
        self,
        verdict: Verdict,
        *,
        content_id: str,
        surface: str | None = None,
        text: str | None = None,
        source: str = "automated",
    ) -> QueueItem:
        """Queue an automated verdict for review; a retry returns the same item unchanged.

        `surface` defaults to the verdict's. `text=None` is do-not-store mode. When the key
        already exists because users reported the text, the verdict is attached to it.
        """
        if source not in MOD_SOURCES or source == "user_report":
            raise QueueError(
                f"unknown submit source {source!r}; use 'automated' or 'release_gate'",
                hint="user reports go through report()",
            )
        content_id = _check_text("content id", content_id, MAX_CONTENT_ID)
        surface = _check_surface(verdict.surface if surface is None else surface)
        if text is not None and text_sha256(text) != verdict.text_sha256:
            raise QueueError(
                f"the text given for content {content_id!r} is not the text the verdict scored "
                "(SHA-256 differs)"
            )
        stored = _stored_verdict(verdict, keep_text=text is not None)
        actor = f"model:{verdict.model or 'unknown'}"

        def write(conn: Connection) -> str:
            now = utcnow()
            existing = _find(conn, content_id, surface, verdict.text_sha256)
            if existing is not None and existing.verdict is not None:
                return str(existing.id)  # a retry: nothing to write
            values: dict[str, Any] = {
                "verdict": stored,
                "automated_decision": verdict.decision,
                "policy": verdict.policy or None,
                "model": verdict.model or None,
                "updated_at": now,
            }
            if existing is None:
                item_id = uuid.uuid4().hex
                conn.execute(
                    insert(_ITEMS).values(
                        id=item_id,
                        content_id=content_id,
                        surface=surface,
                        source=source,
                        text=text,
                        text_sha256=verdict.text_sha256,
                        status="pending",
                        priority=priority_of(verdict, 0),
                        reports=0,
                        created_at=now,
                        **values,
                    )
                )
            else:
                item_id = str(existing.id)
                if existing.status in OPEN:
                    values["priority"] = priority_of(verdict, existing.reports)
                if existing.text is None and text is not None:
                    values["text"] = text
                conn.execute(update(_ITEMS).where(_ITEMS.c.id == item_id).values(**values))
            _log(
                conn,
                item_id,
                now,
                actor,
                "model",
                "flagged",
                verdict.text_sha256,
                decision=verdict.decision,
                policy=verdict.policy or None,
                model=verdict.model or None,
                clause=verdict.hits[0].clause if verdict.hits else None,
                details=_verdict_details(verdict, source),
            )
            return item_id

        return self.get(self._write_retrying("cannot queue content in", write))

    def report(
        self,
        content_id: str,
        reporter: str,
        reason: str,
        text: str,
        *,
        surface: str = "",
        category: str | None = None,
        keep_text: bool = True,
    ) -> QueueItem:
        """A user's notice (DSA Art. 16) about a text; joins the text's item if it has one.

        Each reporter counts once per item, and more reporters raise the priority of an open
        item. A report about an already decided item is logged but does not reopen it: the
        reporter's route is then `appeal`.
        """
        content_id = _check_text("content id", content_id, MAX_CONTENT_ID)
        reporter = _check_text("reporter", reporter, MAX_NAME)
        reason = _check_reason(reason)
        surface = _check_surface(surface)
        if not isinstance(text, str):
            raise QueueError("a report needs the reported text (its hash identifies it)")
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_BYTES:
            raise TextTooLarge(f"text is {size:,} bytes; at most {MAX_BYTES:,} (1 MiB)")
        digest = text_sha256(text)
        actor = f"user:{reporter}"

        def write(conn: Connection) -> str:
            now = utcnow()
            existing = _find(conn, content_id, surface, digest)
            if existing is None:
                item_id = uuid.uuid4().hex
                conn.execute(
                    insert(_ITEMS).values(
                        id=item_id,
                        content_id=content_id,
                        surface=surface,
                        source="user_report",
                        text=text if keep_text else None,
                        text_sha256=digest,
                        status="pending",
                        priority=priority_of(None, 1),
                        reports=1,
                        created_at=now,
                        updated_at=now,
                    )
                )
                reports, after_decision = 1, False
            else:
                item_id = str(existing.id)
                if _reported_by(conn, item_id, actor):
                    return item_id
                reports = existing.reports + 1
                values: dict[str, Any] = {"reports": reports, "updated_at": now}
                if existing.status in OPEN:
                    values["priority"] = priority_of(_verdict_of(existing.verdict), reports)
                if existing.text is None and keep_text:
                    values["text"] = text
                conn.execute(update(_ITEMS).where(_ITEMS.c.id == item_id).values(**values))
                after_decision = existing.status not in OPEN
            details: dict[str, Any] = {"reports": reports, "category": category}
            if after_decision:
                details["after_decision"] = True
            _log(
                conn,
                item_id,
                now,
                actor,
                "user",
                "reported",
                digest,
                reason=reason,
                details=details,
            )
            return item_id

        return self.get(self._write_retrying("cannot record report in", write))

    # --- reading --------------------------------------------------------------------------

    def get(self, item_id: str) -> QueueItem:
        with translate_errors(self.engine, "cannot read"), self.engine.connect() as conn:
            return _item(_row(conn, item_id, lock=False))

    def pending(self, limit: int = 50, surface: str | None = None) -> list[QueueItem]:
        """Unclaimed items (new and appealed), highest priority first, then oldest first."""
        if limit < 1:
            raise QueueError(f"limit must be at least 1, not {limit}")
        stmt = _claimable_query(surface).limit(limit)
        with translate_errors(self.engine, "cannot read"), self.engine.connect() as conn:
            return [_item(row) for row in conn.execute(stmt.with_only_columns(_ITEMS))]

    def history(self, item_id: str) -> list[AuditEvent]:
        """The item's audit log, oldest first."""
        stmt = select(_EVENTS).where(_EVENTS.c.item_id == item_id).order_by(_EVENTS.c.id)
        with translate_errors(self.engine, "cannot read"), self.engine.connect() as conn:
            _row(conn, item_id, lock=False)
            return [AuditEvent(**row._asdict()) for row in conn.execute(stmt)]

    def stats(self) -> dict[str, Any]:
        """Queue volume by status and source, decisions, and the appeal overturn rate."""
        with translate_errors(self.engine, "cannot read"), self.engine.connect() as conn:
            by_status = _counts(conn, _ITEMS.c.status)
            by_source = _counts(conn, _ITEMS.c.source)
            decisions = _counts(conn, _ITEMS.c.final_decision)
            outcomes = _counts(conn, _ITEMS.c.appeal_outcome)
            open_appeals = conn.execute(
                select(func.count()).where(
                    _ITEMS.c.appealed_at.is_not(None), _ITEMS.c.appeal_outcome.is_(None)
                )
            ).scalar_one()
            oldest = conn.execute(
                select(func.min(_ITEMS.c.created_at)).where(_ITEMS.c.status.in_(OPEN))
            ).scalar_one()
            lapsed = conn.execute(
                select(func.count()).where(
                    _ITEMS.c.status == "assigned", _ITEMS.c.assigned_at < utcnow() - self.lease
                )
            ).scalar_one()
            agreed = conn.execute(
                select(func.count()).where(_ITEMS.c.decision == _ITEMS.c.automated_decision)
            ).scalar_one()
            compared = conn.execute(
                select(func.count()).where(
                    _ITEMS.c.decision.is_not(None), _ITEMS.c.automated_decision.in_(MOD_DECISIONS)
                )
            ).scalar_one()
        upheld, overturned = outcomes.get("upheld", 0), outcomes.get("overturned", 0)
        decided_appeals = upheld + overturned
        return {
            "by_status": {s: by_status.get(s, 0) for s in MOD_STATUSES},
            "by_source": {s: by_source.get(s, 0) for s in MOD_SOURCES},
            "open": sum(by_status.get(s, 0) for s in OPEN),
            # Claims older than the lease, not yet handed back (the next claim does that).
            "expired_claims": lapsed,
            "claim_lease_minutes": self.lease.total_seconds() / 60,
            "oldest_open_at": None if oldest is None else _utc(oldest).isoformat(),
            "final_decisions": {d: decisions.get(d, 0) for d in MOD_DECISIONS},
            # How often the first human decision matched the model's allow/block call.
            "automated_agreement": agreed / compared if compared else None,
            "appeals": {
                "open": open_appeals,
                "decided": decided_appeals,
                "upheld": upheld,
                "overturned": overturned,
                "overturn_rate": overturned / decided_appeals if decided_appeals else None,
            },
        }

    # --- review ---------------------------------------------------------------------------

    def claim(
        self, reviewer: str, *, surface: str | None = None, item_id: str | None = None
    ) -> QueueItem | None:
        """Assign the next unclaimed item (or exactly `item_id`) to `reviewer`; None if none.

        Appealed items are skipped for the reviewer who made the decision under appeal.
        """
        reviewer = _check_text("reviewer", reviewer, MAX_NAME)
        query = _claimable_query(surface).where(
            or_(_ITEMS.c.decided_by.is_(None), _ITEMS.c.decided_by != reviewer)
        )
        if item_id is not None:
            query = query.where(_ITEMS.c.id == item_id)
        query = query.limit(1).with_for_update(skip_locked=True)
        with self._write("cannot claim from") as conn:
            self._expire(conn)
            found = conn.execute(query).scalar_one_or_none()
            if found is None:
                if item_id is not None:
                    _why_not_claimable(_item(_row(conn, item_id, lock=False)), reviewer)
                return None
            row = _row(conn, found, lock=True)
            now = utcnow()
            conn.execute(
                update(_ITEMS)
                .where(_ITEMS.c.id == found)
                .values(status="assigned", assignee=reviewer, assigned_at=now, updated_at=now)
            )
            _log(
                conn,
                found,
                now,
                f"human:{reviewer}",
                "human",
                "assigned",
                row.text_sha256,
                details={"appeal": row.appealed_at is not None},
            )
        return self.get(found)

    def _expire(self, conn: Connection) -> int:
        """Give back every claim older than the lease (logged as released, expired)."""
        now = utcnow()
        stale = conn.execute(
            select(_ITEMS)
            .where(_ITEMS.c.status == "assigned", _ITEMS.c.assigned_at < now - self.lease)
            .with_for_update(skip_locked=True)
        ).all()
        for row in stale:
            item = _item(row)
            conn.execute(
                update(_ITEMS)
                .where(_ITEMS.c.id == item.id)
                .values(
                    status="appealed" if item.in_appeal else "pending",
                    assignee=None,
                    assigned_at=None,
                    updated_at=now,
                )
            )
            minutes = self.lease.total_seconds() / 60
            _log(
                conn,
                item.id,
                now,
                f"human:{item.assignee}",
                "human",
                "released",
                item.text_sha256,
                details={"expired": True, "lease_minutes": minutes},
            )
        return len(stale)

    def release(self, item_id: str, reviewer: str) -> QueueItem:
        """Give a claimed item back to the queue (the reviewer cannot or should not decide it)."""
        reviewer = _check_text("reviewer", reviewer, MAX_NAME)
        with self._write("cannot release in") as conn:
            item = _item(_row(conn, item_id, lock=True))
            _check_holder(item, reviewer)
            now = utcnow()
            conn.execute(
                update(_ITEMS)
                .where(_ITEMS.c.id == item_id)
                .values(
                    status="appealed" if item.in_appeal else "pending",
                    assignee=None,
                    assigned_at=None,
                    updated_at=now,
                )
            )
            _log(conn, item_id, now, f"human:{reviewer}", "human", "released", item.text_sha256)
        return self.get(item_id)

    def decide(
        self,
        item_id: str,
        reviewer: str,
        decision: str,
        reason: str,
        clause: str | None = None,
    ) -> QueueItem:
        """Record the assignee's decision. A block needs the policy clause it enforces."""
        reviewer = _check_text("reviewer", reviewer, MAX_NAME)
        decision, reason, clause = _check_decision(decision, reason, clause)
        with self._write("cannot record decision in") as conn:
            item = _item(_row(conn, item_id, lock=True))
            if item.in_appeal:
                raise QueueError(
                    f"item {item_id} is under appeal", hint="decide it with decide_appeal()"
                )
            if item.decision is not None:
                raise QueueError(
                    f"item {item_id} was already decided ({item.decision} by {item.decided_by})",
                    hint="a decision can only be changed through an appeal",
                )
            _check_holder(item, reviewer)
            _check_clause(item, decision, clause)
            now = utcnow()
            _record_decision(
                conn,
                item,
                now,
                reviewer,
                "decided",
                (decision, reason, clause),
                {"automated_decision": item.automated_decision},
                status="decided",
                decision=decision,
                reason=reason,
                clause=clause,
                decided_by=reviewer,
                decided_at=now,
            )
        return self.get(item_id)

    def appeal(self, item_id: str, appellant: str, reason: str) -> QueueItem:
        """An internal complaint (DSA Art. 20) against the decision: back to the queue.

        One appeal per item; after it, redress is out of court or judicial.
        """
        appellant = _check_text("appellant", appellant, MAX_NAME)
        reason = _check_reason(reason)
        with self._write("cannot record appeal in") as conn:
            item = _item(_row(conn, item_id, lock=True))
            if item.decision is None:
                raise QueueError(
                    f"item {item_id} has no decision to appeal yet (status {item.status})"
                )
            if item.appealed_at is not None:
                raise QueueError(
                    f"item {item_id} was already appealed",
                    hint="further redress is out-of-court dispute settlement or a court",
                )
            now = utcnow()
            conn.execute(
                update(_ITEMS)
                .where(_ITEMS.c.id == item_id)
                .values(
                    status="appealed",
                    appellant=appellant,
                    appeal_reason=reason,
                    appealed_at=now,
                    updated_at=now,
                )
            )
            _log(
                conn,
                item_id,
                now,
                f"user:{appellant}",
                "user",
                "appealed",
                item.text_sha256,
                decision=item.decision,
                reason=reason,
            )
        return self.get(item_id)

    def decide_appeal(
        self,
        item_id: str,
        reviewer: str,
        decision: str,
        reason: str,
        clause: str | None = None,
    ) -> QueueItem:
        """A second reviewer decides the appeal: the same decision upholds, another overturns."""
        reviewer = _check_text("reviewer", reviewer, MAX_NAME)
        decision, reason, clause = _check_decision(decision, reason, clause)
        with self._write("cannot record appeal decision in") as conn:
            item = _item(_row(conn, item_id, lock=True))
            if item.appealed_at is None:
                raise QueueError(f"item {item_id} is not under appeal", hint="use decide()")
            if item.appeal_outcome is not None:
                raise QueueError(
                    f"the appeal on item {item_id} was already decided ({item.appeal_outcome} "
                    f"by {item.appeal_decided_by})"
                )
            if reviewer == item.decided_by:
                raise QueueError(
                    f"{reviewer} made the decision under appeal on item {item_id}",
                    hint="an appeal must be decided by a second reviewer",
                )
            _check_holder(item, reviewer)
            _check_clause(item, decision, clause)
            outcome = "upheld" if decision == item.decision else "overturned"
            now = utcnow()
            _record_decision(
                conn,
                item,
                now,
                reviewer,
                "appeal_decided",
                (decision, reason, clause),
                {"outcome": outcome, "previous": item.decision},
                status="closed",
                appeal_outcome=outcome,
                appeal_decided_by=reviewer,
                appeal_decided_at=now,
            )
        return self.get(item_id)

    # --- statements -----------------------------------------------------------------------

    def statement_of_reasons(
        self,
        item_id: str,
        *,
        service: str = "soundstage",
        territorial_scope: Sequence[str] = ("worldwide",),
    ) -> dict[str, Any]:
        """The DSA Art. 17 statement of reasons for the item's current decision."""
        from soundstage.moderate.reasons import build_statement

        item = self.get(item_id)
        return build_statement(
            item, self.history(item_id), service=service, territorial_scope=territorial_scope
        )

    # --- plumbing -------------------------------------------------------------------------

    @contextmanager
    def _write(self, doing: str) -> Iterator[Connection]:
        with translate_errors(self.engine, doing), self.engine.begin() as conn:
            yield conn

    def _write_retrying(self, doing: str, write: Any) -> str:
        """Run `write(conn)` in a transaction; once more if a concurrent insert of the same
        key won the race (PostgreSQL: both saw no row, the second INSERT hit the unique key)."""
        with translate_errors(self.engine, doing):
            for attempt in range(2):
                try:
                    with self.engine.begin() as conn:
                        return str(write(conn))
                except IntegrityError:
                    if attempt:
                        raise
        raise AssertionError("unreachable")


def priority_of(verdict: Verdict | None, reports: int) -> float:
    """Review order: automated severity (block > review > allow) + top score + reports."""
    score = 0.0
    if verdict is not None:
        top = max((h.score for h in verdict.hits), default=None)
        if top is None:
            top = max(verdict.scores.values(), default=0.0)
        score = SEVERITY[verdict.decision] + float(top)
    if reports > 0:
        score += min(REPORT_PRIORITY + EXTRA_REPORT_PRIORITY * (reports - 1), MAX_REPORT_PRIORITY)
    return round(score, 6)


# --- helpers ----------------------------------------------------------------------------------


def _claimable_query(surface: str | None) -> Any:
    stmt = select(_ITEMS.c.id).where(_ITEMS.c.status.in_(CLAIMABLE))
    if surface is not None:
        stmt = stmt.where(_ITEMS.c.surface == surface)
    return stmt.order_by(_ITEMS.c.priority.desc(), _ITEMS.c.created_at, _ITEMS.c.id)


def _row(conn: Connection, item_id: str, *, lock: bool) -> Row[Any]:
    stmt = select(_ITEMS).where(_ITEMS.c.id == item_id)
    row = conn.execute(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        raise QueueError(f"no moderation item {item_id!r}", hint="list items with pending()")
    return row


def _find(conn: Connection, content_id: str, surface: str, digest: str) -> Row[Any] | None:
    stmt = select(_ITEMS).where(
        _ITEMS.c.content_id == content_id,
        _ITEMS.c.surface == surface,
        _ITEMS.c.text_sha256 == digest,
    )
    return conn.execute(stmt.with_for_update()).first()


def _reported_by(conn: Connection, item_id: str, actor: str) -> bool:
    stmt = select(_EVENTS.c.id).where(
        _EVENTS.c.item_id == item_id, _EVENTS.c.action == "reported", _EVENTS.c.actor == actor
    )
    return conn.execute(stmt.limit(1)).first() is not None


def _record_decision(
    conn: Connection,
    item: QueueItem,
    now: datetime,
    reviewer: str,
    action: str,
    decided: tuple[str, str, str | None],
    details: dict[str, Any],
    **columns: Any,
) -> None:
    """A human decision (first or on appeal): the item's new state, then its audit event."""
    decision, reason, clause = decided
    conn.execute(
        update(_ITEMS)
        .where(_ITEMS.c.id == item.id)
        .values(final_decision=decision, assignee=None, updated_at=now, **columns)
    )
    _log(
        conn,
        item.id,
        now,
        f"human:{reviewer}",
        "human",
        action,
        item.text_sha256,
        decision=decision,
        reason=reason,
        clause=clause,
        policy=item.policy,
        model=item.model,
        details=details,
    )


def _log(
    conn: Connection,
    item_id: str,
    at: datetime,
    actor: str,
    actor_kind: str,
    action: str,
    digest: str,
    *,
    decision: str | None = None,
    reason: str | None = None,
    clause: str | None = None,
    policy: str | None = None,
    model: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(_EVENTS).values(
            item_id=item_id,
            at=at,
            actor=actor,
            actor_kind=actor_kind,
            action=action,
            text_sha256=digest,
            decision=decision,
            reason=reason,
            clause=clause,
            policy=policy,
            model=model,
            details=details or {},
        )
    )


def _item(row: Row[Any]) -> QueueItem:
    data = row._asdict()
    data["verdict"] = _verdict_of(data["verdict"])
    return QueueItem(**data)


def _verdict_of(data: dict[str, Any] | None) -> Verdict | None:
    return None if data is None else Verdict.from_json(data)


def _verdict_json(verdict: Verdict | None) -> dict[str, Any] | None:
    return None if verdict is None else verdict.to_json()


def _stored_verdict(verdict: Verdict, *, keep_text: bool) -> dict[str, Any]:
    data = verdict.to_json()
    if not keep_text:  # spans quote the text; do-not-store keeps their offsets only
        data["spans"] = [span | {"text": ""} for span in data["spans"]]
    return data


def _verdict_details(verdict: Verdict, source: str) -> dict[str, Any]:
    """What the audit log keeps of a verdict: scores and thresholds, never text."""
    return {
        "source": source,
        "scores": verdict.scores,
        "hits": [asdict(hit) for hit in verdict.hits],
        "lang": verdict.lang,
        "lang_confidence": verdict.lang_confidence,
        "supported": verdict.supported,
        "tier": verdict.tier,
        "automated": verdict.automated,
        "changes": list(verdict.changes),
        "chars": verdict.chars,
    }


def _counts(conn: Connection, column: Any) -> dict[str, int]:
    stmt = select(column, func.count()).group_by(column)
    return {key: int(n) for key, n in conn.execute(stmt).all() if key is not None}


def _check_holder(item: QueueItem, reviewer: str) -> None:
    if item.status != "assigned" or item.assignee is None:
        raise QueueError(
            f"item {item.id} is not claimed (status {item.status})",
            hint=f"claim it first: claim({reviewer!r}, item_id={item.id!r})",
        )
    if item.assignee != reviewer:
        raise QueueError(f"item {item.id} is assigned to {item.assignee}, not {reviewer}")


def _why_not_claimable(item: QueueItem, reviewer: str) -> None:
    if item.status in CLAIMABLE and item.decided_by == reviewer:
        raise QueueError(
            f"{reviewer} made the decision under appeal on item {item.id}",
            hint="an appeal must be decided by a second reviewer",
        )
    if item.status == "assigned":
        raise QueueError(f"item {item.id} is already assigned to {item.assignee}")
    if item.status not in CLAIMABLE:
        raise QueueError(f"item {item.id} is {item.status}; there is nothing to review")


def _check_decision(decision: str, reason: str, clause: str | None) -> tuple[str, str, str | None]:
    if decision not in MOD_DECISIONS:
        hint = "'review' is what the queue is for; " if decision == "review" else ""
        raise QueueError(
            f"decision must be one of {', '.join(MOD_DECISIONS)}, not {decision!r}",
            hint=hint + "a reviewer decides allow or block",
        )
    reason = _check_reason(reason)
    if clause is not None:
        clause = clause.strip() or None
        if clause is not None and len(clause) > MAX_CLAUSE:
            raise QueueError(f"clause is {len(clause)} characters; at most {MAX_CLAUSE}")
    return decision, reason, clause


def _check_clause(item: QueueItem, decision: str, clause: str | None) -> None:
    """A block must name its ground (DSA Art. 17(3)(e)); the verdict's clauses are the hint."""
    if decision == "block" and clause is None:
        known = sorted({h.clause for h in item.verdict.hits}) if item.verdict else []
        hint = "e.g. " + "; ".join(repr(c) for c in known) if known else "name the policy clause"
        raise QueueError(f"blocking item {item.id} needs the policy clause it enforces", hint=hint)


def _check_reason(reason: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise QueueError("a reason is required", hint="say why, in a sentence the user will read")
    return reason.strip()


def _check_text(what: str, value: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise QueueError(f"{what} must not be empty")
    value = value.strip()
    if len(value) > limit:
        raise QueueError(f"{what} is {len(value)} characters; at most {limit}")
    return value


def _check_surface(surface: str) -> str:
    if not isinstance(surface, str) or len(surface) > MAX_SURFACE:
        raise QueueError(f"surface must be a string of at most {MAX_SURFACE} characters")
    return surface.strip()


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}


__all__ = [
    "AuditEvent",
    "QueueError",
    "QueueItem",
    "ReviewQueue",
    "priority_of",
]
