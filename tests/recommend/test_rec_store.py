"""Recommender store: catalogue, users and interaction logs on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, inspect, select, text

from soundstage.errors import SoundstageError, StoreError
from soundstage.recommend import store
from soundstage.recommend.data import Interactions, Item, read_csv, read_movielens
from soundstage.recommend.store import (
    RecStoreError,
    append_interactions,
    datasets,
    import_movielens,
    load_catalog,
    load_interactions,
    load_users,
    save_catalog,
    save_users,
)
from soundstage.store.db import upgrade
from soundstage.store.schema import RecInteraction


def _log(n_users: int = 20, n_items: int = 30, n: int = 200, seed: int = 0) -> Interactions:
    """A log with every id used, in data.py's id order, and repeated (user, item) pairs."""
    rng = np.random.default_rng(seed)
    assert n >= max(n_users, n_items)
    users = np.r_[np.arange(n_users), rng.integers(0, n_users, n - n_users)]
    items = np.r_[np.arange(n_items), rng.integers(0, n_items, n - n_items)]
    return Interactions(
        users,
        items,
        rng.integers(1, 11, len(users)).astype(np.float32) / 2,  # 0.5 … 5.0
        rng.integers(0, 2**40, len(users)),  # beyond 32 bits: timestamps are BIGINT
        tuple(str(i) for i in range(1, n_users + 1)),
        tuple(f"song-{i:03d}" for i in range(n_items)),
    )


def _one(user_ids: tuple[str, ...]) -> Interactions:
    """One event by user 0 on item "a" (value 1, timestamp 0) in the given user id space."""
    zero = np.zeros(1, dtype=np.int64)
    return Interactions(zero, zero, np.ones(1), zero, user_ids, ("a",))


def _assert_same(a: Interactions, b: Interactions) -> None:
    assert a.user_ids == b.user_ids and a.item_ids == b.item_ids
    for name in ("users", "items", "values", "timestamps"):
        left, right = getattr(a, name), getattr(b, name)
        assert left.dtype == right.dtype and np.array_equal(left, right), name


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


ITEMS = [
    Item("1", "Toy Story (1995)", genres=("Animation", "Comedy"), year=1995),
    Item("2", "Night Drive", kind="song", creator="The Lanterns", description="synth\npop"),
    Item("10", "Harbour Lights", kind="show", genres=(), year=None),
]


# --- round trips ------------------------------------------------------------------------------


def test_interactions_round_trip(engine: Engine) -> None:
    inter = _log()
    assert append_interactions(engine, inter, dataset="plays", event="play") == len(inter)
    _assert_same(load_interactions(engine, dataset="plays"), inter)
    _assert_same(load_interactions(engine, dataset="plays", event="play"), inter)


def test_round_trip_of_a_csv_log(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("user_id,item_id,value,timestamp\n10,b,1,5\n9,a,2.5,3\n10,b,1,5\n2,c,4,9\n")
    inter = read_csv(path)
    append_interactions(engine, inter, dataset="csv")
    _assert_same(load_interactions(engine, dataset="csv"), inter)


def test_duplicates_are_kept_and_appending_twice_doubles(engine: Engine) -> None:
    inter = _log(n=50)
    append_interactions(engine, inter, dataset="d")
    append_interactions(engine, inter, dataset="d")
    again = load_interactions(engine, dataset="d")
    assert len(again) == 2 * len(inter)
    assert np.array_equal(again.users[len(inter) :], inter.users)  # insertion order
    assert datasets(engine) == {"d": 2 * len(inter)}


def test_replace_makes_reimport_idempotent_and_keeps_other_events(engine: Engine) -> None:
    ratings, plays = _log(seed=1), _log(n=60, seed=2)
    append_interactions(engine, ratings, dataset="d", event="rating")
    append_interactions(engine, plays, dataset="d", event="play")
    append_interactions(engine, ratings, dataset="d", event="rating", replace=True)
    _assert_same(load_interactions(engine, dataset="d", event="rating"), ratings)
    _assert_same(load_interactions(engine, dataset="d", event=["play"]), plays)
    assert len(load_interactions(engine, dataset="d")) == len(ratings) + len(plays)


def test_datasets_are_separate_namespaces(engine: Engine) -> None:
    a, b = _log(seed=3), _log(n_users=5, n_items=7, n=40, seed=4)
    append_interactions(engine, a, dataset="a")
    append_interactions(engine, b, dataset="b")
    save_catalog(engine, ITEMS, dataset="a")
    save_catalog(engine, [Item("1", "Other one")], dataset="b")
    _assert_same(load_interactions(engine, dataset="b"), b)
    assert [i.title for i in load_catalog(engine, dataset="b")] == ["Other one"]
    assert load_catalog(engine, dataset="a")[0].title == "Toy Story (1995)"
    assert datasets(engine) == {"a": len(a), "b": len(b)}


def test_catalog_round_trip_in_id_order(engine: Engine) -> None:
    assert save_catalog(engine, reversed(ITEMS), dataset="cat") == 3
    assert load_catalog(engine, dataset="cat") == ITEMS  # numeric id order: 1, 2, 10
    assert load_catalog(engine, dataset="nothing") == []


def test_catalog_upsert_updates_in_place(engine: Engine) -> None:
    save_catalog(engine, ITEMS, dataset="cat")
    renamed = Item("2", "Night Drive (Remastered)", kind="song", year=2024)
    save_catalog(engine, [renamed, Item("3", "New")], dataset="cat")
    loaded = {i.id: i for i in load_catalog(engine, dataset="cat")}
    assert loaded["2"] == renamed  # every field replaced, not merged
    assert loaded["1"] == ITEMS[0] and "3" in loaded  # rows not in the new import stay
    assert _count(engine, "rec_items") == 4


def test_repeated_id_in_one_call_keeps_the_last(engine: Engine) -> None:
    save_catalog(engine, [Item("1", "first"), Item("1", "second")], dataset="cat")
    assert [i.title for i in load_catalog(engine, dataset="cat")] == ["second"]


def test_users_round_trip_and_upsert(engine: Engine) -> None:
    users = {"2": {"age": "24", "gender": "F"}, "10": {}, "1": {"age": "53"}}
    assert save_users(engine, users, dataset="u") == 3
    assert list(load_users(engine, dataset="u").items()) == [
        ("1", {"age": "53"}),
        ("2", {"age": "24", "gender": "F"}),
        ("10", {}),
    ]
    save_users(engine, {"1": {"age": "54", "gender": "M"}}, dataset="u")
    assert load_users(engine, dataset="u")["1"] == {"age": "54", "gender": "M"}
    assert load_users(engine, dataset="other") == {}


# --- mistakes and transactions -------------------------------------------------------------


def test_unknown_event_is_a_clear_error(engine: Engine) -> None:
    with pytest.raises(RecStoreError, match="unknown event 'view'.*rating, play, like"):
        append_interactions(engine, _log(), event="view")
    with pytest.raises(RecStoreError, match="unknown event 'view'"):
        load_interactions(engine, event=["rating", "view"])
    assert issubclass(RecStoreError, SoundstageError)


def test_bad_rows_are_rejected_before_writing(engine: Engine) -> None:
    inter = _log(n=30)
    values = inter.values.copy()
    values[17] = np.nan
    with pytest.raises(RecStoreError, match="interaction 17 has value nan"):
        append_interactions(engine, inter.with_values(values))
    with pytest.raises(RecStoreError, match="user id 'xxx.*1 to 128"):
        append_interactions(engine, _one(("x" * 129,)))
    with pytest.raises(RecStoreError, match="dataset name ''"):
        append_interactions(engine, inter, dataset="")
    with pytest.raises(RecStoreError, match="kind ''"):
        save_catalog(engine, [Item("1", "t", kind="")])
    assert _count(engine, "rec_interactions") == 0 and _count(engine, "rec_items") == 0


def test_unused_ids_need_not_be_valid(engine: Engine) -> None:
    append_interactions(engine, _one(("u", "")), dataset="d")  # "" is never used
    assert load_interactions(engine, dataset="d").user_ids == ("u",)


def test_loading_an_empty_dataset_names_the_stored_ones(engine: Engine) -> None:
    with pytest.raises(RecStoreError, match="'ml' has no interactions.*nothing stored"):
        load_interactions(engine, dataset="ml")
    append_interactions(engine, _log(n=40), dataset="ml")
    with pytest.raises(RecStoreError, match="'ml' has no skip events.*stored datasets: ml"):
        load_interactions(engine, dataset="ml", event="skip")
    with pytest.raises(RecStoreError, match="'other' has no interactions"):
        load_interactions(engine, dataset="other")


def test_bad_item_in_the_middle_of_a_stream_rolls_back_everything(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "CHUNK_ROWS", 2)
    save_catalog(engine, [Item("1", "old title")], dataset="cat")
    written: list[str] = []

    def stream() -> Iterator[Item]:
        for n in range(1, 8):
            written.append(str(n))
            yield Item(str(n), f"new {n}", kind="song" if n != 6 else "")

    with pytest.raises(RecStoreError, match="item '6' has kind ''"):
        save_catalog(engine, stream(), dataset="cat")
    assert written == ["1", "2", "3", "4", "5", "6"]  # chunks 1-2 and 3-4 were sent first
    assert load_catalog(engine, dataset="cat") == [Item("1", "old title")]


def test_database_error_mid_import_rolls_back_the_replace(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CHECK constraint backs up the Python check; `replace` deletes nothing on failure."""
    before = _log(seed=5)
    append_interactions(engine, before, dataset="d")
    monkeypatch.setattr(store, "CHUNK_ROWS", 16)
    monkeypatch.setattr(store, "_check_event", lambda event: None)
    with pytest.raises(StoreError, match="cannot save interactions to"):
        append_interactions(engine, _log(seed=6), dataset="d", event="view", replace=True)
    _assert_same(load_interactions(engine, dataset="d"), before)


def test_one_transaction_across_calls(engine: Engine) -> None:
    """Pass a Connection to make catalogue + users + events one all-or-nothing import."""
    inter = _log(n=40)
    bad = inter.with_values(np.full(len(inter), np.inf, dtype=np.float32))
    with pytest.raises(RecStoreError, match="must be finite"), engine.begin() as conn:
        save_catalog(conn, ITEMS, dataset="d")
        save_users(conn, {"1": {"age": "30"}}, dataset="d")
        append_interactions(conn, inter, dataset="d")
        append_interactions(conn, bad, dataset="d")
    for table in ("rec_items", "rec_users", "rec_interactions"):
        assert _count(engine, table) == 0, table


# --- schema -----------------------------------------------------------------------------------


def test_indexes_exist(engine: Engine) -> None:
    names = {ix["name"] for ix in inspect(engine).get_indexes("rec_interactions")}
    assert {
        "ix_rec_interactions_dataset_user",
        "ix_rec_interactions_dataset_item",
        "ix_rec_interactions_dataset_timestamp",
    } <= names


def test_downgrade_drops_the_tables(engine: Engine) -> None:
    from alembic import command

    from soundstage.store.db import alembic_config, head_revision

    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0002")
    assert not {"rec_items", "rec_users", "rec_interactions"} & set(
        inspect(engine).get_table_names()
    )
    assert upgrade(engine) == head_revision()
    with engine.connect() as conn:
        assert conn.execute(select(RecInteraction.id)).all() == []


# --- MovieLens 100K, when the shared data is present --------------------------------------


def test_ml100k_import_and_load(engine: Engine, shared: Callable[..., Path]) -> None:
    folder = shared("rec", "ml-100k")
    inter, items, users = read_movielens(folder)
    t0 = time.perf_counter()
    imported = import_movielens(engine, folder, dataset="ml-100k")
    import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    loaded = load_interactions(engine, dataset="ml-100k")
    load_s = time.perf_counter() - t0
    print(f"\n{engine.dialect.name}: import {import_s:.2f} s, load {load_s:.2f} s, {imported}")
    assert imported == (len(items), len(users), len(inter)) == (1682, 943, 100_000)
    _assert_same(loaded, inter)
    assert load_catalog(engine, dataset="ml-100k") == items
    assert load_users(engine, dataset="ml-100k") == users
    assert import_s < 30 and load_s < 10  # loose: 2 shared cores; typical numbers in the report
    import_movielens(engine, folder, dataset="ml-100k")  # replace=True: still 100,000
    assert datasets(engine) == {"ml-100k": 100_000}
