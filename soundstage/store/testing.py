"""Throwaway PostgreSQL databases for test suites (here, and in plugins' tests).

    with temporary_postgres_database(admin_url) as url: ...   # dropped afterwards
    reset_database(url)                                        # empty tables, at head

Creating a database costs ~0.4 s, so suites create one per session and reset it per test,
and make a fresh one only for tests about migrations.

`admin_url` must reach a database whose user may CREATE DATABASE; by default the local
`postgres` database as user postgres. Set SOUNDSTAGE_TEST_POSTGRES_URL to use another server.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# Read at import: test fixtures clear SOUNDSTAGE_* variables before each test.
ADMIN_URL = os.environ.get("SOUNDSTAGE_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL)


@functools.cache
def postgres_unavailable(admin_url: str = ADMIN_URL) -> str | None:
    """Why PostgreSQL cannot be used for tests, or None when it can. Checked once."""
    try:
        engine = create_engine(admin_url, poolclass=NullPool, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except ImportError as exc:
        return f"driver missing ({exc.name}); pip install 'soundstage[postgres]'"
    except DBAPIError as exc:
        return str(exc.orig).strip().splitlines()[0]
    return None


@contextmanager
def temporary_postgres_database(admin_url: str = ADMIN_URL) -> Iterator[str]:
    """Create a uniquely named database, yield its URL, drop it (and its connections)."""
    name = f"soundstage_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        admin_url,
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 3},
    )
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def reset_database(url: str) -> None:
    """Migrate to head and empty every table: a clean store without the cost of a new database."""
    from soundstage.store.db import make_engine, upgrade
    from soundstage.store.schema import Base

    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                # TRUNCATE: the moderation audit log's triggers refuse row DELETEs.
                names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
            else:  # SQLite test stores are fresh files; mod_events must be empty here
                for table in reversed(Base.metadata.sorted_tables):
                    conn.execute(table.delete())
    finally:
        engine.dispose()
