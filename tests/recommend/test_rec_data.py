"""Recommender data layer: loaders, id spaces, implicit conversion and splits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from soundstage.errors import FormatError
from soundstage.recommend.data import (
    Interactions,
    read_csv,
    read_movielens,
    to_implicit,
    write_csv,
    year_of,
)
from soundstage.recommend.split import holdout, leave_last_out


def _write(tmp_path: Path, text: str, name: str = "events.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _synthetic(n_users: int = 30, seed: int = 0) -> Interactions:
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 25, size=n_users)
    users = np.repeat(np.arange(n_users), counts)
    items = np.concatenate([rng.choice(50, size=c, replace=False) for c in counts])
    return Interactions(
        users,
        items,
        rng.integers(1, 6, size=len(users)).astype(np.float32),
        rng.integers(0, 1000, size=len(users)),
        tuple(f"u{i}" for i in range(n_users)),
        tuple(f"i{i}" for i in range(50)),
    )


def _pairs(inter: Interactions) -> set[tuple[int, int, int]]:
    return set(
        zip(inter.users.tolist(), inter.items.tolist(), inter.timestamps.tolist(), strict=True)
    )


# --- CSV ------------------------------------------------------------------------------------


def test_csv_round_trip(tmp_path: Path) -> None:
    src = _write(tmp_path, "user_id,item_id,value,timestamp\nb,x,2.5,20\na,y,4,10\nb,y,1,30\n")
    inter = read_csv(src)
    assert inter.user_ids == ("a", "b") and inter.item_ids == ("x", "y")
    out = tmp_path / "out.csv"
    write_csv(out, inter)
    again = read_csv(out)
    assert again.user_ids == inter.user_ids and again.item_ids == inter.item_ids
    for name in ("users", "items", "values", "timestamps"):
        np.testing.assert_array_equal(getattr(again, name), getattr(inter, name))
    assert again.values.dtype == np.float32 and again.timestamps.dtype == np.int64
    assert not list(tmp_path.glob(".*.tmp"))


def test_numeric_ids_sort_numerically(tmp_path: Path) -> None:
    inter = read_csv(_write(tmp_path, "user_id,item_id\n10,1\n2,1\n1,1\n"))
    assert inter.user_ids == ("1", "2", "10")
    assert inter.users.tolist() == [2, 1, 0]


def test_sniffs_tab_and_comma(tmp_path: Path) -> None:
    tab = read_csv(_write(tmp_path, "1\t5\t3\t100\n2\t6\t4\t200\n", "t.tsv"), header=False)
    comma = read_csv(_write(tmp_path, "1,5,3,100\n2,6,4,200\n", "c.csv"), header=False)
    for inter in (tab, comma):
        assert len(inter) == 2 and inter.item_ids == ("5", "6")
        assert inter.values.tolist() == [3.0, 4.0] and inter.timestamps.tolist() == [100, 200]


def test_missing_value_column_means_one(tmp_path: Path) -> None:
    inter = read_csv(_write(tmp_path, "item_id,user_id\ni1,u1\ni2,u1\n"))
    assert inter.values.tolist() == [1.0, 1.0]
    assert inter.timestamps.tolist() == [0, 0]
    assert inter.user_ids == ("u1",)


def test_custom_column_names(tmp_path: Path) -> None:
    path = _write(tmp_path, "userId,movieId,rating\n1,2,3.5\n")
    inter = read_csv(path, user="userId", item="movieId", value="rating")
    assert inter.values.tolist() == [3.5]
    with pytest.raises(FormatError, match=r"events.csv:1: missing column 'user_id'"):
        read_csv(path)


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("user_id,item_id,value\na,b,1\na,c\n", r":3: expected 3 fields, got 2"),
        ("user_id,item_id,value\na,b,1\na,c,high\n", r":3: value 'high' is not a finite number"),
        ("user_id,item_id,value\na,b,nan\n", r":2: value 'nan'"),
        ("user_id,item_id,timestamp\na,b,1\n\na,c,soon\n", r":4: timestamp 'soon'"),
        ("user_id,item_id\na,\n", r":2: empty user or item id"),
    ],
)
def test_malformed_row_names_file_and_line(tmp_path: Path, text: str, what: str) -> None:
    with pytest.raises(FormatError, match="events.csv" + what) as caught:
        read_csv(_write(tmp_path, text))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("text", ["", "user_id,item_id,value\n", "\n\n"])
def test_empty_file_is_a_clear_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(FormatError, match="no interactions"):
        read_csv(_write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="no such file"):
        read_csv(tmp_path / "nope.csv")


# --- duplicates, implicit -------------------------------------------------------------------


def test_duplicates_kept_and_summed_by_matrix(tmp_path: Path) -> None:
    text = "user_id,item_id,value,timestamp\na,x,2,10\na,x,3,30\na,x,1,20\nb,x,5,5\n"
    inter = read_csv(_write(tmp_path, text))
    assert len(inter) == 4
    m = inter.matrix()
    assert m.shape == (2, 1) and m.nnz == 2
    assert m[0, 0] == pytest.approx(6.0) and m[1, 0] == pytest.approx(5.0)
    assert inter.dedupe("last").values.tolist() == [3.0, 5.0]
    assert inter.dedupe("max").values.tolist() == [3.0, 5.0]
    summed = inter.dedupe("sum")
    assert summed.values.tolist() == [6.0, 5.0] and summed.timestamps.tolist() == [30, 5]
    later = read_csv(_write(tmp_path, "user_id,item_id,value,timestamp\na,x,9,50\na,x,3,40\n"))
    assert later.dedupe("last").values.tolist() == [9.0]


def test_to_implicit_rule() -> None:
    inter = Interactions(
        [0, 0, 1, 1], [0, 1, 0, 1], [3.5, 4.0, 5.0, 1.0], [0] * 4, ("a", "b"), ("x", "y")
    )
    pos = to_implicit(inter)
    assert pos.users.tolist() == [0, 1] and pos.items.tolist() == [1, 0]
    assert pos.values.tolist() == [1.0, 1.0] and pos.user_ids == inter.user_ids
    assert len(to_implicit(inter, min_value=3.5)) == 3


def test_with_index_drops_unknown_and_counts() -> None:
    test = Interactions(
        [0, 1, 2, 2], [0, 0, 1, 2], [1] * 4, [0] * 4, ("a", "b", "c"), ("x", "y", "z")
    )
    result = test.with_index(("c", "a"), ("z", "x", "w"))
    inter = result.inter
    assert inter.user_ids == ("c", "a") and inter.item_ids == ("z", "x", "w")
    assert list(zip(inter.users.tolist(), inter.items.tolist(), strict=True)) == [(1, 1), (0, 0)]
    assert (result.dropped_events, result.unknown_users, result.unknown_items) == (2, 1, 1)


def test_year_of() -> None:
    assert year_of("Toy Story (1995)") == 1995
    assert year_of("Babylon 5") is None
    assert year_of("Fawlty Towers (1975-1979) ") == 1975


# --- splits ---------------------------------------------------------------------------------


def test_holdout_sizes_disjoint_and_at_least_one() -> None:
    inter = _synthetic()
    train, test = holdout(inter, fraction=0.2, seed=0)
    assert len(train) + len(test) == len(inter)
    assert train.user_ids == inter.user_ids and test.item_ids == inter.item_ids
    assert not _pairs(train) & _pairs(test)
    counts = np.bincount(inter.users, minlength=inter.n_users)
    n_test = np.bincount(test.users, minlength=inter.n_users)
    n_train = np.bincount(train.users, minlength=inter.n_users)
    assert (counts == 1).any() and (counts >= 10).any()
    for n, k, kept in zip(counts, n_test, n_train, strict=True):
        if n == 1:
            assert (k, kept) == (0, 1)
        else:
            assert k == max(1, round(0.2 * n)) and kept >= 1


def test_holdout_is_deterministic_by_seed() -> None:
    inter = _synthetic()
    a = holdout(inter, seed=3)[1]
    b = holdout(inter, seed=3)[1]
    c = holdout(inter, seed=4)[1]
    assert _pairs(a) == _pairs(b)
    assert _pairs(a) != _pairs(c)
    with pytest.raises(ValueError):
        holdout(inter, fraction=1.0)


def test_leave_last_out_picks_latest() -> None:
    inter = Interactions(
        [0, 0, 0, 1, 2, 2],
        [0, 1, 2, 0, 1, 2],
        [1] * 6,
        [30, 50, 10, 99, 7, 7],
        ("a", "b", "c"),
        ("x", "y", "z"),
    )
    train, test = leave_last_out(inter)
    assert list(zip(test.users.tolist(), test.items.tolist(), strict=True)) == [(0, 1), (2, 2)]
    assert len(train) == 4 and 1 in train.users.tolist()
    assert train.item_ids == inter.item_ids


# --- shared MovieLens data ------------------------------------------------------------------


def test_ml100k_counts_and_protocol(shared: Callable[..., Path]) -> None:
    inter, items, users = read_movielens(shared("rec", "ml-100k"))
    assert (len(inter), inter.n_users, inter.n_items) == (100_000, 943, 1_682)
    assert len(items) == 1_682 and len(users) == 943
    assert items[0].title == "Toy Story (1995)" and items[0].year == 1995
    assert items[0].genres == ("Animation", "Children's", "Comedy")
    assert users["1"] == {"age": "24", "gender": "M", "occupation": "technician", "zip": "85711"}
    assert np.bincount(inter.values.astype(int))[1:].tolist() == [6110, 11370, 27145, 34174, 21201]
    pos = to_implicit(inter)
    assert len(pos) == 55_375 and len(np.unique(pos.users)) == 942
    assert len(np.unique(pos.items)) == 1_447
    train, test = holdout(pos, fraction=0.2, seed=0)
    assert (len(train), len(test)) == (44_296, 11_079)


def test_ml_latest_small(shared: Callable[..., Path]) -> None:
    inter, items, users = read_movielens(shared("rec", "ml-latest-small"))
    assert (len(inter), inter.n_users) == (100_836, 610)
    assert inter.n_items == 9_724 and len(items) == 9_742 and users == {}
    by_id = {item.id: item for item in items}
    president = by_id["11"]
    assert president.title == "American President, The (1995)"
    assert president.genres == ("Comedy", "Drama", "Romance") and president.year == 1995
    assert set(np.unique(inter.values).tolist()) == {x / 2 for x in range(1, 11)}
