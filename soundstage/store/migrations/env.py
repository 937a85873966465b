"""Alembic environment. Normally run through `soundstage.store.upgrade()`, which passes an
open connection in `config.attributes["connection"]`; otherwise the configured database is
used (so the plain `alembic` command works for developers too)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from soundstage.store.schema import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    if context.is_offline_mode():
        raise SystemExit("soundstage migrations need a live database (no --sql mode)")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from soundstage.settings import load_settings
    from soundstage.store.db import make_engine

    engine = make_engine(load_settings().db_url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


_main()
