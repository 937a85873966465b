"""Parquet logs, item catalogues, Last.fm layouts and the `read_log` dispatcher, on real files."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_runner import run_soundstage

from soundstage.errors import FormatError, SoundstageError
from soundstage.recommend.data import read_csv, to_implicit, write_csv
from soundstage.recommend.sources import read_items, read_lastfm, read_log, read_parquet

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _parquet(path: Path, **columns: Any) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_soundstage("recommend", *args, columns=200)


# --- Parquet --------------------------------------------------------------------------------


def test_parquet_matches_the_same_log_read_from_csv(tmp_path: Path) -> None:
    csv_path = tmp_path / "log.csv"
    csv_path.write_text("user_id,item_id,value,timestamp\n10,a,4,100\n2,b,3.5,200\n10,b,1,300\n")
    pq_path = _parquet(
        tmp_path / "log.parquet",
        user_id=pa.array([10, 2, 10], pa.int64()),
        item_id=pa.array(["a", "b", " b "]).dictionary_encode(),
        value=[4.0, 3.5, 1.0],
        timestamp=pa.array([100, 200, 300], pa.int32()),
    )
    from_csv, from_pq = read_csv(csv_path), read_parquet(pq_path)
    assert from_pq.user_ids == from_csv.user_ids == ("2", "10")  # numeric id order, as CSV
    assert from_pq.item_ids == from_csv.item_ids == ("a", "b")
    for name in ("users", "items", "values", "timestamps"):
        np.testing.assert_array_equal(getattr(from_pq, name), getattr(from_csv, name))


def test_parquet_optional_columns_and_arrow_timestamps(tmp_path: Path) -> None:
    path = _parquet(tmp_path / "a.parquet", user_id=[1.0, 2.0], item_id=[7, 8])
    inter = read_parquet(path)
    assert inter.user_ids == ("1", "2") and inter.item_ids == ("7", "8")  # no "1.0"
    assert inter.values.tolist() == [1.0, 1.0] and inter.timestamps.tolist() == [0, 0]
    stamps = pa.array([1_500_000_000_000, None], pa.timestamp("ms", tz="UTC"))
    path = _parquet(
        tmp_path / "b.parquet", user_id=["u", "v"], item_id=["i", "j"], timestamp=stamps
    )
    assert read_parquet(path).timestamps.tolist() == [1_500_000_000, 0]


@pytest.mark.parametrize(
    ("columns", "needle"),
    [
        ({"user": [1], "item_id": ["a"]}, "missing column 'user_id' (columns: user,item_id)"),
        ({"user_id": [1, None, 3], "item_id": ["a", "b", "c"]}, "row 2: null user_id"),
        ({"user_id": [1, 2], "item_id": ["a", "  "]}, "row 2: empty item_id"),
        ({"user_id": [1.0, 2.5], "item_id": ["a", "b"]}, "row 2: user_id 2.5 is not an integer"),
        ({"user_id": [1, 2], "item_id": ["a", "b"], "value": [1.0, None]}, "row 2: null value"),
        ({"user_id": [1], "item_id": ["a"], "value": ["high"]}, "'value' has type string"),
        ({"user_id": [1], "item_id": ["a"], "value": [float("inf")]}, "not a finite number"),
        ({"user_id": pa.array([], pa.int64()), "item_id": pa.array([], pa.string())}, "no rows"),
    ],
)
def test_parquet_bad_input_names_file_and_row(
    tmp_path: Path, columns: dict[str, Any], needle: str
) -> None:
    path = _parquet(tmp_path / "bad.parquet", **columns)
    with pytest.raises(FormatError) as err:
        read_parquet(path)
    assert str(err.value).startswith(f"{path}:") and needle in str(err.value)
    assert "\n" not in str(err.value)


def test_a_file_that_is_not_parquet_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    path.write_text("user_id,item_id\n1,2\n")
    with pytest.raises(FormatError, match="not a readable Parquet file"):
        read_parquet(path)
    with pytest.raises(FormatError, match="no such file"):
        read_parquet(tmp_path / "absent.parquet")


# --- items ----------------------------------------------------------------------------------


def test_items_from_csv_and_parquet_agree(tmp_path: Path) -> None:
    csv_path = tmp_path / "items.csv"
    csv_path.write_text(
        "item_id,title,kind,genres,description,year,creator,extra\n"
        '1,"Heat, The",movie,Crime|Drama,Cops and robbers.,1995,Michael Mann,x\n'
        "2,,,,,,,\n",
        encoding="utf-8",
    )
    pq_path = _parquet(
        tmp_path / "items.parquet",
        item_id=[1, 2],
        title=["Heat, The", None],
        kind=["movie", None],
        genres=["Crime|Drama", ""],
        description=["Cops and robbers.", None],
        year=[1995, None],
        creator=["Michael Mann", None],
    )
    for items in (read_items(csv_path), read_items(pq_path)):
        heat, bare = items
        assert heat.id == "1" and heat.title == "Heat, The" and heat.genres == ("Crime", "Drama")
        assert heat.year == 1995 and heat.creator == "Michael Mann"
        assert heat.description == "Cops and robbers."
        assert bare.id == "2" and bare.title == "2" and bare.kind == "movie" and bare.year is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("title\nHeat\n", "items.csv:1: missing column 'item_id'"),
        ("item_id,title,year\n1,Heat,1995\n2,Ran,soon\n", "items.csv:3: year 'soon'"),
        ("item_id,title\n1,Heat\n2\n", "items.csv:3: expected 2 fields"),
        ("item_id,title\n1,Heat\n,Ran\n", "items.csv:3: empty item_id"),
    ],
)
def test_bad_items_file_is_one_line_with_file_and_line(
    tmp_path: Path, text: str, needle: str
) -> None:
    path = tmp_path / "items.csv"
    path.write_text(text)
    with pytest.raises(FormatError, match=None) as err:
        read_items(path)
    assert needle in str(err.value)


# --- Last.fm --------------------------------------------------------------------------------


def _hetrec(folder: Path) -> Path:
    folder.mkdir()
    (folder / "user_artists.dat").write_text(
        "userID\tartistID\tweight\n2\t51\t13883\n2\t52\t11690\n3\t51\t228\n10\t53\t5\n"
    )
    (folder / "artists.dat").write_text(
        "id\tname\turl\tpictureURL\n51\tDuran Duran\thttp://x\thttp://y\n"
        "52\tMorcheeba\thttp://x\thttp://y\n53\tAir\thttp://x\n",
        encoding="utf-8",
    )
    return folder


def test_hetrec_lastfm_2k_gives_play_counts_and_named_artists(tmp_path: Path) -> None:
    inter, items = read_lastfm(_hetrec(tmp_path / "hetrec-2k"))
    assert inter.user_ids == ("2", "3", "10") and inter.item_ids == ("51", "52", "53")
    assert inter.values.tolist() == [13883, 11690, 228, 5]
    assert [(i.id, i.title, i.kind) for i in items][:2] == [
        ("51", "Duran Duran", "artist"),
        ("52", "Morcheeba", "artist"),
    ]
    assert len(to_implicit(inter, min_value=100)) == 3  # plays → positives: a value threshold


def test_lastfm_360k_uses_the_name_when_the_mbid_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "usersha1-artmbid-artname-plays.tsv"
    path.write_text(
        "00000c28\t3bd73256-3905-4f3a-97e2-8b341527f805\tbetty blowtorch\t2137\n"
        "00000c28\t\tdie Ärzte\t1099\n"
        "00001411\t3bd73256-3905-4f3a-97e2-8b341527f805\tBetty Blowtorch\t12\n",
        encoding="utf-8",
    )
    inter, items = read_lastfm(path)  # the file itself, or its folder
    assert read_lastfm(tmp_path)[0].item_ids == inter.item_ids
    assert set(inter.item_ids) == {"3bd73256-3905-4f3a-97e2-8b341527f805", "die Ärzte"}
    assert sorted(inter.values.tolist()) == [12, 1099, 2137]
    titles = {i.id: i.title for i in items}
    assert titles["die Ärzte"] == "die Ärzte"
    assert titles["3bd73256-3905-4f3a-97e2-8b341527f805"] == "betty blowtorch"  # first seen


def test_lastfm_1k_counts_plays_per_user_and_artist(tmp_path: Path) -> None:
    path = tmp_path / "userid-timestamp-artid-artname-traid-traname.tsv"
    path.write_text(
        "user_000001\t2009-05-04T23:08:57Z\tf1b1cf71\tDeep Dish\t\tFuck Me Im Famous\n"
        "user_000001\t2009-05-04T13:54:10Z\tf1b1cf71\tDeep Dish\tt2\tAnother\n"
        "user_000002\t2009-05-03T10:00:00Z\t\tRyuichi Sakamoto\t\tTrack\n"
    )
    inter, items = read_lastfm(tmp_path)
    plays = {
        (inter.user_ids[u], inter.item_ids[i]): (v, t)
        for u, i, v, t in zip(inter.users, inter.items, inter.values, inter.timestamps, strict=True)
    }
    assert plays[("user_000001", "f1b1cf71")] == (2.0, 1241478537)  # count, latest play
    assert plays[("user_000002", "Ryuichi Sakamoto")][0] == 1.0
    assert {i.title for i in items} == {"Deep Dish", "Ryuichi Sakamoto"}


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("user_artists.dat", "userID\tartistID\tweight\n2\t51\n", "user_artists.dat:2: expected 3"),
        ("user_artists.dat", "userID\tartistID\tweight\n2\t51\tmany\n", ":2: value 'many'"),
        ("usersha1-artmbid-artname-plays.tsv", "u\t\t\t3\n", ":1: empty artist id and name"),
        ("userid-timestamp-artid-artname-traid-traname.tsv", "u\tyesterday\ta\tA\t\tT\n", ":1:"),
    ],
)
def test_bad_lastfm_rows_name_file_and_line(
    tmp_path: Path, name: str, text: str, needle: str
) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(FormatError) as err:
        read_lastfm(tmp_path)
    assert needle in str(err.value) and str(tmp_path) in str(err.value)


# --- read_log -------------------------------------------------------------------------------


def test_read_log_recognises_each_source(tmp_path: Path) -> None:
    _hetrec(tmp_path / "lastfm")
    assert read_log(tmp_path / "lastfm")[1][0].kind == "artist"
    pq_path = _parquet(tmp_path / "log.parquet", user_id=["u1"], item_id=["i1"])
    items = tmp_path / "items.csv"
    items.write_text("item_id,title\ni1,First\n")
    inter, catalogue, users = read_log(pq_path, items=items)
    assert inter.item_ids == ("i1",) and catalogue[0].title == "First" and users == {}
    tsv = tmp_path / "log.tsv"
    tsv.write_text("user_id\titem_id\nu1\ti1\n")
    assert len(read_log(tsv)[0]) == 1
    export = tmp_path / "export"
    export.mkdir()
    write_csv(export / "log.csv", inter)
    (export / "users.csv").write_text("user_id,age\nu1,30\n")
    assert read_log(export)[2] == {"u1": {"age": "30"}}


@pytest.mark.parametrize(
    ("make", "kwargs", "needle"),
    [
        (lambda d: d / "absent", {}, "no such file or folder"),
        (lambda d: d, {}, "not a MovieLens folder (u.data, ratings.csv or ratings.dat), a Last"),
        (lambda d: _touch(d / "log.json"), {}, "unrecognised source (accepts a MovieLens folder"),
        (lambda d: d, {"format": "parquet"}, "--format parquet needs a file"),
        (lambda d: d, {"format": "movielens"}, "not a MovieLens folder"),
        (lambda d: d, {"format": "xml"}, "unknown format 'xml'"),
    ],
)
def test_read_log_refuses_what_it_cannot_read(
    tmp_path: Path, make: Callable[[Path], Path], kwargs: dict[str, Any], needle: str
) -> None:
    with pytest.raises(SoundstageError) as err:
        read_log(make(tmp_path), **kwargs)
    assert needle in str(err.value) and "\n" not in str(err.value)


def _touch(path: Path) -> Path:
    path.write_text("{}")
    return path


def test_read_log_on_shared_movielens(shared: Callable[..., Path]) -> None:
    inter, items, users = read_log(shared("rec", "ml-100k"))
    assert len(inter) == 100_000 and len(items) == 1682 and len(users) == 943


# --- CLI ------------------------------------------------------------------------------------


def test_cli_imports_parquet_with_an_items_file(tmp_path: Path) -> None:
    log = _parquet(
        tmp_path / "plays.parquet",
        user_id=[1, 1, 2],
        item_id=["a", "b", "a"],
        value=[3.0, 1.0, 5.0],
        timestamp=[10, 20, 30],
    )
    items = _parquet(
        tmp_path / "cat.parquet", item_id=["a", "b"], title=["Alpha", "Beta"], creator=["X", ""]
    )
    out = tmp_path / "out"
    result = run("import", str(log), "--items", str(items), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert (out / "log.csv").read_text().splitlines()[1:] == [
        "1,a,3.0,10",
        "1,b,1.0,20",
        "2,a,5.0,30",
    ]
    assert (out / "items.csv").read_text().splitlines() == [
        "item_id,title,kind,genres,year,creator",
        "a,Alpha,movie,,,X",
        "b,Beta,movie,,,",
    ]
    assert read_items(out / "items.csv")[0].creator == "X"  # what import writes, read_items reads
    assert not (out / "users.csv").exists()


def test_cli_imports_a_lastfm_folder(tmp_path: Path) -> None:
    folder = _hetrec(tmp_path / "hetrec")
    out = tmp_path / "out"
    result = run("import", str(folder), "--format", "lastfm", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "4 events, 3 users" in result.stdout
    assert (out / "log.csv").read_text().splitlines()[1] == "2,51,13883.0,0"
    assert "51,Duran Duran,artist,," in (out / "items.csv").read_text()


@pytest.mark.parametrize(
    ("make", "extra", "needle"),
    [
        (lambda d: _parquet(d / "x.parquet", user=[1], item_id=["a"]), [], "missing column"),
        (lambda d: _touch(d / "log.json"), [], "unrecognised source"),
        (lambda d: _parquet(d / "x.parquet", user_id=[1], item_id=["a"]), ["-f", "xml"], "xml"),
        (lambda d: _hetrec(d / "h"), ["--format", "csv"], "is a folder"),
    ],
)
def test_cli_import_bad_input_is_one_line(
    tmp_path: Path, make: Callable[[Path], Path], extra: list[str], needle: str
) -> None:
    out = tmp_path / "out"
    result = run("import", str(make(tmp_path)), "--out", str(out), *extra)
    assert result.returncode != 0
    assert needle in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith("error:")
    assert not out.exists()
