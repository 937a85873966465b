"""The worker loop: put back stale jobs, claim one, run it with a heartbeat, record the end.

A heartbeat thread extends the job's lease every third of `job_lease_seconds` while the
handler runs; if the process dies, the lease runs out and any worker's next
`requeue_stale()` puts the job back. The handler's output path depends only on the job id,
so the next attempt overwrites what a dead one left rather than adding to it.

Signals: the first SIGTERM/SIGINT lets the current job finish and then exits; a second one
stops the job at its next progress report and puts it back in the queue.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from soundstage.errors import SoundstageError, StoreError
from soundstage.jobs import queue
from soundstage.jobs.handlers import (
    REGISTRY,
    JobCancelled,
    JobContext,
    LeaseLost,
    get_handler,
)
from soundstage.jobs.outputs import job_output_dir, remove_partial
from soundstage.settings import Settings
from soundstage.store.schema import Job

log = logging.getLogger("soundstage.jobs")

ProgressCallback = Callable[[float, str], None]
# Progress is written to the database at most this often; cancel is noticed at the next write.
REPORT_INTERVAL = 0.2


class _Stopping(Exception):
    """The worker was told to stop now; the job goes back to the queue."""


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    """Runs jobs from the queue; one job at a time, so run several processes for more."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        worker_id: str | None = None,
        kinds: list[str] | None = None,
        lease_seconds: float | None = None,
        poll_seconds: float | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.worker_id = worker_id or new_worker_id()
        self.kinds = kinds
        self.lease_seconds = lease_seconds or settings.job_lease_seconds
        self.poll_seconds = poll_seconds or settings.worker_poll_seconds
        self.stopping = threading.Event()  # finish the current job, claim no more
        self.stop_now = threading.Event()  # put the current job back at its next report
        self._last_sweep = 0.0

    def run(self, *, once: bool = False) -> int:
        """Process jobs until stopped (or, with `once`, until none is ready). Returns a count."""
        done = 0
        while not self.stopping.is_set():
            try:
                claim = self._next()
            except (SQLAlchemyError, StoreError) as exc:
                if once:
                    raise
                log.warning("database problem, retrying: %s", str(exc).splitlines()[0])
                self.stopping.wait(max(self.poll_seconds, 1.0))
                continue
            if claim is None:
                if once:
                    break
                self.stopping.wait(self.poll_seconds)
                continue
            try:
                self.run_claim(claim)
            except (SQLAlchemyError, StoreError) as exc:
                # The lease will run out and the job will be retried by whoever is alive.
                log.warning("job %s: could not record the outcome: %s", claim.job_id, exc)
            done += 1
        return done

    def stop(self, *, now: bool = False) -> None:
        self.stopping.set()
        if now:
            self.stop_now.set()

    def _next(self) -> queue.Claim | None:
        # Sweeping every poll is wasteful; leases only expire on the scale of their length.
        if time.monotonic() - self._last_sweep >= self.lease_seconds / 4:
            self._last_sweep = time.monotonic()
            for job_id, status in queue.requeue_stale(self.engine).items():
                log.warning("job %s: worker lost, now %s", job_id, status)
        kinds = self.kinds if self.kinds is not None else sorted(REGISTRY)
        return queue.claim_next(
            self.engine, self.worker_id, lease_seconds=self.lease_seconds, kinds=kinds
        )

    def run_claim(self, claim: queue.Claim, on_progress: ProgressCallback | None = None) -> str:
        """Run one claimed job to its end; returns the job's new status."""
        log.info("job %s (%s) attempt %d: started", claim.job_id, claim.kind, claim.attempt)
        remove_partial(job_output_dir(self.settings, claim.job_id))
        beat = _Heartbeat(self.engine, claim, self.lease_seconds)
        reporter = _Reporter(self, claim, beat, on_progress)
        ctx = JobContext(
            claim.job_id, claim.kind, claim.params, self.settings, claim.attempt, reporter
        )
        beat.start()
        status, result, error = "failed", None, None
        try:
            spec = get_handler(claim.kind)
            value = spec.run(ctx)
            result = ctx.ref(value) if isinstance(value, os.PathLike) else value
            status = "succeeded"
        except JobCancelled:
            status = "cancelled"
        except LeaseLost:
            log.warning("job %s: lease lost to another worker; dropping this attempt", claim.job_id)
            return "lost"
        except _Stopping:
            queue.release(self.engine, claim)
            log.info("job %s: put back in the queue", claim.job_id)
            return "queued"
        except KeyboardInterrupt:
            queue.finish(self.engine, claim, "cancelled", message="interrupted")
            raise
        except SoundstageError as exc:
            error = str(exc)
        except Exception as exc:
            log.exception("job %s: handler crashed", claim.job_id)
            error = f"{type(exc).__name__}: {exc}"
        finally:
            beat.stop()
        if not queue.finish(self.engine, claim, status, result=result, error=error):
            log.warning("job %s: lease lost before the end; outcome discarded", claim.job_id)
            return "lost"
        log.info("job %s: %s%s", claim.job_id, status, f": {error}" if error else "")
        return status


class _Heartbeat(threading.Thread):
    def __init__(self, engine: Engine, claim: queue.Claim, lease_seconds: float) -> None:
        super().__init__(name=f"heartbeat-{claim.job_id[:8]}", daemon=True)
        self.engine = engine
        self.claim = claim
        self.lease_seconds = lease_seconds
        self.cancel = threading.Event()
        self.lost = threading.Event()
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.lease_seconds / 3):
            try:
                if queue.heartbeat(self.engine, self.claim, lease_seconds=self.lease_seconds):
                    self.cancel.set()
            except LeaseLost:
                self.lost.set()
                return
            except (SQLAlchemyError, StoreError) as exc:
                log.warning("job %s: heartbeat failed: %s", self.claim.job_id, exc)

    def stop(self) -> None:
        self._done.set()
        if self.is_alive():
            self.join()


class _Reporter:
    """`ctx.report()` for a claimed job: throttled writes, cancel and shutdown checks."""

    def __init__(
        self,
        worker: Worker,
        claim: queue.Claim,
        beat: _Heartbeat,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.worker = worker
        self.claim = claim
        self.beat = beat
        self.on_progress = on_progress
        self.last_write = 0.0

    def __call__(self, progress: float, message: str) -> None:
        if self.worker.stop_now.is_set():
            raise _Stopping
        if self.beat.lost.is_set():
            raise LeaseLost(self.claim.job_id)
        if self.beat.cancel.is_set():
            raise JobCancelled
        if self.on_progress is not None:
            self.on_progress(progress, message)
        now = time.monotonic()
        if now - self.last_write < REPORT_INTERVAL and progress < 1.0:
            return
        self.last_write = now
        cancel = queue.report_progress(
            self.worker.engine,
            self.claim,
            progress,
            message,
            lease_seconds=self.worker.lease_seconds,
        )
        if cancel:
            raise JobCancelled


def run_now(
    engine: Engine,
    settings: Settings,
    kind: str,
    params: dict[str, object] | None = None,
    *,
    on_progress: ProgressCallback | None = None,
) -> Job:
    """Enqueue a job and run it in this process, through the same code a worker uses."""
    job = queue.enqueue(engine, kind, dict(params or {}))
    worker = Worker(engine, settings, worker_id=f"inline:{new_worker_id()}")
    claim = queue.claim_next(
        engine, worker.worker_id, lease_seconds=worker.lease_seconds, job_id=job.id
    )
    if claim is None:  # pragma: no cover - only if another worker grabbed it first
        return queue.wait(engine, job.id, timeout=24 * 3600)
    worker.run_claim(claim, on_progress)
    return queue.get(engine, job.id)


def serve(worker: Worker, *, once: bool = False) -> int:
    """Run `worker` in the foreground with graceful SIGTERM/SIGINT handling."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if worker.stopping.is_set():
            log.warning("stopping now; the current job goes back to the queue")
            worker.stop(now=True)
        else:
            log.warning("finishing the current job, then exiting (signal again to stop now)")
            worker.stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return worker.run(once=once)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
