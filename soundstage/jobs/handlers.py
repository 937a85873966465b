"""Job kinds: a registry of functions that do the work.

    @handler("count", check=check_count_params)
    def count(ctx: JobContext) -> Path: ...

A handler gets a `JobContext`, calls `ctx.report(progress, message)` now and then, writes its
files under `ctx.output_dir` (see `soundstage.jobs.outputs`) and returns a result reference:
a path inside the data directory, or a short string. `report()` raises `JobCancelled` once a
cancel was requested, so a handler needs no cancel logic of its own; it must only avoid
catching that exception. `check` validates and normalises params at submit time, so a bad
`--param` fails in the CLI rather than later in a worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soundstage.errors import JobError
from soundstage.jobs.outputs import job_output_dir
from soundstage.settings import Settings

Result = str | Path | None
Handler = Callable[["JobContext"], Result]
ParamCheck = Callable[[dict[str, Any]], dict[str, Any]]
Reporter = Callable[[float, str], None]


class JobCancelled(Exception):
    """Raised from `report()` when someone asked to cancel the job."""


class LeaseLost(Exception):
    """The job was handed to another worker (our lease expired); stop without writing."""


@dataclass(frozen=True)
class HandlerSpec:
    kind: str
    run: Handler
    check: ParamCheck | None = None

    @property
    def summary(self) -> str:
        doc = (self.run.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


REGISTRY: dict[str, HandlerSpec] = {}


def handler(kind: str, *, check: ParamCheck | None = None) -> Callable[[Handler], Handler]:
    """Register a function as the handler for job `kind`."""

    def register(func: Handler) -> Handler:
        if kind in REGISTRY and REGISTRY[kind].run is not func:
            raise ValueError(f"job kind {kind!r} is already registered")
        REGISTRY[kind] = HandlerSpec(kind, func, check)
        return func

    return register


def get_handler(kind: str) -> HandlerSpec:
    try:
        return REGISTRY[kind]
    except KeyError:
        known = ", ".join(sorted(REGISTRY)) or "none"
        raise JobError(f"unknown job kind {kind!r}", hint=f"known kinds: {known}") from None


def check_params(kind: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """Validate params for `kind`; raises `JobError` (or the handler's own error) if bad."""
    spec = get_handler(kind)
    clean = dict(params or {})
    return spec.check(clean) if spec.check else clean


def _no_report(progress: float, message: str) -> None:
    pass


@dataclass
class JobContext:
    """What a running handler knows about its job."""

    job_id: str
    kind: str
    params: dict[str, Any]
    settings: Settings
    attempt: int = 1
    reporter: Reporter = field(default=_no_report, repr=False)

    @property
    def output_dir(self) -> Path:
        path = job_output_dir(self.settings, self.job_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def report(self, progress: float, message: str = "") -> None:
        """Record progress (0..1). Raises `JobCancelled` when the job should stop."""
        self.reporter(min(max(float(progress), 0.0), 1.0), message)

    def ref(self, path: Path) -> str:
        """A result reference: `path` relative to the data directory, with forward slashes."""
        try:
            return path.resolve().relative_to(self.settings.data_dir.resolve()).as_posix()
        except ValueError:
            return str(path)
