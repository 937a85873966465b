"""The store: engines, migrations and the errors a wrong database URL produces."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from soundstage.errors import StoreError
from soundstage.settings import Settings, load_settings
from soundstage.store import (
    Base,
    Job,
    current_revision,
    head_revision,
    open_store,
    upgrade,
    utcnow,
)
from soundstage.store.db import make_engine, parse_url
from soundstage.store.testing import ADMIN_URL, postgres_unavailable


def add_job(engine: Engine, job_id: str = "a" * 32) -> None:
    now = utcnow()
    with Session(engine) as session, session.begin():
        session.add(
            Job(
                id=job_id,
                kind="count",
                params={"n": 1},
                status="queued",
                progress=0.0,
                message="",
                attempts=0,
                max_attempts=3,
                cancel_requested=False,
                created_at=now,
                updated_at=now,
            )
        )


def test_open_store_migrates_an_empty_database(fresh_settings: Settings) -> None:
    bare = open_store(fresh_settings, migrate=False)
    try:
        assert current_revision(bare) is None
        assert "jobs" not in inspect(bare).get_table_names()
    finally:
        bare.dispose()
    engine = open_store(fresh_settings)
    try:
        assert head_revision() == "0005"
        assert current_revision(engine) == head_revision()
        assert {"jobs", "projects", "project_versions"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_reopening_keeps_data_and_revision(engine: Engine, store_settings: Settings) -> None:
    add_job(engine)
    again = open_store(store_settings)
    try:
        assert current_revision(again) == "0005"
        with Session(again) as session:
            assert session.scalars(select(Job.id)).all() == ["a" * 32]
    finally:
        again.dispose()


def test_concurrent_first_opens_all_succeed(fresh_settings: Settings) -> None:
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            open_store(fresh_settings).dispose()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = open_store(fresh_settings, migrate=False)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_failed_transaction_leaves_rows_untouched(engine: Engine) -> None:
    add_job(engine)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET status = 'running'"))
        raise RuntimeError("crash mid-transaction")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM jobs")).scalar_one() == "queued"


def test_unknown_revision_is_a_store_error(fresh_settings: Settings) -> None:
    engine = open_store(fresh_settings)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(StoreError, match="revision '9999'.*does not know"):
            upgrade(engine)
        with pytest.raises(StoreError, match="does not know"):
            open_store(fresh_settings)
    finally:
        engine.dispose()


def test_timestamps_come_back_as_aware_utc(engine: Engine) -> None:
    add_job(engine)
    with Session(engine) as session:
        job = session.get_one(Job, "a" * 32)
        assert job.created_at.tzinfo == UTC
        assert abs(job.created_at - utcnow()) < timedelta(minutes=1)
        job.created_at = datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
        session.commit()
        assert session.get_one(Job, "a" * 32).created_at == datetime(2024, 1, 1, 10, tzinfo=UTC)
        job.created_at = datetime(2024, 1, 1)  # naive: refused
        with pytest.raises(Exception, match="naive datetime"):
            session.commit()


# --- SQLite specifics ---------------------------------------------------------------------


def test_default_store_is_sqlite_in_the_data_dir(settings: Settings) -> None:
    engine = open_store(settings)
    try:
        assert (settings.data_dir / "soundstage.db").is_file()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    finally:
        engine.dispose()


def test_sqlite_parent_folders_are_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "c.db"
    engine = open_store(load_settings(database_url=f"sqlite:///{path}"))
    engine.dispose()
    assert path.is_file()


def test_sqlite_writers_wait_instead_of_failing(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE + busy_timeout: concurrent read-modify-write never loses an update."""
    engine = open_store(load_settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"))
    add_job(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET attempts = 0"))

    def bump() -> None:
        for _ in range(20):
            with engine.begin() as conn:
                value = conn.execute(text("SELECT attempts FROM jobs")).scalar_one()
                conn.execute(text("UPDATE jobs SET attempts = :v"), {"v": value + 1})

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT attempts FROM jobs")).scalar_one() == 80
    engine.dispose()


# --- bad URLs ---------------------------------------------------------------------------


def store_error(url: str) -> StoreError:
    with pytest.raises(StoreError) as info:
        open_store(load_settings(database_url=url)).dispose()
    error = info.value
    assert "\n" not in str(error), "errors must be one line"
    assert error.hint, "every store error says how to fix it"
    return error


@pytest.mark.parametrize(
    ("url", "message", "hint"),
    [
        (
            "postgress://bob:s3cret@localhost/db",
            "unknown database dialect 'postgress'",
            "postgresql:",
        ),
        ("sqlit:///x.db", "unknown database dialect 'sqlit'", "did you mean sqlite"),
        ("mysql://localhost/db", "unknown database dialect 'mysql'", "sqlite:/// and postgresql"),
        ("postgresql+psycop://localhost/db", "unknown database driver 'psycop'", "psycopg"),
        ("not a url at all", "cannot parse database URL", "SOUNDSTAGE_DATABASE_URL"),
    ],
)
def test_url_typos_are_store_errors(url: str, message: str, hint: str) -> None:
    error = store_error(url)
    assert message in error.message
    assert hint in (error.hint or "")
    assert "s3cret" not in str(error)


def test_missing_driver_says_what_to_install() -> None:
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("psycopg2 is installed here")
    error = store_error("postgresql+psycopg2://localhost/db")
    assert "'psycopg2' is not installed" in error.message
    assert "soundstage[postgres]" in (error.hint or "")


def test_plain_postgresql_url_uses_psycopg3() -> None:
    assert parse_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert make_engine("postgresql://u@h/db").dialect.driver == "psycopg"


def test_unreachable_port_is_a_store_error() -> None:
    error = store_error("postgresql+psycopg://postgres:pw@127.0.0.1:1/test")
    assert error.message.startswith("cannot connect to postgresql+psycopg://postgres:***@")
    assert "Connection refused" in error.message or "connection" in error.message.lower()
    assert "127.0.0.1:1" in (error.hint or "")
    assert "pw@" not in str(error)


def test_unknown_host_is_a_store_error() -> None:
    error = store_error("postgresql+psycopg://postgres@no-such-host.invalid/test")
    assert "no-such-host.invalid" in str(error)


def test_missing_postgres_database_is_a_store_error() -> None:
    if postgres_unavailable(ADMIN_URL):
        pytest.skip(f"PostgreSQL not reachable: {postgres_unavailable(ADMIN_URL)}")
    url = ADMIN_URL.rsplit("/", 1)[0] + "/soundstage_no_such_db"
    error = store_error(url)
    assert 'database "soundstage_no_such_db" does not exist' in error.message
    assert "createdb soundstage_no_such_db" in (error.hint or "")


def test_sqlite_path_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")
    error = store_error(f"sqlite:///{tmp_path / 'plain' / 'x.db'}")
    assert "is a file, not a folder" in error.message


def test_sqlite_path_is_a_folder(tmp_path: Path) -> None:
    error = store_error(f"sqlite:///{tmp_path}")
    assert "is a folder" in error.message


def test_sqlite_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    error = store_error(f"sqlite:///{path}")
    assert "file is not a database" in error.message
    assert path.read_text().startswith("these are my notes"), "the file is left alone"


def test_sqlite_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        probe = folder / "probe"
        try:
            probe.write_text("x")
        except OSError:
            pass
        else:
            pytest.skip("running as a user who can write anywhere (root)")
        error = store_error(f"sqlite:///{folder / 'x.db'}")
        assert "unable to open database file" in error.message
    finally:
        folder.chmod(0o700)


def test_sqlite_module_error_is_translated(tmp_path: Path) -> None:
    """Errors raised by sqlite3 itself (not wrapped by SQLAlchemy) are translated too."""
    from soundstage.store.db import translate_errors

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with (
        pytest.raises(StoreError, match="doing something .*: boom"),
        translate_errors(engine, "doing something"),
    ):
        raise sqlite3.OperationalError("boom")


def test_new_revision_writes_the_next_numbered_migration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from soundstage.store import db

    copy = tmp_path / "migrations"
    shutil.copytree(db.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(db, "MIGRATIONS_DIR", copy)
    engine = make_engine(f"sqlite:///{tmp_path / 'dev.db'}")
    try:
        path = db.new_revision(engine, "add scenes")
        assert path == copy / "versions" / "0006_add_scenes.py"
        source = path.read_text()
        assert "down_revision: str | None = '0005'" in source
        assert head_revision() == "0006"
        assert upgrade(engine) == "0006"
    finally:
        engine.dispose()
