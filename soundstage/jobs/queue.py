"""The durable job queue: every state change is one short transaction.

States: queued -> running -> succeeded | failed | cancelled, and running -> queued when a
worker's lease runs out (it was killed, or lost the database). A claim increments
`attempts`; every later write by that worker is guarded by `attempts == claim.attempt`, so
a worker that lost its lease cannot overwrite the state of the attempt that replaced it.

Claiming is atomic on both databases: PostgreSQL locks the chosen row with
`FOR UPDATE SKIP LOCKED` (other workers skip to the next row); SQLite transactions start
with `BEGIN IMMEDIATE` (see `soundstage.store.db`), so claims are simply serialised.

Lease times come from the writer's clock, so workers on several hosts need synced clocks.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, select, update
from sqlalchemy.orm import Session

from soundstage.errors import JobError
from soundstage.jobs.handlers import LeaseLost, check_params
from soundstage.store.schema import FINISHED_STATUSES, JOB_STATUSES, Job, utcnow

MIN_PREFIX = 6


@dataclass(frozen=True)
class Claim:
    """A worker's hold on one running job."""

    job_id: str
    attempt: int
    worker_id: str
    kind: str
    params: dict[str, Any]


def enqueue(
    engine: Engine, kind: str, params: dict[str, Any] | None = None, *, max_attempts: int = 3
) -> Job:
    """Add a job; params are checked by the kind's handler first."""
    if max_attempts < 1:
        raise JobError(f"max_attempts must be at least 1, got {max_attempts}")
    clean = check_params(kind, params)
    try:
        json.dumps(clean)
    except (TypeError, ValueError) as exc:
        raise JobError(f"job params must be JSON data: {exc}") from None
    now = utcnow()
    job = Job(
        id=uuid.uuid4().hex,
        kind=kind,
        params=clean,
        status="queued",
        progress=0.0,
        message="",
        attempts=0,
        max_attempts=max_attempts,
        cancel_requested=False,
        created_at=now,
        updated_at=now,
    )
    with Session(engine, expire_on_commit=False) as session, session.begin():
        session.add(job)
    return job


def get(engine: Engine, job_id: str) -> Job:
    """The job with this id, or with this unique id prefix (at least 6 characters)."""
    job_id = job_id.strip().lower()
    with Session(engine, expire_on_commit=False) as session:
        job = session.get(Job, job_id)
        if job is None and len(job_id) >= MIN_PREFIX and job_id.isalnum():
            matches = session.scalars(
                select(Job).where(Job.id.startswith(job_id, autoescape=True)).limit(2)
            ).all()
            if len(matches) > 1:
                raise JobError(f"job id prefix {job_id!r} is ambiguous", hint="give more of it")
            job = matches[0] if matches else None
    if job is None:
        raise JobError(f"no job with id {job_id!r}", hint="see `soundstage jobs list`")
    return job


def list_jobs(
    engine: Engine, *, status: str | None = None, kind: str | None = None, limit: int = 100
) -> list[Job]:
    """Newest first."""
    if status is not None and status not in JOB_STATUSES:
        raise JobError(
            f"unknown job status {status!r}", hint=f"use one of {', '.join(JOB_STATUSES)}"
        )
    query = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Job.status == status)
    if kind is not None:
        query = query.where(Job.kind == kind)
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(query).all())


def cancel(engine: Engine, job_id: str) -> Job:
    """Cancel a queued job now, or ask the worker running it to stop at its next report."""
    job = get(engine, job_id)
    now = utcnow()
    with engine.begin() as conn:
        done = conn.execute(
            update(Job)
            .where(Job.id == job.id, Job.status == "queued")
            .values(status="cancelled", message="cancelled", finished_at=now, updated_at=now)
        ).rowcount
        if not done:
            conn.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == "running")
                .values(cancel_requested=True, updated_at=now)
            )
    job = get(engine, job.id)
    if job.status in ("succeeded", "failed"):
        raise JobError(f"job {job.id} already {job.status}; there is nothing to cancel")
    return job


def claim_next(
    engine: Engine,
    worker_id: str,
    *,
    lease_seconds: float,
    kinds: list[str] | None = None,
    job_id: str | None = None,
) -> Claim | None:
    """Take the oldest queued job (of `kinds`, or exactly `job_id`), or None if there is none."""
    query = select(Job.id).where(Job.status == "queued")
    if kinds is not None:
        query = query.where(Job.kind.in_(kinds))
    if job_id is not None:
        query = query.where(Job.id == job_id)
    query = query.order_by(Job.created_at, Job.id).limit(1).with_for_update(skip_locked=True)
    with engine.begin() as conn:
        found = conn.execute(query).scalar_one_or_none()
        if found is None:
            return None
        now = utcnow()
        row = conn.execute(
            update(Job)
            .where(Job.id == found, Job.status == "queued")
            .values(
                status="running",
                worker_id=worker_id,
                attempts=Job.attempts + 1,
                lease_expires_at=now + timedelta(seconds=lease_seconds),
                started_at=now,
                updated_at=now,
                message="started",
            )
            .returning(Job.attempts, Job.kind, Job.params)
        ).first()
    if row is None:
        return None
    return Claim(found, row.attempts, worker_id, row.kind, dict(row.params))


def heartbeat(engine: Engine, claim: Claim, *, lease_seconds: float) -> bool:
    """Extend the lease. Returns whether cancel was requested; raises `LeaseLost`."""
    return _touch(engine, claim, lease_seconds, {})


def report_progress(
    engine: Engine, claim: Claim, progress: float, message: str, *, lease_seconds: float
) -> bool:
    """Store progress and extend the lease. Returns whether cancel was requested."""
    progress = min(max(float(progress), 0.0), 1.0)
    return _touch(engine, claim, lease_seconds, {"progress": progress, "message": message})


def finish(
    engine: Engine,
    claim: Claim,
    status: str,
    *,
    result: str | None = None,
    error: str | None = None,
    message: str | None = None,
) -> bool:
    """Record the outcome (and result reference) in one transaction; False if not ours."""
    if status not in FINISHED_STATUSES:
        raise ValueError(f"not a final status: {status!r}")
    now = utcnow()
    values: dict[str, Any] = {
        "status": status,
        "result": result,
        "error": error,
        "lease_expires_at": None,
        "finished_at": now,
        "updated_at": now,
        "message": message if message is not None else status,
    }
    if status == "succeeded":
        values["progress"] = 1.0
    with engine.begin() as conn:
        return conn.execute(update(Job).where(_ours(claim)).values(**values)).rowcount == 1


def release(engine: Engine, claim: Claim) -> bool:
    """Put a running job back in the queue without counting the attempt (worker shutdown)."""
    now = utcnow()
    with engine.begin() as conn:
        changed = conn.execute(
            update(Job)
            .where(_ours(claim))
            .values(
                status="queued",
                worker_id=None,
                lease_expires_at=None,
                attempts=Job.attempts - 1,
                message="put back: worker stopped",
                updated_at=now,
            )
        ).rowcount
    return changed == 1


def requeue_stale(engine: Engine, *, now: datetime | None = None) -> dict[str, str]:
    """Put back running jobs whose lease ran out; returns {job_id: new status}.

    A job that was asked to cancel becomes cancelled; one that has used all its attempts
    becomes failed; the rest go back to queued (the next claim counts a new attempt).
    """
    now = now or utcnow()
    expired = and_(Job.status == "running", Job.lease_expires_at < now)
    gone = "the worker running it stopped sending heartbeats (killed or disconnected)"
    outcomes: list[tuple[ColumnElement[bool], dict[str, Any]]] = [
        (Job.cancel_requested.is_(True), {"status": "cancelled", "message": "cancelled"}),
        (
            Job.attempts >= Job.max_attempts,
            {
                "status": "failed",
                "message": "failed",
                "error": f"gave up after the last try: {gone}",
            },
        ),
        (Job.attempts < Job.max_attempts, {"status": "queued", "message": f"re-queued: {gone}"}),
    ]
    changed: dict[str, str] = {}
    with engine.begin() as conn:
        for where, values in outcomes:
            status = str(values["status"])
            finished = {"finished_at": now} if status != "queued" else {}
            rows = conn.execute(
                update(Job)
                .where(expired, where)
                .values(worker_id=None, lease_expires_at=None, updated_at=now, **values, **finished)
                .returning(Job.id)
            )
            changed.update(dict.fromkeys(rows.scalars(), status))
    return changed


def wait(engine: Engine, job_id: str, *, timeout: float, poll: float = 0.1) -> Job:
    """Poll until the job has finished; raises `JobError` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        job = get(engine, job_id)
        if job.finished:
            return job
        if time.monotonic() >= deadline:
            raise JobError(f"job {job.id} still {job.status} after {timeout:g}s")
        time.sleep(poll)


def _touch(engine: Engine, claim: Claim, lease_seconds: float, values: dict[str, Any]) -> bool:
    now = utcnow()
    with engine.begin() as conn:
        row = conn.execute(
            update(Job)
            .where(_ours(claim))
            .values(
                lease_expires_at=now + timedelta(seconds=lease_seconds), updated_at=now, **values
            )
            .returning(Job.cancel_requested)
        ).first()
    if row is None:
        raise LeaseLost(f"job {claim.job_id} attempt {claim.attempt} is no longer ours")
    return bool(row.cancel_requested)


def _ours(claim: Claim) -> ColumnElement[bool]:
    return and_(
        Job.id == claim.job_id,
        Job.status == "running",
        Job.attempts == claim.attempt,
        Job.worker_id == claim.worker_id,
    )
