"""Recommender data in the database: catalogue items, users and interaction logs.

Files stay the interchange format (`data` reads them); the database is where a team server
keeps the logs several jobs read and append to. Each function takes an `Engine` (it opens
and commits its own transaction) or a `Connection` from `engine.begin()` (it joins the
caller's transaction, so a whole import commits or rolls back as one).

- `dataset` namespaces everything: several catalogues and logs coexist, and ids are only
  unique within their dataset.
- Catalogue items and users are upserted: re-importing updates titles and attributes in place;
  rows missing from the new import are kept, nothing is deleted.
- Interactions are append-only and duplicates are kept: a play log legitimately repeats
  (user, item) pairs, so nothing in the table can tell a repeated event from a repeated
  import. Appending the same log twice doubles it; `replace=True` swaps a dataset's events of
  that kind for the new ones in one transaction, which makes a re-import idempotent.
- A failed write leaves the database as it was: rows are checked (interactions before the
  first insert, catalogue items as they stream in) and inserted in chunks inside one
  transaction, so a bad row found halfway rolls back the chunks already sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import Connection, Engine, Table, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from soundstage.errors import SoundstageError, StoreError
from soundstage.recommend.data import (
    Interactions,
    Item,
    UserAttributes,
    _index,
    read_movielens,
    sort_key,
)
from soundstage.store.db import translate_errors
from soundstage.store.schema import (
    INTERACTION_EVENTS,
    Base,
    RecInteraction,
    RecItem,
    RecUser,
    utcnow,
)

DEFAULT_DATASET = "default"
# Rows per INSERT batch: bounds the memory of the parameter lists, not the transaction.
CHUNK_ROWS = 10_000
MAX_DATASET = 64
MAX_ID = 128
MAX_KIND = 32
_EVENT_COLUMNS = ("dataset", "user_id", "item_id", "event", "value", "timestamp")

Bind = Engine | Connection

_ITEMS = Base.metadata.tables[RecItem.__tablename__]
_USERS = Base.metadata.tables[RecUser.__tablename__]
_EVENTS = Base.metadata.tables[RecInteraction.__tablename__]


class RecStoreError(SoundstageError, ValueError):
    """Bad data for the recommender store: unknown event, empty or over-long id, NaN value."""


class Imported(NamedTuple):
    """What `import_movielens` wrote."""

    items: int
    users: int
    interactions: int


# --- writing --------------------------------------------------------------------------------


def save_catalog(bind: Bind, items: Iterable[Item], *, dataset: str = DEFAULT_DATASET) -> int:
    """Insert or update catalogue items; returns how many rows were written.

    `items` may be a generator: it is consumed chunk by chunk, and an invalid item found late
    rolls back the chunks already written. Within one call a repeated id keeps its last entry.
    """
    _check_dataset(dataset)
    now = utcnow()
    written = 0
    with _connection(bind, "cannot save catalogue to", write=True) as conn:
        for chunk in _chunks(items):
            rows = {item.id: _item_row(item, dataset, now) for item in chunk}
            _upsert(conn, _ITEMS, list(rows.values()))
            written += len(rows)
    return written


def save_users(bind: Bind, users: UserAttributes, *, dataset: str = DEFAULT_DATASET) -> int:
    """Insert or update users with their attributes (values stored as strings)."""
    _check_dataset(dataset)
    now = utcnow()
    rows = []
    for user_id, attributes in users.items():
        _check_id("user", user_id)
        attrs = {str(k): str(v) for k, v in attributes.items()}
        rows.append({"dataset": dataset, "id": user_id, "attributes": attrs, "updated_at": now})
    with _connection(bind, "cannot save users to", write=True) as conn:
        for start in range(0, len(rows), CHUNK_ROWS):
            _upsert(conn, _USERS, rows[start : start + CHUNK_ROWS])
    return len(rows)


def append_interactions(
    bind: Bind,
    inter: Interactions,
    *,
    event: str = "rating",
    dataset: str = DEFAULT_DATASET,
    replace: bool = False,
) -> int:
    """Append every event of `inter` as `event`; returns the number of rows written.

    With `replace=True` the dataset's existing events of this kind are deleted first, in the
    same transaction: re-importing a log then gives the same table instead of a doubled one.
    """
    _check_dataset(dataset)
    _check_event(event)
    user_ids = _used_ids("user", inter.user_ids, inter.users)
    item_ids = _used_ids("item", inter.item_ids, inter.items)
    if len(inter) and not np.isfinite(inter.values).all():
        bad = int(np.flatnonzero(~np.isfinite(inter.values))[0])
        raise RecStoreError(
            f"interaction {bad} has value {inter.values[bad]}; values must be finite"
        )
    users = inter.users.tolist()
    items = inter.items.tolist()
    values = inter.values.tolist()
    stamps = inter.timestamps.tolist()
    with _connection(bind, "cannot save interactions to", write=True) as conn:
        if replace:
            conn.execute(
                delete(_EVENTS).where(_EVENTS.c.dataset == dataset, _EVENTS.c.event == event)
            )
        for start in range(0, len(users), CHUNK_ROWS):
            stop = start + CHUNK_ROWS
            rows = [
                (dataset, user_ids[u], item_ids[i], event, v, t)
                for u, i, v, t in zip(
                    users[start:stop],
                    items[start:stop],
                    values[start:stop],
                    stamps[start:stop],
                    strict=True,
                )
            ]
            _insert_events(conn, rows)
    return len(users)


def import_movielens(
    bind: Bind, folder: str | Path, *, dataset: str = "movielens", replace: bool = True
) -> Imported:
    """Store a MovieLens folder (catalogue, users, ratings) in one transaction."""
    inter, items, users = read_movielens(folder)
    with _connection(bind, "cannot import MovieLens into", write=True) as conn:
        n_items = save_catalog(conn, items, dataset=dataset)
        n_users = save_users(conn, users, dataset=dataset)
        n_events = append_interactions(
            conn, inter, event="rating", dataset=dataset, replace=replace
        )
    return Imported(n_items, n_users, n_events)


# --- reading --------------------------------------------------------------------------------


def load_interactions(
    bind: Bind, *, dataset: str = DEFAULT_DATASET, event: str | Sequence[str] | None = None
) -> Interactions:
    """A dataset's events (all kinds, or only `event`) in insertion order.

    The id spaces are the ids that occur, ordered as `data` orders them (numerically when
    all are integers), so a log loaded from a file and stored comes back with equal arrays.
    Map onto another id space with `Interactions.with_index`.
    """
    _check_dataset(dataset)
    kinds = _events_filter(event)
    stmt = (
        select(
            _EVENTS.c.user_id,
            _EVENTS.c.item_id,
            _EVENTS.c.value,
            _EVENTS.c.timestamp,
        )
        .where(_EVENTS.c.dataset == dataset)
        .order_by(_EVENTS.c.id)
    )
    if kinds is not None:
        stmt = stmt.where(_EVENTS.c.event.in_(kinds))
    with _connection(bind, "cannot load interactions from", write=False) as conn:
        rows = conn.execute(stmt).all()
        if not rows:
            known = _datasets(conn)
            what = f"no {' or '.join(kinds)} events" if kinds else "no interactions"
            hint = "stored datasets: " + ", ".join(sorted(known)) if known else "nothing stored"
            raise RecStoreError(f"dataset {dataset!r} has {what}", hint=hint)
    user_col, item_col, value_col, stamp_col = (list(col) for col in zip(*rows, strict=True))
    user_ids, users = _index(user_col)
    item_ids, items = _index(item_col)
    return Interactions(
        users,
        items,
        np.asarray(value_col, dtype=np.float32),
        np.asarray(stamp_col, dtype=np.int64),
        user_ids,
        item_ids,
    )


def load_catalog(bind: Bind, *, dataset: str = DEFAULT_DATASET) -> list[Item]:
    """A dataset's catalogue, ordered by id like `data` orders ids; empty when none."""
    _check_dataset(dataset)
    with _connection(bind, "cannot load catalogue from", write=False) as conn:
        rows = conn.execute(select(_ITEMS).where(_ITEMS.c.dataset == dataset)).mappings().all()
    by_id = {
        r["id"]: Item(
            id=r["id"],
            title=r["title"],
            kind=r["kind"],
            genres=tuple(r["genres"]),
            year=r["year"],
            description=r["description"],
            creator=r["creator"],
        )
        for r in rows
    }
    return [by_id[i] for i in sort_key(by_id)]


def load_users(bind: Bind, *, dataset: str = DEFAULT_DATASET) -> UserAttributes:
    """A dataset's users and their attributes, ordered by id; empty when none."""
    _check_dataset(dataset)
    with _connection(bind, "cannot load users from", write=False) as conn:
        rows = conn.execute(
            select(_USERS.c.id, _USERS.c.attributes).where(_USERS.c.dataset == dataset)
        ).all()
    by_id = {user_id: dict(attrs) for user_id, attrs in rows}
    return {u: by_id[u] for u in sort_key(by_id)}


def datasets(bind: Bind) -> dict[str, int]:
    """Stored datasets and how many interactions each holds."""
    with _connection(bind, "cannot list datasets in", write=False) as conn:
        return _datasets(conn)


# --- helpers --------------------------------------------------------------------------------


@contextmanager
def _connection(bind: Bind, doing: str, *, write: bool) -> Iterator[Connection]:
    """The caller's Connection when given one; else our own (a transaction when writing)."""
    if isinstance(bind, Connection):
        with translate_errors(bind.engine, doing):
            yield bind
        return
    with translate_errors(bind, doing), bind.begin() if write else bind.connect() as conn:
        yield conn


def _datasets(conn: Connection) -> dict[str, int]:
    stmt = select(_EVENTS.c.dataset, func.count()).group_by(_EVENTS.c.dataset)
    return {name: int(n) for name, n in conn.execute(stmt).all()}


def _insert_events(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """COPY on PostgreSQL (several times faster than executemany there); executemany elsewhere."""
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg":
        conn.execute(insert(_EVENTS), [dict(zip(_EVENT_COLUMNS, r, strict=True)) for r in rows])
        return
    import psycopg

    quote = conn.dialect.identifier_preparer.quote
    sql = f"COPY {quote(_EVENTS.name)} ({', '.join(quote(c) for c in _EVENT_COLUMNS)}) FROM STDIN"
    driver_connection: Any = conn.connection.driver_connection  # same transaction as `conn`
    try:
        with driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = conn.engine.url.render_as_string(hide_password=True)
        raise StoreError(f"cannot save interactions to {where}: {reason}") from None


def _upsert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE, for SQLite and PostgreSQL alike."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    keys = [c.name for c in table.primary_key.columns]
    update = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=update), rows)


def _chunks(items: Iterable[Item]) -> Iterator[list[Item]]:
    chunk: list[Item] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _item_row(item: Item, dataset: str, now: object) -> dict[str, Any]:
    _check_id("item", item.id)
    if not item.kind or len(item.kind) > MAX_KIND:
        raise RecStoreError(f"item {item.id!r} has kind {item.kind!r}; want 1 to {MAX_KIND} chars")
    year = item.year
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
        raise RecStoreError(f"item {item.id!r} has year {year!r}; want an integer or None")
    return {
        "dataset": dataset,
        "id": item.id,
        "title": str(item.title),
        "kind": item.kind,
        "genres": [str(g) for g in item.genres],
        "description": str(item.description),
        "year": year,
        "creator": str(item.creator),
        "updated_at": now,
    }


def _check_dataset(dataset: str) -> None:
    if not isinstance(dataset, str) or not dataset or len(dataset) > MAX_DATASET:
        raise RecStoreError(f"dataset name {dataset!r} must be 1 to {MAX_DATASET} characters")


def _check_event(event: str) -> None:
    if event not in INTERACTION_EVENTS:
        raise RecStoreError(
            f"unknown event {event!r}", hint="use one of: " + ", ".join(INTERACTION_EVENTS)
        )


def _events_filter(event: str | Sequence[str] | None) -> list[str] | None:
    if event is None:
        return None
    kinds = [event] if isinstance(event, str) else list(event)
    for kind in kinds:
        _check_event(kind)
    return kinds


def _check_id(what: str, value: object) -> None:
    if not isinstance(value, str) or not value or len(value) > MAX_ID:
        raise RecStoreError(f"{what} id {value!r} must be a string of 1 to {MAX_ID} characters")


def _used_ids(what: str, ids: tuple[str, ...], index: np.ndarray) -> tuple[str, ...]:
    """Check only the ids that events use: an id space may carry unused entries."""
    for pos in np.unique(index).tolist():
        _check_id(what, ids[pos])
    return ids


__all__ = [
    "DEFAULT_DATASET",
    "INTERACTION_EVENTS",
    "Imported",
    "RecStoreError",
    "append_interactions",
    "datasets",
    "import_movielens",
    "load_catalog",
    "load_interactions",
    "load_users",
    "save_catalog",
    "save_users",
]
