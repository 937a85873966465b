"""More interaction sources: Parquet logs, item catalogues, Last.fm play counts, one dispatcher.

`data.py` holds the in-memory type and the CSV and MovieLens readers; this module adds the
other layouts people actually have, so `soundstage recommend import` takes whatever a user
downloaded. Every reader gives the same `Interactions` (ids as strings, sorted the same way as
`read_csv`), and every bad input is a one-line `FormatError` naming the file and the line or
row — never a traceback from pyarrow or numpy.

Last.fm play counts arrive as `value` (plays). They are implicit feedback already; to keep
only "real" listens use `data.to_implicit(log, min_value=N)`, which thresholds on value.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from soundstage.errors import FormatError, SoundstageError
from soundstage.recommend.data import (
    Interactions,
    Item,
    UserAttributes,
    _Columns,  # the row accumulator every text loader shares
    read_csv,
    read_movielens,
    sort_key,  # id order: numeric when every id is an integer, so indices match read_csv
)

SourceFormat = Literal["auto", "movielens", "lastfm", "csv", "parquet"]
FORMATS: tuple[str, ...] = ("auto", "movielens", "lastfm", "csv", "parquet")

LASTFM_HETREC = "user_artists.dat"
LASTFM_360K = "usersha1-artmbid-artname-plays.tsv"
LASTFM_1K = "userid-timestamp-artid-artname-traid-traname.tsv"
LASTFM_FILES = (LASTFM_HETREC, LASTFM_360K, LASTFM_1K)
MOVIELENS_FILES = ("u.data", "ratings.csv", "ratings.dat")
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".tsv", ".txt")

ACCEPTS = (
    "a MovieLens folder (u.data, ratings.csv or ratings.dat), "
    f"a Last.fm folder or file ({', '.join(LASTFM_FILES)}), "
    "a folder from `recommend import` (log.csv), a .parquet file, or a .csv/.tsv file"
)


def _index_array(ids: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    """Like data._index, vectorised: Parquet and Last.fm logs run to tens of millions of rows."""
    unique, inverse = np.unique(ids, return_inverse=True)
    names = [str(u) for u in unique.tolist()]
    ordered = sort_key(names)
    pos = {u: i for i, u in enumerate(ordered)}
    remap = np.fromiter((pos[u] for u in names), dtype=np.int32, count=len(names))
    return tuple(ordered), remap[inverse.reshape(-1)]


# --- Parquet --------------------------------------------------------------------------------


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.compute
        import pyarrow.parquet
    except ImportError:
        raise SoundstageError(
            "reading Parquet needs pyarrow", hint="pip install 'soundstage[recommend]'"
        ) from None
    return pyarrow


def _open_parquet(path: Path) -> Any:
    pa = _pyarrow()
    if not path.is_file():
        raise FormatError.at(path, None, "no such file")
    try:
        return pa.parquet.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FormatError.at(path, None, f"not a readable Parquet file: {first}") from None


def _first_null(column: Any) -> int | None:
    """0-based position of the first null, or None; callers report it 1-based as a row."""
    if column.null_count == 0:
        return None
    pa = _pyarrow()
    mask = pa.compute.is_null(column).to_numpy(zero_copy_only=False)
    return int(np.flatnonzero(mask)[0])


def _id_strings(path: Path, name: str, column: Any) -> np.ndarray:
    """Ids as str the way read_csv sees them: integers without ".0", text stripped."""
    pa = _pyarrow()
    null = _first_null(column)
    if null is not None:
        raise FormatError(f"{path}: row {null + 1}: null {name}")
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pa.types.is_floating(kind):
        values = column.to_numpy()
        bad = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)))
        if len(bad):
            row = int(bad[0])
            raise FormatError(
                f"{path}: row {row + 1}: {name} {float(values[row]):g} is not an integer"
            )
        return values.astype(np.int64).astype(str)
    if pa.types.is_integer(kind):
        return column.to_numpy().astype(str)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pa.compute.utf8_trim_whitespace(column).to_numpy(zero_copy_only=False)
        strings = text.astype(str)
        empty = np.flatnonzero(strings == "")
        if len(empty):
            raise FormatError(f"{path}: row {int(empty[0]) + 1}: empty {name}")
        return strings
    raise FormatError.at(path, None, f"column {name!r} has type {kind}; expected text or integers")


def _numbers(path: Path, name: str, column: Any, *, default: float | None) -> np.ndarray:
    pa = _pyarrow()
    null = _first_null(column)
    if null is not None and default is None:
        raise FormatError(f"{path}: row {null + 1}: null {name}")
    kind = column.type
    if pa.types.is_timestamp(kind):
        per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[kind.unit]
        ticks = column.cast(pa.int64()).fill_null(0).to_numpy()
        return np.asarray(ticks // per_second, dtype=np.float64)
    try:
        floats = column.cast(pa.float64())
    except pa.ArrowException:
        raise FormatError.at(
            path, None, f"column {name!r} has type {kind}; expected numbers"
        ) from None
    values = floats.fill_null(default if default is not None else 0.0).to_numpy()
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        raise FormatError(f"{path}: row {int(bad[0]) + 1}: {name} is not a finite number")
    return np.asarray(values, dtype=np.float64)


def read_parquet(
    path: str | Path,
    *,
    user: str = "user_id",
    item: str = "item_id",
    value: str = "value",
    timestamp: str = "timestamp",
) -> Interactions:
    """Load `user_id,item_id[,value][,timestamp]` from Parquet; same rules as `read_csv`.

    Value defaults to 1.0 and timestamp to 0 (a null timestamp too, as an empty CSV field
    does); Arrow timestamp columns become Unix seconds.
    """
    path = Path(path)
    table = _open_parquet(path)
    names = table.column_names
    for required in (user, item):
        if required not in names:
            raise FormatError.at(
                path, None, f"missing column {required!r} (columns: {','.join(names)})"
            )
    if table.num_rows == 0:
        raise FormatError.at(path, None, "no interactions (the file has no rows)")
    users = _id_strings(path, user, table.column(user))
    items = _id_strings(path, item, table.column(item))
    n = table.num_rows
    values = (
        _numbers(path, value, table.column(value), default=None) if value in names else np.ones(n)
    )
    stamps = (
        _numbers(path, timestamp, table.column(timestamp), default=0.0)
        if timestamp in names
        else np.zeros(n)
    )
    fractional = np.flatnonzero(stamps != np.round(stamps))
    if len(fractional):
        row = int(fractional[0])
        raise FormatError(
            f"{path}: row {row + 1}: timestamp {float(stamps[row]):g} is not an integer"
        )
    user_ids, user_idx = _index_array(users)
    item_ids, item_idx = _index_array(items)
    return Interactions(user_idx, item_idx, values, stamps.astype(np.int64), user_ids, item_ids)


# --- item catalogues ------------------------------------------------------------------------

ITEM_COLUMNS = ("item_id", "title", "kind", "genres", "description", "year", "creator")


def read_items(path: str | Path) -> list[Item]:
    """Items from CSV/TSV or Parquet: `item_id[,title,kind,genres,description,year,creator]`.

    Only `item_id` is required: the title defaults to the id, kind to "movie"; `genres` are
    separated by "|" (what `recommend import` writes). Unknown columns are ignored.
    """
    path = Path(path)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        table = _open_parquet(path)
        names = table.column_names
        _need_item_id(path, None, names)
        wanted = [c for c in ITEM_COLUMNS if c in names]
        rows = ((n + 1, r) for n, r in enumerate(table.select(wanted).to_pylist()))
        return [_item(path, line, row, row_word=True) for line, row in rows]
    if not path.is_file():
        raise FormatError.at(path, None, "no such file")
    items = []
    line = 1
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            first = handle.readline()
            handle.seek(0)
            reader = csv.DictReader(handle, delimiter="\t" if "\t" in first else ",")
            fields = [f.strip().lstrip("\ufeff") for f in reader.fieldnames or []]
            _need_item_id(path, 1, fields)
            reader.fieldnames = fields
            for row in reader:
                line = reader.line_num
                if None in row or any(v is None for v in row.values()):
                    raise FormatError.at(path, line, f"expected {len(fields)} fields")
                items.append(_item(path, line, row, row_word=False))
    except UnicodeDecodeError:
        raise FormatError.at(path, line, "not utf-8 text") from None
    except csv.Error as exc:
        raise FormatError.at(path, line, f"bad CSV: {exc}") from None
    return items


def _need_item_id(path: Path, line: int | None, names: list[str]) -> None:
    if "item_id" not in names:
        raise FormatError.at(path, line, f"missing column 'item_id' (columns: {','.join(names)})")


def _item(path: Path, line: int, row: dict[str, Any], *, row_word: bool) -> Item:
    where = f"{path}: row {line}" if row_word else f"{path}:{line}"

    def text(key: str) -> str:
        raw = row.get(key)
        return "" if raw is None else str(raw).strip()

    item_id = text("item_id")
    if isinstance(row.get("item_id"), float) and float(row["item_id"]).is_integer():
        item_id = str(int(row["item_id"]))
    if not item_id:
        raise FormatError(f"{where}: empty item_id")
    year_text = text("year")
    year: int | None = None
    if year_text:
        try:
            year = int(float(year_text))
        except ValueError:
            raise FormatError(f"{where}: year {year_text!r} is not a number") from None
    genres = tuple(g.strip() for g in text("genres").split("|") if g.strip())
    return Item(
        id=item_id,
        title=text("title") or item_id,
        kind=text("kind") or "movie",
        genres=genres,
        year=year,
        description=text("description"),
        creator=text("creator"),
    )


# --- Last.fm --------------------------------------------------------------------------------


def _tsv_lines(path: Path, width: int, *, header: bool) -> Iterator[tuple[int, list[str]]]:
    """Tab-separated UTF-8 rows with their line numbers, streamed (the 1K log is 2.4 GB)."""
    line_no = 0
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            for line_no, line in enumerate(handle, start=1):
                if header and line_no == 1:
                    continue
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                fields = line.split("\t")
                if len(fields) != width:
                    raise FormatError.at(
                        path, line_no, f"expected {width} tab-separated fields, got {len(fields)}"
                    )
                yield line_no, fields
    except UnicodeDecodeError:
        raise FormatError.at(path, line_no + 1, "not utf-8 text") from None


def read_lastfm(path: str | Path) -> tuple[Interactions, list[Item]]:
    """Load Last.fm listening data; value = play count, items are artists.

    Accepts a folder or the file itself, in one of three public layouts:
    HetRec 2011 lastfm-2k (`user_artists.dat` + `artists.dat`), Last.fm-360K
    (`usersha1-artmbid-artname-plays.tsv`) and Last.fm-1K (one line per play in
    `userid-timestamp-artid-artname-traid-traname.tsv`, counted per user and artist; the
    timestamp kept is the latest play).
    """
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    name = None if path.is_dir() else path.name
    for candidate in LASTFM_FILES:
        if (name is None or name == candidate) and (folder / candidate).is_file():
            file = folder / candidate
            if candidate == LASTFM_HETREC:
                return _read_hetrec(file)
            if candidate == LASTFM_360K:
                return _read_360k(file)
            return _read_1k(file)
    raise FormatError.at(
        path, None, "not a Last.fm dataset", hint="expected " + ", ".join(LASTFM_FILES)
    )


def _read_hetrec(file: Path) -> tuple[Interactions, list[Item]]:
    cols = _Columns(file)
    for line, (user, artist, weight) in _tsv_lines(file, 3, header=True):
        cols.add(line, user.strip(), artist.strip(), weight.strip(), None)
    inter = cols.build()
    items = []
    artists = file.parent / "artists.dat"
    if artists.is_file():
        # id, name, url, pictureURL; only id and name matter, and the urls are sometimes absent.
        for _, fields in _tsv_lines_min(artists, 2):
            items.append(Item(id=fields[0].strip(), title=fields[1].strip(), kind="artist"))
    return inter, items


def _tsv_lines_min(path: Path, width: int) -> Iterator[tuple[int, list[str]]]:
    """Rows of a headed TSV with at least `width` fields (extra ones are ignored)."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            lines = handle.read().splitlines()
    except UnicodeDecodeError:
        raise FormatError.at(path, None, "not utf-8 text") from None
    for line_no, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if not line.strip():
            continue
        if len(fields) < width:
            raise FormatError.at(path, line_no, f"expected {width} or more tab-separated fields")
        yield line_no, fields


def _read_360k(file: Path) -> tuple[Interactions, list[Item]]:
    cols = _Columns(file)
    names: dict[str, str] = {}
    for line, (user, mbid, artist, plays) in _tsv_lines(file, 4, header=False):
        artist = artist.strip()
        item = mbid.strip() or artist
        if not item:
            raise FormatError.at(file, line, "empty artist id and name")
        cols.add(line, user.strip(), item, plays.strip(), None)
        names.setdefault(item, artist or item)
    inter = cols.build()
    return inter, [Item(id=i, title=t, kind="artist") for i, t in names.items()]


def _read_1k(file: Path) -> tuple[Interactions, list[Item]]:
    cols = _Columns(file)
    names: dict[str, str] = {}
    for line, (user, stamp, mbid, artist, _track_id, _track) in _tsv_lines(file, 6, header=False):
        artist = artist.strip()
        item = mbid.strip() or artist
        if not item:
            raise FormatError.at(file, line, "empty artist id and name")
        cols.add(line, user.strip(), item, None, str(_iso_seconds(file, line, stamp.strip())))
        names.setdefault(item, artist or item)
    inter = cols.build().dedupe("sum")
    return inter, [Item(id=i, title=t, kind="artist") for i, t in names.items()]


def _iso_seconds(path: Path, line: int, text: str) -> int:
    try:
        return math.floor(datetime.fromisoformat(text).timestamp())
    except ValueError:
        raise FormatError.at(path, line, f"timestamp {text!r} is not an ISO date") from None


# --- one entry point ------------------------------------------------------------------------


def read_log(
    source: str | Path,
    *,
    format: SourceFormat = "auto",
    items: str | Path | None = None,
) -> tuple[Interactions, list[Item], UserAttributes]:
    """Load any supported source; `format="auto"` recognises it by folder contents or suffix.

    `items` names a catalogue file (see `read_items`) that replaces whatever the source had.
    """
    if format not in FORMATS:
        raise SoundstageError(f"unknown format {format!r}", hint="use " + ", ".join(FORMATS))
    source = Path(source)
    if not source.exists():
        raise FormatError.at(source, None, "no such file or folder")
    kind = _detect(source) if format == "auto" else format
    users: UserAttributes = {}
    catalogue: list[Item] = []
    if kind == "movielens":
        inter, catalogue, users = read_movielens(source)
    elif kind == "lastfm":
        inter, catalogue = read_lastfm(source)
    elif kind == "export":
        inter, catalogue, users = _read_export(source)
    elif kind == "parquet":
        inter = read_parquet(_single_file(source, "parquet"))
    else:
        inter = read_csv(_single_file(source, "csv"))
    if items is not None:
        catalogue = read_items(items)
    return inter, catalogue, users


def _detect(source: Path) -> str:
    if source.is_dir():
        if any((source / f).is_file() for f in MOVIELENS_FILES):
            return "movielens"
        if any((source / f).is_file() for f in LASTFM_FILES):
            return "lastfm"
        if (source / "log.csv").is_file():
            return "export"
        raise FormatError.at(
            source,
            None,
            "not a MovieLens folder (u.data, ratings.csv or ratings.dat), a Last.fm folder "
            f"({', '.join(LASTFM_FILES)}) or a folder from `recommend import` (log.csv)",
        )
    elif source.name in LASTFM_FILES:
        return "lastfm"
    elif source.suffix.lower() in PARQUET_SUFFIXES:
        return "parquet"
    elif source.suffix.lower() in CSV_SUFFIXES:
        return "csv"
    raise FormatError.at(source, None, "unrecognised source", hint="accepts " + ACCEPTS)


def _single_file(source: Path, kind: str) -> Path:
    if source.is_dir():
        raise FormatError.at(source, None, f"is a folder; --format {kind} needs a file")
    return source


def _read_export(folder: Path) -> tuple[Interactions, list[Item], UserAttributes]:
    """The folder `recommend import` writes: log.csv, items.csv, users.csv (last two optional)."""
    inter = read_csv(folder / "log.csv")
    items = read_items(folder / "items.csv") if (folder / "items.csv").is_file() else []
    users = read_users(folder / "users.csv") if (folder / "users.csv").is_file() else {}
    return inter, items, users


def read_users(path: str | Path) -> UserAttributes:
    """users.csv (`user_id` plus any attribute columns, as `recommend import` writes it)."""
    users: UserAttributes = {}
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            user_id = (row.pop("user_id", "") or "").strip()
            if user_id:
                users[user_id] = {k: v or "" for k, v in row.items() if k is not None}
    return users
