"""Durable background jobs, stored in the database.

    job = enqueue(engine, "generate", {"prompt": "FADE IN:"})
    Worker(engine, settings).run()         # or `soundstage worker`
    get(engine, job.id).status             # queued | running | succeeded | failed | cancelled

New kinds register with `@handler("kind")` (see `soundstage.jobs.handlers`).
"""

from soundstage.jobs import builtins as _builtins  # noqa: F401  registers count, generate
from soundstage.jobs import moderate as _moderate  # noqa: F401  registers moderate-batch
from soundstage.jobs import recommend as _recommend  # noqa: F401  registers recommend-train
from soundstage.jobs.handlers import (
    REGISTRY,
    JobCancelled,
    JobContext,
    LeaseLost,
    get_handler,
    handler,
)
from soundstage.jobs.outputs import atomic_write_json, atomic_write_text, atomic_writer
from soundstage.jobs.queue import (
    Claim,
    cancel,
    claim_next,
    enqueue,
    finish,
    get,
    heartbeat,
    list_jobs,
    release,
    report_progress,
    requeue_stale,
    wait,
)
from soundstage.jobs.worker import Worker, run_now, serve
from soundstage.store.schema import Job

__all__ = [
    "REGISTRY",
    "Claim",
    "Job",
    "JobCancelled",
    "JobContext",
    "LeaseLost",
    "Worker",
    "atomic_write_json",
    "atomic_write_text",
    "atomic_writer",
    "cancel",
    "claim_next",
    "enqueue",
    "finish",
    "get",
    "get_handler",
    "handler",
    "heartbeat",
    "list_jobs",
    "release",
    "report_progress",
    "requeue_stale",
    "run_now",
    "serve",
    "wait",
]
