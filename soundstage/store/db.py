"""Engines and migrations: the only place that knows which database we are talking to.

SQLite (the default, a file in the data directory) runs in WAL mode so a worker can write
while the CLI reads, and every transaction starts with `BEGIN IMMEDIATE` so two writers
queue on `busy_timeout` instead of failing halfway. PostgreSQL is reached through psycopg 3.

Every way a database URL can be wrong (typo in the dialect, missing driver, unreachable
host, bad path, a database from a newer soundstage) becomes a one-line `StoreError`.
"""

from __future__ import annotations

import difflib
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from soundstage.errors import StoreError
from soundstage.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
DRIVERS = {"sqlite": ("pysqlite",), "postgresql": ("psycopg", "psycopg2")}
URL_HINT = (
    "set SOUNDSTAGE_DATABASE_URL (or --database-url) to sqlite:///path/to/file.db "
    "or postgresql+psycopg://user:password@host:5432/dbname"
)
SQLITE_BUSY_MS = 30_000
# Any constant works; it only has to be the same for every soundstage process.
_MIGRATION_LOCK_KEY = 0x5F_534F_554E_44


def open_store(settings: Settings, *, migrate: bool = True) -> Engine:
    """Connect to the configured database and bring its schema to the latest revision."""
    engine = make_engine(settings.db_url)
    try:
        check_connection(engine)
        if migrate:
            upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def make_engine(url_text: str) -> Engine:
    """Build an engine without connecting; raises `StoreError` for URLs we cannot use."""
    url = parse_url(url_text)
    try:
        if url.get_backend_name() == "sqlite":
            return _sqlite_engine(url)
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})
    except ImportError as exc:
        raise StoreError(
            f"database driver {exc.name or url.get_driver_name()!r} is not installed",
            hint="pip install 'soundstage[postgres]' and use postgresql+psycopg://...",
        ) from None
    except (ArgumentError, NoSuchModuleError) as exc:
        raise StoreError(f"cannot use database URL {_mask(url)}: {exc}", hint=URL_HINT) from None


def parse_url(url_text: str) -> URL:
    """Parse and check a database URL: supported dialect and driver, no I/O."""
    try:
        url = make_url(url_text.strip())
    except ArgumentError:
        raise StoreError(
            f"cannot parse database URL {_mask_text(url_text)!r}", hint=URL_HINT
        ) from None
    backend, _, driver = url.drivername.partition("+")
    if backend not in DRIVERS:
        close = difflib.get_close_matches(backend, list(DRIVERS), n=1, cutoff=0.7)
        hint = f"did you mean {close[0]}://...? " if close else ""
        raise StoreError(
            f"unknown database dialect {backend!r} in {_mask(url)}",
            hint=hint + "soundstage supports sqlite:/// and postgresql+psycopg://",
        )
    if backend == "postgresql" and not driver:
        # SQLAlchemy would pick psycopg2, which we do not ship; psycopg 3 is the one we install.
        url = url.set(drivername="postgresql+psycopg")
    elif driver and driver not in DRIVERS[backend]:
        choices = ", ".join(f"{backend}+{d}" for d in DRIVERS[backend])
        raise StoreError(
            f"unknown database driver {driver!r} for {backend} in {_mask(url)}",
            hint=f"use one of: {choices}",
        )
    return url


def check_connection(engine: Engine) -> None:
    """Open one connection now, so a wrong URL fails here with a clear message."""
    with translate_errors(engine, "cannot connect to"), engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@contextmanager
def translate_errors(engine: Engine, doing: str) -> Iterator[None]:
    """Turn driver errors into `StoreError("<doing> <url>: <first line>")` with a hint."""
    try:
        yield
    except (DBAPIError, sqlite3.Error) as exc:
        reason = _first_line(exc.orig if isinstance(exc, DBAPIError) else exc)
        raise StoreError(
            f"{doing} {_mask(engine.url)}: {reason}", hint=_hint_for(reason, engine.url)
        ) from None


# --- migrations ------------------------------------------------------------------------


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configuration built in code: no alembic.ini is needed at run time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("version_path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    with translate_errors(engine, "cannot read schema version of"), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate to `revision` in one transaction; returns the revision reached."""
    script = ScriptDirectory.from_config(alembic_config())
    with translate_errors(engine, "cannot migrate"), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two workers starting together must not both create the tables.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
        current = MigrationContext.configure(conn).get_current_revision()
        if current is not None and _unknown(script, current):
            raise StoreError(
                f"database {_mask(engine.url)} is at schema revision {current!r}, "
                "which this version of soundstage does not know",
                hint="upgrade soundstage, or point SOUNDSTAGE_DATABASE_URL at another database",
            )
        if revision == "head" and current == script.get_current_head():
            return current
        try:
            command.upgrade(alembic_config(conn), revision)
        except CommandError as exc:
            raise StoreError(f"cannot migrate {_mask(engine.url)}: {exc}") from None
        return MigrationContext.configure(conn).get_current_revision()


def new_revision(engine: Engine, message: str) -> Path:
    """Write the next numbered migration from the difference between models and database.

    For developers adding tables; the database must be at head first.
    """
    upgrade(engine)
    script = ScriptDirectory.from_config(alembic_config())
    number = len(list(script.walk_revisions())) + 1
    with engine.begin() as conn:
        made = command.revision(
            alembic_config(conn), message=message, autogenerate=True, rev_id=f"{number:04d}"
        )
    revisions = made if isinstance(made, list) else [made]
    return Path(revisions[0].path) if revisions and revisions[0] is not None else MIGRATIONS_DIR


def _unknown(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is None
    except CommandError:
        return True


# --- helpers -----------------------------------------------------------------------------


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    if database in ("", ":memory:"):
        # One shared connection, or every checkout would see its own empty database.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        path = Path(database).expanduser()
        if path.parent.exists() and not path.parent.is_dir():
            raise StoreError(
                f"cannot put the SQLite database in {path.parent}: it is a file, not a folder",
                hint="fix the path in SOUNDSTAGE_DATABASE_URL or SOUNDSTAGE_DATA_DIR",
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create folder {path.parent} for the SQLite database: "
                f"{exc.strerror or exc}",
                hint="fix the path in SOUNDSTAGE_DATABASE_URL or SOUNDSTAGE_DATA_DIR",
            ) from None
        if path.is_dir():
            raise StoreError(
                f"SQLite database path {path} is a folder",
                hint="point the URL at a file, e.g. sqlite:///" + str(path / "soundstage.db"),
            )
        engine = create_engine(
            url.set(database=str(path)),
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_MS / 1000},
        )
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        _use_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL once; WAL is then a property of the file, not the connection.

    The switch needs an exclusive lock and SQLite answers "locked" at once instead of
    waiting in the busy handler, so when several processes open a brand-new database
    together the losers retry briefly and then find the winner already switched it.
    """
    deadline = time.monotonic() + SQLITE_BUSY_MS / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_on_begin(conn: Connection) -> None:
    # Take the write lock up front: a deferred transaction that reads and then writes can
    # fail with SQLITE_BUSY without waiting when another writer committed in between.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _mask(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _mask_text(url_text: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url_text)


def _first_line(exc: BaseException | None) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _hint_for(reason: str, url: URL) -> str:
    low = reason.lower()
    if "does not exist" in low and "database" in low:
        return f"create it (createdb {url.database}) or fix the database name in the URL"
    if "resolve host" in low or "name or service not known" in low or "translate host" in low:
        return f"check the host name {url.host!r} in SOUNDSTAGE_DATABASE_URL"
    if "connection refused" in low or "timeout" in low or "timed out" in low:
        return f"is PostgreSQL running on {url.host}:{url.port or 5432}? check the URL"
    if "authentication" in low or "password" in low or "role" in low:
        return "check the user name and password in SOUNDSTAGE_DATABASE_URL"
    if "not a database" in low:
        return f"{url.database} is not a SQLite file; point SOUNDSTAGE_DATABASE_URL elsewhere"
    if "unable to open" in low or "readonly" in low or "read-only" in low:
        return "check that the SQLite file's folder exists and is writable"
    return "check SOUNDSTAGE_DATABASE_URL (or --database-url)"


__all__ = [
    "alembic_config",
    "check_connection",
    "current_revision",
    "head_revision",
    "make_engine",
    "new_revision",
    "open_store",
    "parse_url",
    "translate_errors",
    "upgrade",
]
