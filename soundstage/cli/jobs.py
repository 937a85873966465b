"""Commands: worker, jobs submit|list|show|cancel|wait|run."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich import box
from rich.logging import RichHandler
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from soundstage import jobs
from soundstage.cli._app import app, console, console_err, state
from soundstage.errors import JobError
from soundstage.settings import Settings, ensure_data_dir
from soundstage.store import open_store

jobs_app = typer.Typer(help="Submit, inspect and cancel background jobs.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")

PARAM_HELP = "Job parameter as key=value; the value is read as JSON when it parses (n=10)."
STATUS_STYLE = {
    "queued": "cyan",
    "running": "yellow",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "dim",
}


@contextmanager
def jobs_store() -> Iterator[tuple[Settings, Engine]]:
    """Settings plus a migrated engine; the data directory is checked first (outputs live there)."""
    settings = state.settings()
    ensure_data_dir(settings)
    engine = open_store(settings)
    try:
        yield settings, engine
    finally:
        engine.dispose()


def parse_params(items: list[str] | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items or []:
        key, eq, raw = item.partition("=")
        if not eq or not key.strip():
            raise JobError(
                f"--param expects key=value, got {item!r}", hint="e.g. --param prompt='FADE IN:'"
            )
        try:
            params[key.strip()] = json.loads(raw)
        except ValueError:
            params[key.strip()] = raw
    return params


@app.command()
def worker(
    once: bool = typer.Option(False, "--once", help="Run the jobs that are ready, then exit."),
    poll: float | None = typer.Option(
        None, "--poll", min=0.01, help="Seconds between queue checks (default from settings)."
    ),
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Only run these job kinds (repeatable).")
    ] = None,
) -> None:
    """Run queued jobs until stopped (SIGTERM/Ctrl+C finish the current job first)."""
    for name in kind or []:
        jobs.get_handler(name)
    log = logging.getLogger("soundstage")
    handler = _stderr_handler()
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        with jobs_store() as (settings, engine):
            runner = jobs.Worker(engine, settings, kinds=kind or None, poll_seconds=poll)
            url = engine.url.render_as_string()
            log.info("worker %s ready; database %s", runner.worker_id, url)
            count = jobs.serve(runner, once=once)
            log.info("worker %s stopped after %d job(s)", runner.worker_id, count)
    finally:
        log.removeHandler(handler)


def _stderr_handler() -> logging.Handler:
    # Pretty on a terminal; one plain line per event in files (systemd, docker logs).
    if console_err.is_terminal:
        handler: logging.Handler = RichHandler(console=console_err, show_path=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    return handler


@jobs_app.command("submit")
def submit(
    kind: str = typer.Argument(..., help="Job kind, e.g. generate or count."),
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help=PARAM_HELP)] = None,
    max_attempts: int = typer.Option(3, "--max-attempts", min=1, help="Tries before failing."),
) -> None:
    """Queue a job for a worker and print its id."""
    params = parse_params(param)
    with jobs_store() as (_, engine):
        job = jobs.enqueue(engine, kind, params, max_attempts=max_attempts)
    typer.echo(job.id)


@jobs_app.command("list")
def list_(
    status: str | None = typer.Option(None, "--status", help="queued, running, succeeded, ..."),
    kind: str | None = typer.Option(None, "--kind", help="Only this job kind."),
    limit: int = typer.Option(50, "--limit", min=1, help="Show at most this many."),
) -> None:
    """Show jobs, newest first."""
    with jobs_store() as (_, engine):
        found = jobs.list_jobs(engine, status=status, kind=kind, limit=limit)
    if not found:
        console.print("no jobs")
        return
    table = Table(box=box.SIMPLE_HEAD)
    # A 12-character prefix is unique in practice and accepted by show/cancel/wait.
    for name in ("id", "kind", "status", "done", "tries", "created (UTC)"):
        table.add_column(name, no_wrap=True)
    table.add_column("message", overflow="fold")
    for job in found:
        style = STATUS_STYLE.get(job.status, "")
        table.add_row(
            job.id[:12],
            job.kind,
            f"[{style}]{job.status}[/]",
            f"{job.progress:.0%}",
            f"{job.attempts}/{job.max_attempts}",
            job.created_at.strftime("%m-%d %H:%M:%S"),
            job.error if job.status == "failed" and job.error else job.message,
        )
    console.print(table)


@jobs_app.command("show")
def show(job_id: str = typer.Argument(..., help="Job id (or a unique prefix).")) -> None:
    """Print everything stored about a job, as JSON."""
    with jobs_store() as (_, engine):
        job = jobs.get(engine, job_id)
    console.print_json(data=job.to_dict())


@jobs_app.command("cancel")
def cancel(job_id: str = typer.Argument(..., help="Job id (or a unique prefix).")) -> None:
    """Cancel a queued job, or ask the worker running it to stop."""
    with jobs_store() as (_, engine):
        job = jobs.cancel(engine, job_id)
    if job.status == "cancelled":
        console.print(f"cancelled {job.id}")
    else:
        console.print(f"cancel requested for {job.id}; it stops at its next progress report")


@jobs_app.command("wait")
def wait(
    job_id: str = typer.Argument(..., help="Job id (or a unique prefix)."),
    timeout: float = typer.Option(3600.0, "--timeout", min=0, help="Give up after this long."),
) -> None:
    """Wait for a job to finish; exits non-zero unless it succeeded."""
    with jobs_store() as (settings, engine):
        job = jobs.wait(engine, job_id, timeout=timeout, poll=0.25)
    _print_outcome(job, settings)


@jobs_app.command("run")
def run(
    kind: str = typer.Argument(..., help="Job kind, e.g. generate or count."),
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help=PARAM_HELP)] = None,
) -> None:
    """Run a job in this process (it is still recorded in the database)."""
    params = parse_params(param)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with jobs_store() as (settings, engine):
        with Progress(*columns, console=console_err, transient=True) as bar:
            task = bar.add_task(kind, total=1.0)

            def on_progress(progress: float, message: str) -> None:
                bar.update(task, completed=progress, description=f"{kind}: {message}")

            job = jobs.run_now(engine, settings, kind, params, on_progress=on_progress)
    _print_outcome(job, settings)


def _print_outcome(job: jobs.Job, settings: Settings) -> None:
    if job.status == "failed":
        raise JobError(f"job {job.id} failed: {job.error}")
    if job.status == "cancelled":
        raise JobError(f"job {job.id} was cancelled")
    result = job.result or ""
    path = settings.data_dir / result if result else None
    shown = str(path) if path is not None and path.exists() else result
    console_err.print(f"job {job.id} succeeded", highlight=False)
    typer.echo(shown)
