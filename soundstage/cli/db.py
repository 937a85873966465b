"""Commands: db upgrade|current|revision (schema migrations)."""

from __future__ import annotations

import typer
from sqlalchemy import Engine

from soundstage.cli._app import app, console, state
from soundstage.settings import ensure_data_dir
from soundstage.store import db

db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _engine_unmigrated() -> Engine:
    settings = state.settings()
    if not settings.database_url:
        ensure_data_dir(settings)
    return db.open_store(settings, migrate=False)


@db_app.command("upgrade")
def upgrade(
    revision: str = typer.Argument("head", help="Target revision (default: the latest)."),
) -> None:
    """Migrate the database schema (soundstage also does this on start)."""
    engine = _engine_unmigrated()
    try:
        before = db.current_revision(engine)
        after = db.upgrade(engine, revision)
    finally:
        engine.dispose()
    if before == after:
        console.print(f"database already at revision {after}")
    else:
        console.print(f"database migrated from {before or 'empty'} to {after}")


@db_app.command("current")
def current() -> None:
    """Show the database's schema revision and the latest one this soundstage knows."""
    engine = _engine_unmigrated()
    try:
        revision = db.current_revision(engine)
    finally:
        engine.dispose()
    head = db.head_revision()
    note = "up to date" if revision == head else "behind; run `soundstage db upgrade`"
    console.print(f"current: {revision or 'empty'}  head: {head}  ({note})")


@db_app.command("revision")
def revision(
    message: str = typer.Option(..., "--message", "-m", help="What the migration does."),
) -> None:
    """(Developers) write the next migration from the difference between models and database."""
    engine = _engine_unmigrated()
    try:
        path = db.new_revision(engine, message)
    finally:
        engine.dispose()
    console.print(f"wrote {path}; review it before committing")
