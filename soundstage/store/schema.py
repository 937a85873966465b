"""Tables, as SQLAlchemy 2 declarative models.

Migrations in `soundstage/store/migrations/versions/` create these tables; a test compares
the two so they cannot drift. To add a table: add a model here, then a migration next to
`0001_jobs.py` (`soundstage db revision -m "add scripts"` writes one from the difference).

Timestamps are stored as naive UTC (SQLite has no time zones) and come back as aware UTC
datetimes, so code never compares naive with aware values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED_STATUSES = ("succeeded", "failed", "cancelled")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Naive UTC in the database, aware UTC in Python."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use soundstage.store.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# Named constraints let later SQLite migrations (batch mode) find and alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Job(Base):
    """A unit of background work. `attempts` counts claims and fences out stale workers."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
            name="status",
        ),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress"),
        Index("ix_jobs_status_created", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    # Where the output lives, relative to the data directory (e.g. outputs/<id>/completion.txt).
    result: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    worker_id: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data, for the CLI and the web API."""
        out: dict[str, Any] = {}
        for column in self.__table__.columns:
            value = getattr(self, column.key)
            out[column.key] = value.isoformat() if isinstance(value, datetime) else value
        return out

    def __repr__(self) -> str:
        return f"Job(id={self.id!r}, kind={self.kind!r}, status={self.status!r})"


class Project(Base):
    """A screenplay being co-written. Its content lives in its newest `ProjectVersion`."""

    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    head: Mapped[int] = mapped_column(default=0)  # newest version number
    seed: Mapped[int] = mapped_column(default=1)  # each generation derives its seed from this
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProjectVersion(Base):
    """One intervention (generate, continue, edit, regenerate, restore) and the draft after it.

    Versions are append-only: history, authorship and provenance are read from them, and
    going back to an earlier alternative writes a new version rather than deleting any.
    """

    __tablename__ = "project_versions"

    project_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    op: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))
    entity: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(200))
    prompt: Mapped[str] = mapped_column(Text, default="")
    diff: Mapped[str] = mapped_column(Text, default="")
    screenplay: Mapped[dict[str, Any]] = mapped_column(JSON)
    # [level, entity] pairs whose upper levels changed since they were written.
    stale: Mapped[list[list[str]]] = mapped_column(JSON, default=list)


# --- recommender: catalogue, users, interaction logs --------------------------------------

# Kinds of user–item event a log may hold. Adding one is a migration (the CHECK lists them).
INTERACTION_EVENTS = ("rating", "play", "like", "skip", "complete")


class RecItem(Base):
    """A catalogue entry (movie, show, song, ...). Re-importing a dataset updates it in place."""

    __tablename__ = "rec_items"

    # Several catalogues coexist: ids are only unique within their dataset.
    dataset: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    genres: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(Text)
    year: Mapped[int | None] = mapped_column()
    creator: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecUser(Base):
    """A user of a dataset and their optional attributes (age, gender, ...), as strings."""

    __tablename__ = "rec_users"

    dataset: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    attributes: Mapped[dict[str, str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecInteraction(Base):
    """One user–item event. Append-only: repeated (user, item) events are kept, as in a play log.

    No foreign keys to `rec_items`/`rec_users`: logs often mention items missing from the
    catalogue, and a bulk import must not be ordered behind the catalogue's.
    """

    __tablename__ = "rec_interactions"
    __table_args__ = (
        CheckConstraint(
            "event IN (" + ", ".join(f"'{e}'" for e in INTERACTION_EVENTS) + ")", name="event"
        ),
        Index("ix_rec_interactions_dataset_user", "dataset", "user_id"),
        Index("ix_rec_interactions_dataset_item", "dataset", "item_id"),
        Index("ix_rec_interactions_dataset_timestamp", "dataset", "timestamp"),
    )

    # Insertion order: loading sorts by it, so a log comes back in the order it was written.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    dataset: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(128))
    item_id: Mapped[str] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float)
    # Unix seconds as the source gave them (0 = unknown); an integer, so round trips are exact.
    timestamp: Mapped[int] = mapped_column(BigInteger)


# --- moderation: the human review queue and its audit log ---------------------------------

# Adding a value to any of these is a migration (the CHECK constraints list them).
MOD_SOURCES = ("automated", "user_report", "release_gate")
MOD_STATUSES = ("pending", "assigned", "decided", "appealed", "closed")
# soundstage.moderate.types.DECISIONS, repeated: the store must not import the moderate package.
MOD_AUTOMATED_DECISIONS = ("allow", "review", "block")
MOD_DECISIONS = ("allow", "block")  # what a human may decide; "review" is not an outcome
MOD_APPEAL_OUTCOMES = ("upheld", "overturned")
MOD_ACTOR_KINDS = ("model", "human", "user")
MOD_ACTIONS = (
    "flagged",
    "reported",
    "assigned",
    "released",
    "decided",
    "appealed",
    "appeal_decided",
)


def _in(column: str, values: tuple[str, ...], *, nullable: bool = False) -> str:
    listed = f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"
    return f"{column} IS NULL OR {listed}" if nullable else listed


class ModItem(Base):
    """One piece of content awaiting, or having had, human review; its *current* state.

    The key (content_id, surface, text_sha256) makes submissions idempotent: a retried
    submit, or a second user report of the same text, lands on the same row. An edited text
    has another hash and is reviewed afresh. `text` is NULL in do-not-store mode; the hash
    alone ties the decisions to the text. How the row got here is in `mod_events`.
    """

    __tablename__ = "mod_items"
    __table_args__ = (
        UniqueConstraint("content_id", "surface", "text_sha256"),
        CheckConstraint(_in("source", MOD_SOURCES), name="source"),
        CheckConstraint(_in("status", MOD_STATUSES), name="status"),
        CheckConstraint(
            _in("automated_decision", MOD_AUTOMATED_DECISIONS, nullable=True), name="automated"
        ),
        CheckConstraint(_in("decision", MOD_DECISIONS, nullable=True), name="decision"),
        CheckConstraint(_in("final_decision", MOD_DECISIONS, nullable=True), name="final"),
        CheckConstraint(_in("appeal_outcome", MOD_APPEAL_OUTCOMES, nullable=True), name="outcome"),
        Index("ix_mod_items_status_priority", "status", "priority", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    content_id: Mapped[str] = mapped_column(String(200))
    surface: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    verdict: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # Verdict.to_json()
    automated_decision: Mapped[str | None] = mapped_column(String(8))
    policy: Mapped[str | None] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[float] = mapped_column(Float)  # higher is reviewed first
    reports: Mapped[int] = mapped_column(default=0)
    assignee: Mapped[str | None] = mapped_column(String(200))
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The first human decision; kept as it was when an appeal overturns it.
    decision: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(Text)
    clause: Mapped[str | None] = mapped_column(String(200))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    appellant: Mapped[str | None] = mapped_column(String(200))
    appeal_reason: Mapped[str | None] = mapped_column(Text)
    appealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    appeal_outcome: Mapped[str | None] = mapped_column(String(16))
    appeal_decided_by: Mapped[str | None] = mapped_column(String(200))
    appeal_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What stands now: the decision, or the appeal's when it overturned it.
    final_decision: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ModEvent(Base):
    """The moderation audit log: who (model, reviewer, user) did what to which item, and why.

    Append-only, enforced by the database: migration 0004 adds triggers that reject UPDATE
    and DELETE on this table (SQLite and PostgreSQL), so neither a bug nor a careless script
    can rewrite history. Content text is never written here, only its hash.
    """

    __tablename__ = "mod_events"
    __table_args__ = (
        CheckConstraint(_in("actor_kind", MOD_ACTOR_KINDS), name="actor_kind"),
        CheckConstraint(_in("action", MOD_ACTIONS), name="action"),
        Index("ix_mod_events_item", "item_id", "id"),
    )

    # Insertion order is the history's order (timestamps may tie).
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    item_id: Mapped[str] = mapped_column(String(32), ForeignKey("mod_items.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(210))  # "model:name@1", "human:alice", "user:bob"
    actor_kind: Mapped[str] = mapped_column(String(8))
    action: Mapped[str] = mapped_column(String(16))
    text_sha256: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(Text)
    clause: Mapped[str | None] = mapped_column(String(200))
    policy: Mapped[str | None] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


ROLES = ("admin", "writer", "composer", "reviewer", "analyst")


class User(Base):
    """An account. `name` is canonical (NFKC, lower case), so "Alice" and "alice" are one
    person: the review queue's second-reviewer rule compares these names. Never deleted
    (the audit log names them); `disabled` locks the account and all its tokens out."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))  # argon2id; NULL: token only
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    user_id: Mapped[str] = mapped_column(String(32), ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)


class ApiToken(Base):
    """An API token: shown once, stored as the SHA-256 of its secret (a token is 256 random
    bits, so a slow hash buys nothing and would cost every request). Revoked, never deleted."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user", "user_id"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # the token's public part
    user_id: Mapped[str] = mapped_column(String(32), ForeignKey("users.id"))
    label: Mapped[str] = mapped_column(String(200), default="")
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
