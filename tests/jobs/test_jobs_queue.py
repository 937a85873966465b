"""The queue's state machine, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from soundstage import jobs
from soundstage.errors import JobError
from soundstage.settings import Settings
from soundstage.store import Job, open_store, utcnow

LEASE = 60.0


def claim(engine: Engine, worker: str = "w1", **kw: object) -> jobs.Claim:
    got = jobs.claim_next(engine, worker, lease_seconds=LEASE, **kw)  # type: ignore[arg-type]
    assert got is not None
    return got


def expire_leases(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(Job)
            .where(Job.status == "running")
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )


def test_enqueue_normalises_params(engine: Engine) -> None:
    job = jobs.enqueue(engine, "count", {"n": "5"})
    stored = jobs.get(engine, job.id)
    assert (stored.status, stored.attempts, stored.progress) == ("queued", 0, 0.0)
    assert stored.params == {"n": 5, "delay": 0.0, "seed": "0"}
    assert stored.created_at <= utcnow()


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("nope", {}, "unknown job kind 'nope'"),
        ("count", {"n": 0}, "'n' must be between 1 and 1000000"),
        ("count", {"n": "ten"}, "'n' must be a whole number"),
        ("count", {"n": 2.5}, "'n' must be a whole number"),
        ("count", {"n": float("inf")}, "'n' must be a whole number"),
        ("count", {"delay": float("nan")}, "'delay' must be between"),
        ("count", {"delay": -1}, "'delay' must be between"),
        ("count", {"colour": "red"}, "unknown param 'colour'"),
        ("generate", {}, "generate needs a prompt"),
        ("generate", {"prompt": "hi", "temperature": 9}, "'temperature' must be between"),
    ],
)
def test_enqueue_rejects_bad_input(engine: Engine, kind: str, params: dict, message: str) -> None:
    with pytest.raises(JobError, match=message):
        jobs.enqueue(engine, kind, params)
    assert jobs.list_jobs(engine) == []


def test_unknown_kind_lists_known_kinds(engine: Engine) -> None:
    with pytest.raises(JobError) as info:
        jobs.enqueue(engine, "cont", {})
    assert "count" in (info.value.hint or "") and "generate" in (info.value.hint or "")


def test_get_unknown_id_is_a_job_error(engine: Engine) -> None:
    with pytest.raises(JobError, match="no job with id 'deadbeef'"):
        jobs.get(engine, "deadbeef")


def test_get_accepts_a_unique_prefix(engine: Engine) -> None:
    now = utcnow()
    with Session(engine) as session, session.begin():
        for job_id in ("abcdef01" + "0" * 24, "abcdef02" + "0" * 24):
            session.add(
                Job(id=job_id, kind="count", params={}, status="queued", progress=0.0,
                    message="", attempts=0, max_attempts=3, cancel_requested=False,
                    created_at=now, updated_at=now)
            )  # fmt: skip
    assert jobs.get(engine, "ABCDEF01").id == "abcdef01" + "0" * 24
    with pytest.raises(JobError, match="ambiguous"):
        jobs.get(engine, "abcdef")
    with pytest.raises(JobError, match="no job"):
        jobs.get(engine, "abcde")  # too short to be a prefix


def test_list_filters_and_orders_newest_first(engine: Engine) -> None:
    first = jobs.enqueue(engine, "count", {})
    second = jobs.enqueue(engine, "count", {})
    jobs.cancel(engine, first.id)
    assert [j.id for j in jobs.list_jobs(engine)] == [second.id, first.id]
    assert [j.id for j in jobs.list_jobs(engine, status="cancelled")] == [first.id]
    assert [j.id for j in jobs.list_jobs(engine, limit=1)] == [second.id]
    assert jobs.list_jobs(engine, kind="generate") == []
    with pytest.raises(JobError, match="unknown job status 'done'"):
        jobs.list_jobs(engine, status="done")


def test_claim_is_fifo_and_counts_attempts(engine: Engine) -> None:
    first = jobs.enqueue(engine, "count", {"n": 1})
    second = jobs.enqueue(engine, "count", {"n": 2})
    got = claim(engine)
    assert (got.job_id, got.attempt, got.params["n"]) == (first.id, 1, 1)
    stored = jobs.get(engine, first.id)
    assert stored.status == "running" and stored.worker_id == "w1"
    assert stored.lease_expires_at is not None and stored.lease_expires_at > utcnow()
    assert claim(engine).job_id == second.id
    assert jobs.claim_next(engine, "w1", lease_seconds=LEASE) is None


def test_claim_respects_kinds(engine: Engine) -> None:
    job = jobs.enqueue(engine, "count", {})
    assert jobs.claim_next(engine, "w", lease_seconds=LEASE, kinds=["generate"]) is None
    assert claim(engine, kinds=["count"]).job_id == job.id


def test_cancel_queued_job_is_immediate(engine: Engine) -> None:
    job = jobs.enqueue(engine, "count", {})
    cancelled = jobs.cancel(engine, job.id)
    assert cancelled.status == "cancelled" and cancelled.finished_at is not None
    assert jobs.claim_next(engine, "w", lease_seconds=LEASE) is None
    assert jobs.cancel(engine, job.id).status == "cancelled"  # idempotent


def test_cancel_running_job_asks_the_worker(engine: Engine) -> None:
    job = jobs.enqueue(engine, "count", {})
    got = claim(engine)
    assert jobs.heartbeat(engine, got, lease_seconds=LEASE) is False
    requested = jobs.cancel(engine, job.id)
    assert requested.status == "running" and requested.cancel_requested
    assert jobs.heartbeat(engine, got, lease_seconds=LEASE) is True
    assert jobs.report_progress(engine, got, 0.5, "half", lease_seconds=LEASE) is True


def test_cancel_finished_job_is_a_job_error(engine: Engine) -> None:
    job = jobs.enqueue(engine, "count", {})
    assert jobs.finish(engine, claim(engine), "succeeded", result="outputs/x")
    with pytest.raises(JobError, match="already succeeded"):
        jobs.cancel(engine, job.id)
    with pytest.raises(JobError, match="no job"):
        jobs.cancel(engine, "0123456789")


def test_finish_records_result_and_clears_lease(engine: Engine) -> None:
    job = jobs.enqueue(engine, "count", {})
    got = claim(engine)
    jobs.report_progress(engine, got, 7.0, "over the top", lease_seconds=LEASE)
    assert jobs.get(engine, job.id).progress == 1.0  # clamped
    assert jobs.finish(engine, got, "succeeded", result="outputs/a/b.txt")
    done = jobs.get(engine, job.id)
    assert (done.status, done.result, done.progress) == ("succeeded", "outputs/a/b.txt", 1.0)
    assert done.lease_expires_at is None and done.finished_at is not None
    assert not jobs.finish(engine, got, "failed", error="late"), "finished jobs are final"
    with pytest.raises(ValueError):
        jobs.finish(engine, got, "running")


def test_requeue_stale_puts_back_expired_jobs(engine: Engine) -> None:
    job = jobs.enqueue(engine, "count", {})
    fresh = jobs.enqueue(engine, "count", {})
    claim(engine)
    claim(engine, worker="w2")
    assert jobs.requeue_stale(engine) == {}
    with engine.begin() as conn:
        conn.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    assert jobs.requeue_stale(engine) == {job.id: "queued"}
    back = jobs.get(engine, job.id)
    assert (back.status, back.attempts, back.worker_id) == ("queued", 1, None)
    assert jobs.get(engine, fresh.id).status == "running"
    assert claim(engine).attempt == 2


def test_stale_job_fails_after_max_attempts(engine: Engine) -> None:
    job = jobs.enqueue(engine, "count", {}, max_attempts=2)
    for _ in range(2):
        claim(engine)
        expire_leases(engine)
        jobs.requeue_stale(engine)
    failed = jobs.get(engine, job.id)
    assert (failed.status, failed.attempts) == ("failed", 2)
    assert "stopped sending heartbeats" in (failed.error or "")


def test_stale_job_with_cancel_request_ends_cancelled(engine: Engine) -> None:
    job = jobs.enqueue(engine, "count", {})
    claim(engine)
    jobs.cancel(engine, job.id)
    expire_leases(engine)
    assert jobs.requeue_stale(engine) == {job.id: "cancelled"}


def test_a_worker_that_lost_its_lease_cannot_write(engine: Engine) -> None:
    job = jobs.enqueue(engine, "count", {})
    old = claim(engine, worker="old")
    expire_leases(engine)
    jobs.requeue_stale(engine)
    new = claim(engine, worker="new")
    with pytest.raises(jobs.LeaseLost):
        jobs.heartbeat(engine, old, lease_seconds=LEASE)
    with pytest.raises(jobs.LeaseLost):
        jobs.report_progress(engine, old, 0.9, "stale", lease_seconds=LEASE)
    assert not jobs.finish(engine, old, "succeeded", result="stale")
    assert not jobs.release(engine, old)
    assert jobs.finish(engine, new, "succeeded", result="fresh")
    assert jobs.get(engine, job.id).result == "fresh"


def test_release_returns_the_attempt(engine: Engine) -> None:
    job = jobs.enqueue(engine, "count", {})
    assert jobs.release(engine, claim(engine))
    back = jobs.get(engine, job.id)
    assert (back.status, back.attempts, back.worker_id) == ("queued", 0, None)


def test_wait_times_out_with_a_job_error(engine: Engine) -> None:
    job = jobs.enqueue(engine, "count", {})
    with pytest.raises(JobError, match="still queued"):
        jobs.wait(engine, job.id, timeout=0.05, poll=0.01)


def test_check_constraint_rejects_unknown_status(engine: Engine) -> None:
    job = jobs.enqueue(engine, "count", {})
    with pytest.raises(Exception, match="(?i)check"), engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET status = 'done' WHERE id = :id"), {"id": job.id})
    assert jobs.get(engine, job.id).status == "queued"


def test_concurrent_workers_never_claim_the_same_job(
    engine: Engine, store_settings: Settings
) -> None:
    ids = {jobs.enqueue(engine, "count", {}).id for _ in range(40)}
    claimed: dict[str, list[str]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker(name: str) -> None:
        own = open_store(store_settings, migrate=False)  # as if another process
        mine = claimed.setdefault(name, [])
        try:
            start.wait()
            while (got := jobs.claim_next(own, name, lease_seconds=LEASE)) is not None:
                mine.append(got.job_id)
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    every = [job_id for mine in claimed.values() for job_id in mine]
    assert len(every) == len(set(every)) == 40
    assert set(every) == ids
    with engine.connect() as conn:
        assert conn.execute(text("SELECT max(attempts) FROM jobs")).scalar_one() == 1


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_postgres_claim_skips_rows_locked_by_another_worker(engine: Engine) -> None:
    first = jobs.enqueue(engine, "count", {})
    second = jobs.enqueue(engine, "count", {})
    got: list[jobs.Claim | None] = []
    with engine.connect() as other:  # another worker, mid-claim on the oldest job
        other.execute(select(Job.id).where(Job.id == first.id).with_for_update())
        thread = threading.Thread(
            target=lambda: got.append(jobs.claim_next(engine, "w2", lease_seconds=LEASE))
        )
        thread.start()
        thread.join(timeout=5)
        blocked = thread.is_alive()
        other.rollback()
    thread.join()
    assert not blocked, "claim waited for a locked row instead of skipping it"
    assert got[0] is not None and got[0].job_id == second.id
