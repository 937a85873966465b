"""Where a training log comes from: a file `read_log` understands, or `db:NAME` in the store.

Why a spec string: `recommend train` and the `recommend-train` job take the same argument, so a
log imported with `recommend import --db` trains the same way from a shell or from a worker,
and a file path keeps working unchanged.
"""

from __future__ import annotations

from pathlib import Path

from soundstage.recommend.data import Interactions, Item, UserAttributes
from soundstage.recommend.store import MAX_DATASET, RecStoreError
from soundstage.settings import Settings, load_settings

DB_PREFIX = "db:"


def dataset_name(spec: str | Path) -> str | None:
    """NAME for a `db:NAME` spec (checked: 1 to 64 characters); None for a file path."""
    text = str(spec)
    if not text.startswith(DB_PREFIX):
        return None
    name = text[len(DB_PREFIX) :].strip()
    if not name or len(name) > MAX_DATASET:
        raise RecStoreError(
            f"bad source {text!r}: the dataset name must be 1 to {MAX_DATASET} characters",
            hint="write db:NAME, with NAME as given to `recommend import --db --dataset`",
        )
    return name


def load_source(
    spec: str | Path,
    items: str | Path | None = None,
    *,
    settings: Settings | None = None,
) -> tuple[Interactions, list[Item], UserAttributes]:
    """The log, catalogue and users behind `spec`; `items` replaces the catalogue if given.

    `db:NAME` reads dataset NAME from the database in `settings` (default: the environment's);
    anything else goes to `read_log`.
    """
    from soundstage.recommend.sources import read_items, read_log

    name = dataset_name(spec)
    if name is None:
        return read_log(spec, items=items)
    log, catalog, users = _load_dataset(name, settings or load_settings())
    if items is not None:
        catalog = read_items(items)
    return log, catalog, users


def _load_dataset(name: str, settings: Settings) -> tuple[Interactions, list[Item], UserAttributes]:
    from soundstage.recommend import store
    from soundstage.store.db import open_store, translate_errors

    engine = open_store(settings)
    try:
        # One connection, so events, catalogue and users come from the same snapshot.
        with translate_errors(engine, "cannot read dataset from"), engine.connect() as conn:
            known = store.datasets(conn)
            if name not in known:
                catalog = store.load_catalog(conn, dataset=name)
                if catalog:
                    raise RecStoreError(
                        f"dataset {name!r} has no interactions "
                        f"(only a catalogue of {len(catalog):,} items)",
                        hint="import a log into it: soundstage recommend import LOG --db "
                        f"--dataset {name}",
                    )
                stored = ", ".join(sorted(known)) or "none yet"
                raise RecStoreError(
                    f"unknown dataset {name!r} in the database",
                    hint=f"stored datasets: {stored}; add one with `recommend import --db`",
                )
            log = store.load_interactions(conn, dataset=name)
            catalog = store.load_catalog(conn, dataset=name)
            users = store.load_users(conn, dataset=name)
    finally:
        engine.dispose()
    return log, catalog, users


__all__ = ["DB_PREFIX", "dataset_name", "load_source"]
