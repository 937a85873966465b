"""User–item interactions: one in-memory type and the loaders that fill it.

Every model and metric works on `Interactions`: parallel numpy arrays of row indices plus the
external ids in index order, so the sparse user × item matrix is one call away and results can
be mapped back to the ids a user knows. Loaders check each row and fail with a one-line
`path:line: what` error rather than a traceback deep inside numpy.

Duplicate (user, item) events are kept as separate events: a rating history or a play log
legitimately repeats pairs. `Interactions.matrix()` sums them; `Interactions.dedupe()` keeps
one per pair ("last" by timestamp, "max" value or "sum") when a model wants that instead.

Id order: ids are sorted (numerically when every id is an integer), so MovieLens user 1 is
row 0 and the same file always gives the same indices.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import scipy.sparse as sp

from soundstage.errors import FormatError
from soundstage.fileio import replacing

DedupePolicy = Literal["last", "max", "sum"]

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip

_YEAR = re.compile(r"\((\d{4})(?:\s*[-–]\s*\d{0,4})?\)\s*$")


@dataclass(frozen=True)
class Interactions:
    """Events as parallel arrays; `users`/`items` index into `user_ids`/`item_ids`."""

    users: np.ndarray
    items: np.ndarray
    values: np.ndarray
    timestamps: np.ndarray
    user_ids: tuple[str, ...]
    item_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        for name, dtype in (
            ("users", np.int32),
            ("items", np.int32),
            ("values", np.float32),
            ("timestamps", np.int64),
        ):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=dtype))
        n = len(self.users)
        if not len(self.items) == len(self.values) == len(self.timestamps) == n:
            raise ValueError("users, items, values and timestamps must have the same length")
        if n and (self.users.min() < 0 or self.users.max() >= len(self.user_ids)):
            raise ValueError("user index out of range")
        if n and (self.items.min() < 0 or self.items.max() >= len(self.item_ids)):
            raise ValueError("item index out of range")

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def __len__(self) -> int:
        return len(self.users)

    def matrix(self) -> sp.csr_matrix:
        """Users × items CSR matrix; duplicate events are summed."""
        shape = (self.n_users, self.n_items)
        coo = sp.coo_matrix((self.values, (self.users, self.items)), shape=shape)
        csr = coo.tocsr()
        csr.sum_duplicates()
        return csr

    def subset(self, mask: np.ndarray) -> Interactions:
        """The events selected by a boolean mask or an index array; same id space."""
        return Interactions(
            self.users[mask],
            self.items[mask],
            self.values[mask],
            self.timestamps[mask],
            self.user_ids,
            self.item_ids,
        )

    def with_values(self, values: np.ndarray) -> Interactions:
        return Interactions(
            self.users, self.items, values, self.timestamps, self.user_ids, self.item_ids
        )

    def with_index(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> Reindexed:
        """Re-index onto another id space (e.g. a train file's), dropping unknown ids."""
        user_pos = {u: i for i, u in enumerate(user_ids)}
        item_pos = {t: i for i, t in enumerate(item_ids)}
        user_map = np.array([user_pos.get(u, -1) for u in self.user_ids], dtype=np.int64)
        item_map = np.array([item_pos.get(t, -1) for t in self.item_ids], dtype=np.int64)
        users = user_map[self.users] if len(self) else np.zeros(0, np.int64)
        items = item_map[self.items] if len(self) else np.zeros(0, np.int64)
        keep = (users >= 0) & (items >= 0)
        inter = Interactions(
            users[keep],
            items[keep],
            self.values[keep],
            self.timestamps[keep],
            tuple(user_ids),
            tuple(item_ids),
        )
        return Reindexed(
            inter,
            dropped_events=int((~keep).sum()),
            unknown_users=int((user_map < 0).sum()),
            unknown_items=int((item_map < 0).sum()),
        )

    def dedupe(self, policy: DedupePolicy = "last") -> Interactions:
        """One event per (user, item): the latest ("last"), the highest value, or the sum."""
        if policy not in ("last", "max", "sum"):
            raise ValueError(f"unknown dedupe policy {policy!r}")
        if not len(self):
            return self
        pair = self.users.astype(np.int64) * self.n_items + self.items
        secondary = self.values if policy == "max" else self.timestamps
        order = np.lexsort((np.arange(len(self)), secondary, pair))  # stable within ties
        sorted_pair = pair[order]
        starts = np.flatnonzero(np.r_[True, sorted_pair[1:] != sorted_pair[:-1]])
        ends = np.r_[starts[1:], len(order)] - 1
        chosen = self.subset(order[ends])
        if policy != "sum":
            return chosen
        return chosen.with_values(np.add.reduceat(self.values[order], starts))


class Reindexed(NamedTuple):
    """`Interactions.with_index` result: the re-indexed events and what did not fit."""

    inter: Interactions
    dropped_events: int
    unknown_users: int
    unknown_items: int


@dataclass(frozen=True)
class Item:
    """Catalogue entry shown next to a recommendation."""

    id: str
    title: str
    kind: str = "movie"
    genres: tuple[str, ...] = ()
    year: int | None = None
    description: str = ""
    creator: str = ""


@dataclass
class _Columns:
    """Row-by-row accumulator behind every loader."""

    path: object
    users: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    timestamps: list[int] = field(default_factory=list)

    def add(self, line: int, user: str, item: str, value: str | None, ts: str | None) -> None:
        if not user or not item:
            raise FormatError.at(self.path, line, "empty user or item id")
        self.users.append(user)
        self.items.append(item)
        self.values.append(1.0 if value is None else _number(self.path, line, "value", value))
        self.timestamps.append(0 if not ts else _timestamp(self.path, line, ts))

    def build(self) -> Interactions:
        if not self.users:
            raise FormatError.at(self.path, None, "no interactions (the file has no data rows)")
        user_ids, users = _index(self.users)
        item_ids, items = _index(self.items)
        values = np.asarray(self.values, dtype=np.float32)
        stamps = np.asarray(self.timestamps, dtype=np.int64)
        return Interactions(users, items, values, stamps, user_ids, item_ids)


def _number(path: object, line: int, name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise FormatError.at(path, line, f"{name} {text!r} is not a finite number")
    return value


def _timestamp(path: object, line: int, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        value = _number(path, line, "timestamp", text)
        if value != int(value):
            raise FormatError.at(path, line, f"timestamp {text!r} is not an integer") from None
        return int(value)


def sort_key(ids: Iterable[str]) -> list[str]:
    unique = set(ids)
    if all(u.isdigit() for u in unique):
        return sorted(unique, key=int)
    return sorted(unique)


def _index(ids: list[str]) -> tuple[tuple[str, ...], np.ndarray]:
    ordered = sort_key(ids)
    pos = {u: i for i, u in enumerate(ordered)}
    return tuple(ordered), np.fromiter((pos[u] for u in ids), dtype=np.int32, count=len(ids))


# --- generic CSV ----------------------------------------------------------------------------


def _sniff(path: Path, encoding: str) -> str:
    try:
        with open(path, encoding=encoding, newline="") as handle:
            first = handle.readline()
    except UnicodeDecodeError as exc:  # found by benchmarks/fuzz_parsers.py
        raise FormatError.at(path, 1, f"not {encoding} text (byte {exc.start})") from None
    return "\t" if "\t" in first else ","


def read_csv(
    path: str | Path,
    *,
    user: str = "user_id",
    item: str = "item_id",
    value: str = "value",
    timestamp: str = "timestamp",
    delimiter: str | None = None,
    header: bool = True,
    encoding: str = "utf-8",
) -> Interactions:
    """Load `user_id,item_id[,value][,timestamp]`; value 1.0 and timestamp 0 when absent.

    With `header=False` the columns are positional and the first row fixes how many there
    are. `delimiter=None` picks tab when the first line has one, else comma.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError.at(path, None, "no such file")
    sep = delimiter or _sniff(path, encoding)
    cols = _Columns(path)
    with open(path, encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=sep)
        rows = ((reader.line_num, r) for r in reader if r)
        try:
            _fill(cols, rows, path, header, (user, item, value, timestamp))
        except UnicodeDecodeError as exc:
            raise FormatError.at(path, reader.line_num + 1, f"not {encoding} text") from exc
        except csv.Error as exc:
            raise FormatError.at(path, reader.line_num, f"bad CSV: {exc}") from exc
    return cols.build()


def _fill(
    cols: _Columns,
    rows: Iterator[tuple[int, list[str]]],
    path: Path,
    header: bool,
    names: tuple[str, str, str, str],
) -> None:
    first = next(rows, None)
    if first is None:
        return
    if header:
        where = _header_positions(path, first[0], first[1], names)
        width = len(first[1])
    else:
        width = len(first[1])
        if not 2 <= width <= 4:
            raise FormatError.at(path, first[0], f"expected 2 to 4 fields, got {width}")
        where = (0, 1, 2 if width > 2 else None, 3 if width > 3 else None)
        rows = _chain(first, rows)
    u, i, v, t = where
    for line, row in rows:
        if len(row) != width:
            raise FormatError.at(path, line, f"expected {width} fields, got {len(row)}")
        cols.add(
            line,
            row[u].strip(),
            row[i].strip(),
            None if v is None else row[v].strip(),
            None if t is None else row[t].strip(),
        )


def _chain(
    first: tuple[int, list[str]], rest: Iterator[tuple[int, list[str]]]
) -> Iterator[tuple[int, list[str]]]:
    yield first
    yield from rest


def _header_positions(
    path: Path, line: int, row: list[str], names: tuple[str, str, str, str]
) -> tuple[int, int, int | None, int | None]:
    fields = [f.strip().lstrip("\ufeff") for f in row]
    for required in names[:2]:
        if required not in fields:
            raise FormatError.at(
                path, line, f"missing column {required!r} (header: {','.join(fields)})"
            )

    def pos(name: str) -> int | None:
        return fields.index(name) if name in fields else None

    return fields.index(names[0]), fields.index(names[1]), pos(names[2]), pos(names[3])


def write_csv(path: str | Path, inter: Interactions) -> None:
    """Write `user_id,item_id,value,timestamp` with external ids, atomically."""
    path = Path(path)
    with replacing(path) as tmp:
        with open(tmp, "x", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["user_id", "item_id", "value", "timestamp"])
            for u, i, v, t in zip(
                inter.users.tolist(),
                inter.items.tolist(),
                inter.values,
                inter.timestamps.tolist(),
                strict=True,
            ):
                writer.writerow([inter.user_ids[u], inter.item_ids[i], str(v), t])


def genre_matrix(items: Iterable[Item], item_ids: Sequence[str]) -> np.ndarray:
    """Items × genres 0/1 float32 matrix aligned with `item_ids` (no columns if no genres).

    The item features for intra-list diversity, and a genre-only content baseline.
    """
    items = list(items)
    genres = sorted({g for item in items for g in item.genres})
    column = {g: j for j, g in enumerate(genres)}
    by_id = {item.id: item for item in items}
    F = np.zeros((len(item_ids), len(genres)), dtype=np.float32)
    for i, item_id in enumerate(item_ids):
        for g in by_id[item_id].genres if item_id in by_id else ():
            F[i, column[g]] = 1.0
    return F


def to_implicit(inter: Interactions, *, min_value: float = 4.0) -> Interactions:
    """Keep events with value ≥ `min_value` as positives of value 1.0; same id space."""
    kept = inter.subset(inter.values >= min_value)
    return kept.with_values(np.ones(len(kept), dtype=np.float32))


# --- MovieLens ------------------------------------------------------------------------------

UserAttributes = dict[str, dict[str, str]]


def read_movielens(folder: str | Path) -> tuple[Interactions, list[Item], UserAttributes]:
    """Load a MovieLens folder: 100K (`u.data`), 1M (`ratings.dat`) or latest/20M/25M.

    The interactions' item space is the rated items; the item list is the whole catalogue.
    """
    folder = Path(folder)
    if (folder / "u.data").is_file():
        return _read_ml100k(folder)
    if (folder / "ratings.csv").is_file():
        return _read_ml_latest(folder)
    if (folder / "ratings.dat").is_file():
        return _read_ml1m(folder)
    raise FormatError.at(
        folder, None, "not a MovieLens folder", hint="expected u.data, ratings.csv or ratings.dat"
    )


def year_of(title: str) -> int | None:
    """Year from a MovieLens title such as "Toy Story (1995)"; None when absent."""
    match = _YEAR.search(title)
    return int(match.group(1)) if match else None


def _movie(movie_id: str, title: str, genres: Iterable[str]) -> Item:
    title = title.strip()
    kept = tuple(g for g in genres if g and g != "(no genres listed)")
    return Item(id=movie_id, title=title, genres=kept, year=year_of(title))


def _split_lines(
    path: Path, sep: str, width: int, encoding: str
) -> Iterator[tuple[int, list[str]]]:
    with open(path, encoding=encoding, newline="") as handle:
        for line_no, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split(sep)
            if len(fields) != width:
                raise FormatError.at(path, line_no, f"expected {width} fields, got {len(fields)}")
            yield line_no, fields


def _ratings(path: Path, sep: str, encoding: str) -> Interactions:
    cols = _Columns(path)
    for line, (u, i, v, t) in _split_lines(path, sep, 4, encoding):
        cols.add(line, u.strip(), i.strip(), v.strip(), t.strip())
    return cols.build()


def _read_ml100k(folder: Path) -> tuple[Interactions, list[Item], UserAttributes]:
    inter = _ratings(folder / "u.data", "\t", "latin-1")
    genres: tuple[str, ...] = ML100K_GENRES
    if (folder / "u.genre").is_file():
        genres = tuple(f[0] for _, f in _split_lines(folder / "u.genre", "|", 2, "latin-1"))
    items = []
    if (folder / "u.item").is_file():
        for _, f in _split_lines(folder / "u.item", "|", 5 + len(genres), "latin-1"):
            flags = f[5:]
            items.append(
                _movie(f[0], f[1], (g for g, x in zip(genres, flags, strict=True) if x == "1"))
            )
    users: UserAttributes = {}
    if (folder / "u.user").is_file():
        for _, f in _split_lines(folder / "u.user", "|", 5, "latin-1"):
            users[f[0]] = dict(zip(("age", "gender", "occupation", "zip"), f[1:], strict=True))
    return inter, items, users


def _read_ml_latest(folder: Path) -> tuple[Interactions, list[Item], UserAttributes]:
    inter = read_csv(
        folder / "ratings.csv", user="userId", item="movieId", value="rating", delimiter=","
    )
    items = []
    movies = folder / "movies.csv"
    if movies.is_file():
        with open(movies, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            for row in reader:
                if not row:
                    continue
                if len(row) != 3:
                    raise FormatError.at(
                        movies, reader.line_num, f"expected 3 fields, got {len(row)}"
                    )
                items.append(_movie(row[0], row[1], row[2].split("|")))
    return inter, items, {}


def _read_ml1m(folder: Path) -> tuple[Interactions, list[Item], UserAttributes]:
    inter = _ratings(folder / "ratings.dat", "::", "latin-1")
    items = []
    if (folder / "movies.dat").is_file():
        for _, f in _split_lines(folder / "movies.dat", "::", 3, "latin-1"):
            items.append(_movie(f[0], f[1], f[2].split("|")))
    users: UserAttributes = {}
    if (folder / "users.dat").is_file():
        for _, f in _split_lines(folder / "users.dat", "::", 5, "latin-1"):
            users[f[0]] = dict(zip(("gender", "age", "occupation", "zip"), f[1:], strict=True))
    return inter, items, users
