"""The worker loop, handlers and output files, in-process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from soundstage import jobs
from soundstage.errors import SamplingError
from soundstage.jobs.builtins import count_line
from soundstage.jobs.handlers import HandlerSpec
from soundstage.jobs.outputs import atomic_write_text, atomic_writer, remove_partial
from soundstage.settings import Settings
from soundstage.store import Job, utcnow

Eventually = Callable[..., None]


def expected_count(n: int, seed: str = "0") -> str:
    return "".join(count_line(seed, i) for i in range(n))


def start_worker(worker: jobs.Worker, *, once: bool = False) -> threading.Thread:
    thread = threading.Thread(target=worker.run, kwargs={"once": once}, daemon=True)
    thread.start()
    return thread


def test_worker_runs_a_count_job(engine: Engine, store_settings: Settings) -> None:
    job = jobs.enqueue(engine, "count", {"n": 25, "seed": "x"})
    assert jobs.Worker(engine, store_settings).run(once=True) == 1
    done = jobs.get(engine, job.id)
    assert (done.status, done.attempts, done.progress) == ("succeeded", 1, 1.0)
    assert done.result == f"outputs/{job.id}/count.txt"
    output = store_settings.data_dir / done.result
    assert output.read_text() == expected_count(25, "x")
    assert sorted(p.name for p in output.parent.iterdir()) == ["count.txt"]


def test_once_drains_the_queue_in_order(engine: Engine, store_settings: Settings) -> None:
    ids = [jobs.enqueue(engine, "count", {"n": 3}).id for _ in range(3)]
    assert jobs.Worker(engine, store_settings).run(once=True) == 3
    finished = sorted(jobs.list_jobs(engine), key=lambda j: j.started_at or utcnow())
    assert [j.id for j in finished] == ids
    assert {j.status for j in finished} == {"succeeded"}


def test_failing_handler_marks_the_job_failed(
    engine: Engine, store_settings: Settings, registry: dict[str, HandlerSpec]
) -> None:
    @jobs.handler("explode")
    def explode(ctx: jobs.JobContext) -> None:
        ctx.report(0.5, "about to fail")
        raise RuntimeError("boom at half way")

    @jobs.handler("user-error")
    def user_error(ctx: jobs.JobContext) -> None:
        raise SamplingError("top_p must be in (0, 1], got 7")

    crash = jobs.enqueue(engine, "explode", {})
    mistake = jobs.enqueue(engine, "user-error", {})
    jobs.Worker(engine, store_settings).run(once=True)
    failed = jobs.get(engine, crash.id)
    assert (failed.status, failed.error) == ("failed", "RuntimeError: boom at half way")
    assert failed.result is None and failed.attempts == 1, "handler errors are not retried"
    assert jobs.get(engine, mistake.id).error == "top_p must be in (0, 1], got 7"


def test_cancel_stops_a_running_job(
    engine: Engine, store_settings: Settings, eventually: Eventually
) -> None:
    job = jobs.enqueue(engine, "count", {"n": 500, "delay": 0.01})
    worker = jobs.Worker(engine, store_settings)
    thread = start_worker(worker, once=True)
    eventually(lambda: jobs.get(engine, job.id).progress > 0.02, what="progress")
    assert jobs.cancel(engine, job.id).status == "running"
    thread.join(timeout=10)
    assert not thread.is_alive()
    done = jobs.get(engine, job.id)
    assert done.status == "cancelled"
    assert 0 < done.progress < 1
    folder = store_settings.outputs_dir / job.id
    assert list(folder.iterdir()) == [], "a cancelled job leaves no partial file"


def test_graceful_stop_finishes_the_current_job(
    engine: Engine, store_settings: Settings, eventually: Eventually
) -> None:
    first = jobs.enqueue(engine, "count", {"n": 30, "delay": 0.01})
    second = jobs.enqueue(engine, "count", {"n": 1})
    worker = jobs.Worker(engine, store_settings)
    thread = start_worker(worker)
    eventually(lambda: jobs.get(engine, first.id).status == "running", what="start")
    worker.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert jobs.get(engine, first.id).status == "succeeded"
    assert jobs.get(engine, second.id).status == "queued", "no new claims after stop()"


def test_stop_now_puts_the_job_back(
    engine: Engine, store_settings: Settings, eventually: Eventually
) -> None:
    job = jobs.enqueue(engine, "count", {"n": 500, "delay": 0.01})
    worker = jobs.Worker(engine, store_settings)
    thread = start_worker(worker)
    eventually(lambda: jobs.get(engine, job.id).progress > 0, what="progress")
    worker.stop(now=True)
    thread.join(timeout=10)
    back = jobs.get(engine, job.id)
    assert (back.status, back.attempts, back.worker_id) == ("queued", 0, None)
    assert list((store_settings.outputs_dir / job.id).iterdir()) == []


def test_worker_requeues_a_dead_workers_job(engine: Engine, store_settings: Settings) -> None:
    job = jobs.enqueue(engine, "count", {"n": 5})
    dead = jobs.claim_next(engine, "dead", lease_seconds=60)
    assert dead is not None
    partial = store_settings.outputs_dir / job.id / ".count.txt.dead.tmp"
    partial.parent.mkdir(parents=True)
    partial.write_text("000000 half a li")
    with engine.begin() as conn:
        conn.execute(update(Job).values(lease_expires_at=utcnow()))
    assert jobs.Worker(engine, store_settings).run(once=True) == 1
    done = jobs.get(engine, job.id)
    assert (done.status, done.attempts) == ("succeeded", 2)
    assert sorted(p.name for p in partial.parent.iterdir()) == ["count.txt"]


def test_heartbeat_keeps_a_long_job_alive(
    engine: Engine, store_settings: Settings, registry: dict[str, HandlerSpec]
) -> None:
    """A handler that runs for 2.5 leases without reporting is not taken away."""
    lease = 0.4

    @jobs.handler("quiet")
    def quiet(ctx: jobs.JobContext) -> str:
        time.sleep(lease * 2.5)
        return "done quietly"

    job = jobs.enqueue(engine, "quiet", {})
    worker = jobs.Worker(engine, store_settings, lease_seconds=lease)
    thread = start_worker(worker, once=True)
    time.sleep(lease * 1.5)
    assert jobs.requeue_stale(engine) == {}
    thread.join(timeout=10)
    done = jobs.get(engine, job.id)
    assert (done.status, done.result, done.attempts) == ("succeeded", "done quietly", 1)


def test_a_handler_that_lost_its_lease_stops_without_writing(
    engine: Engine, store_settings: Settings, registry: dict[str, HandlerSpec]
) -> None:
    @jobs.handler("stolen")
    def stolen(ctx: jobs.JobContext) -> str:
        with engine.begin() as conn:
            conn.execute(update(Job).values(lease_expires_at=utcnow()))
        jobs.requeue_stale(engine)
        assert jobs.claim_next(engine, "thief", lease_seconds=60) is not None
        ctx.report(0.5, "still mine?")
        return "should never be recorded"

    job = jobs.enqueue(engine, "stolen", {})
    worker = jobs.Worker(engine, store_settings)
    claim = jobs.claim_next(engine, worker.worker_id, lease_seconds=60)
    assert claim is not None
    assert worker.run_claim(claim) == "lost"
    now = jobs.get(engine, job.id)
    assert (now.status, now.worker_id, now.attempts, now.result) == ("running", "thief", 2, None)


def test_run_now_reports_progress(engine: Engine, store_settings: Settings) -> None:
    seen: list[float] = []
    job = jobs.run_now(
        engine, store_settings, "count", {"n": 10}, on_progress=lambda p, m: seen.append(p)
    )
    assert job.status == "succeeded"
    assert seen == [pytest.approx((i + 1) / 10) for i in range(10)]
    assert (store_settings.data_dir / (job.result or "")).read_text() == expected_count(10)


# --- outputs ----------------------------------------------------------------------------


def test_atomic_writer_keeps_the_old_file_on_error(tmp_path: Path) -> None:
    path = atomic_write_text(tmp_path / "out.txt", "old\n")
    with pytest.raises(RuntimeError), atomic_writer(path) as handle:
        handle.write("new, but half")
        raise RuntimeError("crash")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    atomic_write_text(path, "new\n")
    assert path.read_text() == "new\n"


def test_remove_partial_only_removes_temp_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    (tmp_path / ".keep.txt.1234.tmp").write_text("x")
    assert remove_partial(tmp_path) == 1
    assert remove_partial(tmp_path / "missing") == 0
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_context_ref_is_relative_to_the_data_dir(store_settings: Settings) -> None:
    ctx = jobs.JobContext("abc", "count", {}, store_settings)
    assert ctx.ref(ctx.output_dir / "x.txt") == "outputs/abc/x.txt"
    assert ctx.ref(Path("/elsewhere/y.txt")) == "/elsewhere/y.txt"


def test_registering_a_kind_twice_is_refused(registry: dict[str, HandlerSpec]) -> None:
    @jobs.handler("twice")
    def one(ctx: jobs.JobContext) -> None:
        pass

    with pytest.raises(ValueError, match="already registered"):
        jobs.handler("twice")(lambda ctx: None)
