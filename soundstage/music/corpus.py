"""Convert the public-domain corpora to a MIDI cache, once.

    cache/<source>/<id>.mid        the piece (title, source and licence inside as markers)
    cache/<source>/<id>.json       its manifest entry (written after the .mid)
    cache/<source>/<id>.fail.json  why it could not be converted (counted, not retried)
    cache/manifest.json            every piece + per-source counts, failure reasons and seconds

Sources (`SOURCES`): the music21 package corpus (Bach chorales from
`music21.corpus.chorales.Iterator()`, O'Neill's 1850, Ryan's Mammoth, Aird's Airs) and the JSB
chorales JSON in ../shared/data/music/jsb_chorales. **essenFolksong is never read**: its ABC
transcriptions are licensed for non-commercial use only, and our weights ship. Nottingham (GPLv3)
is evaluation-only and is not a source here either.

music21 parses a whole ABC book at once and slowly (~0.2 s a tune), so each ABC book is split at
its `X:` lines and every tune is one unit of work: conversion is resumable (existing .json /
.fail.json are skipped), parallel-safe (each unit writes only its own files, atomically; two
processes converting the same cache write identical bytes), and `limit` takes the first N units
of each source so tests convert three pieces in a second or two. Repeats are not expanded.
"""

from __future__ import annotations

import functools
import json
import math
import multiprocessing
import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from soundstage.music.midi_io import atomic_write_bytes, read_midi, write_midi
from soundstage.music.types import Note, Piece, Track, duration

SHARED_JSB = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "music" / "jsb_chorales"
)

ABC_BOOKS = ("oneills1850", "ryansMammoth", "airdsAirs")
SOURCES = ("bach_chorales", *ABC_BOOKS, "jsb_chorales")
# The music21 Bach chorales and the JSB chorales are largely the same ~370 pieces; training on
# both would put copies of validation chorales into the training split. JSB keeps its published
# split, so it is the one we train on.
TRAINING_SOURCES = (*ABC_BOOKS, "jsb_chorales")
EXCLUDED = ("essenFolksong",)  # non-commercial licence: never converted
LICENCES = {
    "bach_chorales": "public domain (J.S. Bach); music21 corpus encoding, BSD-3 package",
    "oneills1850": "public domain (O'Neill's Music of Ireland, 1850 ed.); music21 corpus",
    "ryansMammoth": "public domain (Ryan's Mammoth Collection, 1883); music21 corpus",
    "airdsAirs": "public domain (Aird's Selection of Airs, 1782-1803); music21 corpus",
    "jsb_chorales": "public domain (J.S. Bach); cite Boulanger-Lewandowski et al. 2012",
}
JSB_BPM = 90.0  # the JSB rolls carry no tempo; a 16th step is 60 / 90 / 4 s
JSB_FILE = "Jsb16thSeparated.json"


@dataclass(frozen=True)
class Unit:
    """One piece to convert: `loc` is a music21 corpus path, "book.abc#n" or "split#n"."""

    source: str
    id: str
    loc: str


# --- enumerating units ------------------------------------------------------------------------


def _music21_corpus_dir() -> Path:
    import music21

    return Path(music21.__file__).parent / "corpus"


def _abc_tunes(text: str) -> tuple[str, list[str]]:
    """(file header, tunes) of an ABC book; each tune starts at its `X:` line."""
    starts = [m.start() for m in re.finditer(r"^X:", text, flags=re.MULTILINE)]
    if not starts:
        return text, []
    ends = starts[1:] + [len(text)]
    return text[: starts[0]], [text[s:e] for s, e in zip(starts, ends, strict=True)]


def units(source: str, *, jsb_dir: Path = SHARED_JSB, limit: int | None = None) -> list[Unit]:
    if source in EXCLUDED or source not in SOURCES:
        raise ValueError(f"unknown or excluded source {source!r}; known: {', '.join(SOURCES)}")
    found: list[Unit] = []
    if source == "bach_chorales":
        from music21 import corpus

        for name in corpus.chorales.Iterator(returnType="filename"):
            found.append(Unit(source, str(name).replace("/", "-"), str(name)))
            if limit is not None and len(found) >= limit:
                break
    elif source in ABC_BOOKS:
        for book in sorted((_music21_corpus_dir() / source).glob("*.abc")):
            _, tunes = _abc_tunes(book.read_text(encoding="utf-8", errors="replace"))
            for n in range(len(tunes)):
                found.append(Unit(source, f"{book.stem}-{n:04d}", f"{book.name}#{n}"))
                if limit is not None and len(found) >= limit:
                    return found
    else:
        path = jsb_dir / JSB_FILE
        if not path.exists():
            return []
        data = _jsb_data(jsb_dir)
        for split in ("train", "valid", "test"):
            for n in range(len(data.get(split, []))):
                found.append(Unit(source, f"{split}-{n:03d}", f"{split}#{n}"))
    return found[:limit] if limit is not None else found


# --- converting one unit ----------------------------------------------------------------------


def _key_name(stream: Any) -> str:
    from music21 import key as m21key

    ks = stream.recurse().getElementsByClass(m21key.KeySignature).first()
    if ks is None:
        return ""
    k = ks if isinstance(ks, m21key.Key) else ks.asKey("major")
    mode = k.mode if k.mode in {"major", "minor"} else "major"
    return f"{k.tonic.name} {mode}"


def piece_from_music21(stream: Any, *, source: str, title: str = "") -> Piece:
    """A Piece from a music21 Score/Part: ties merged, grace notes dropped, first tempo/metre."""
    from music21 import meter, tempo

    bounds = stream.metronomeMarkBoundaries()
    mark = bounds[0][2] if bounds else tempo.MetronomeMark(number=120)
    bpm = float(mark.getQuarterBPM() or 120.0)
    bpm = min(max(bpm, 30.0), 300.0)
    ts = stream.recurse().getElementsByClass(meter.TimeSignature).first()
    metre = (int(ts.numerator), int(ts.denominator)) if ts is not None else (4, 4)
    seconds_per_quarter = 60.0 / bpm
    parts = list(stream.parts) if hasattr(stream, "parts") and stream.parts else [stream]
    tracks = []
    for part in parts:
        flat = part.stripTies().flatten()
        notes = []
        for el in flat.notes:
            ql = float(el.duration.quarterLength)
            if ql <= 0:
                continue  # grace notes
            start = float(el.offset) * seconds_per_quarter
            velocity = el.volume.velocity if el.volume.velocity else 80
            for p in el.pitches:
                if 0 <= p.midi <= 127:
                    notes.append(Note(p.midi, start, start + ql * seconds_per_quarter, velocity))
        if notes:
            tracks.append(Track(0, False, str(part.partName or ""), tuple(notes)))
    name = title or (stream.metadata.title if stream.metadata and stream.metadata.title else "")
    return Piece(
        tuple(tracks),
        tempo_bpm=bpm,
        time_signature=metre,
        key=_key_name(stream),
        title=str(name),
        source=source,
        licence=LICENCES[source],
    )


def piece_from_jsb(steps: Sequence[Sequence[float]], *, title: str) -> Piece:
    """Four SATB voices per 16th step (−1/NaN = rest); repeated pitches merge into one note."""
    step = 60.0 / JSB_BPM / 4
    voices: list[list[Note]] = [[], [], [], []]
    for v in range(4):
        current, begin = -1, 0
        for t, frame in enumerate([*steps, [-1, -1, -1, -1]]):
            raw = frame[v] if v < len(frame) else -1
            pitch = -1 if raw is None or (isinstance(raw, float) and math.isnan(raw)) else int(raw)
            if pitch != current:
                if current >= 0:
                    voices[v].append(Note(current, begin * step, t * step, 80))
                current, begin = pitch, t
    names = ("Soprano", "Alto", "Tenor", "Bass")
    tracks = tuple(Track(0, False, names[v], tuple(voices[v])) for v in range(4) if voices[v])
    return Piece(tracks, JSB_BPM, (4, 4), "", title, "jsb_chorales", LICENCES["jsb_chorales"])


@functools.lru_cache(maxsize=2)
def _jsb_data(jsb_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((jsb_dir / JSB_FILE).read_text(encoding="utf-8"))
    return data


def load_unit(unit: Unit, *, jsb_dir: Path = SHARED_JSB) -> Piece:
    if unit.source == "bach_chorales":
        from music21 import corpus

        stream = corpus.parse(unit.loc)
        return piece_from_music21(stream, source=unit.source, title=unit.loc.split("/")[-1])
    if unit.source in ABC_BOOKS:
        from music21 import converter

        book, _, n = unit.loc.partition("#")
        text = (_music21_corpus_dir() / unit.source / book).read_text("utf-8", errors="replace")
        header, tunes = _abc_tunes(text)
        stream = converter.parse(header + tunes[int(n)], format="abc")
        return piece_from_music21(stream, source=unit.source)
    split, _, n = unit.loc.partition("#")
    data = _jsb_data(jsb_dir)
    return piece_from_jsb(data[split][int(n)], title=f"JSB {split} {n}")


def _paths(cache: Path, unit: Unit) -> tuple[Path, Path, Path]:
    folder = cache / unit.source  # ids may contain dots (bwv153.1): no with_suffix
    return (folder / f"{unit.id}.mid", folder / f"{unit.id}.json", folder / f"{unit.id}.fail.json")


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode())


def convert_unit(unit: Unit, cache: Path, jsb_dir: Path = SHARED_JSB) -> tuple[str, str, float]:
    """Convert one unit unless done; → (source, "ok"|"cached"|"failed: reason", seconds)."""
    mid, entry, fail = _paths(cache, unit)
    if entry.exists() or fail.exists():
        return unit.source, "cached", 0.0
    began = time.perf_counter()
    try:
        piece = load_unit(unit, jsb_dir=jsb_dir)
        if piece.note_count == 0:
            raise ValueError("no notes")
        write_midi(piece, mid)
    except Exception as exc:  # one bad tune must not stop the corpus: record why
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"
        _write_json(fail, {**asdict(unit), "reason": reason})
        return unit.source, f"failed: {type(exc).__name__}", time.perf_counter() - began
    _write_json(
        entry,
        {
            **asdict(unit),
            "path": f"{unit.source}/{unit.id}.mid",
            "title": piece.title,
            "licence": piece.licence,
            "key": piece.key,
            "tempo_bpm": piece.tempo_bpm,
            "time_signature": list(piece.time_signature),
            "seconds": round(duration(piece), 3),
            "notes": piece.note_count,
            "tracks": len(piece.tracks),
        },
    )
    return unit.source, "ok", time.perf_counter() - began


def _convert_star(args: tuple[Unit, Path, Path]) -> tuple[str, str, float]:
    return convert_unit(*args)


def build_cache(
    cache: Path,
    *,
    sources: Iterable[str] = SOURCES,
    limit: int | None = None,
    workers: int = 1,
    jsb_dir: Path = SHARED_JSB,
    log: Any = None,
) -> dict[str, Any]:
    """Convert every source into `cache` (resuming), then write and return manifest.json."""
    cache.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    todo = [u for s in sources for u in units(s, jsb_dir=jsb_dir, limit=limit)]
    stats: dict[str, dict[str, Any]] = {}
    jobs = [(u, cache, jsb_dir) for u in todo]
    if workers > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = list(pool.imap_unordered(_convert_star, jobs, chunksize=4))
    else:
        results = [_convert_star(job) for job in jobs]
    for source, status, seconds in results:
        row = stats.setdefault(source, {"ok": 0, "cached": 0, "failed": Counter(), "cpu_s": 0.0})
        if status.startswith("failed"):
            row["failed"][status.split(": ", 1)[1]] += 1
        else:
            row[status] += 1
        row["cpu_s"] += seconds
    manifest = write_manifest(cache, sources=list(sources), limit=limit)
    manifest["run"] = {
        source: {**row, "failed": dict(row["failed"]), "cpu_s": round(row["cpu_s"], 2)}
        for source, row in stats.items()
    }
    manifest["run_wall_s"] = round(time.perf_counter() - began, 2)
    _write_json(cache / "manifest.json", manifest)
    if log is not None:
        log(f"converted {len(todo)} units in {manifest['run_wall_s']} s: {manifest['counts']}")
    return manifest


def write_manifest(cache: Path, *, sources: list[str], limit: int | None) -> dict[str, Any]:
    """Scan the per-piece files (so concurrent or earlier runs all count) into one manifest."""
    pieces: list[dict[str, Any]] = []
    failures: dict[str, Counter[str]] = {}
    for source in sources:
        folder = cache / source
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            row = json.loads(path.read_text(encoding="utf-8"))
            if path.name.endswith(".fail.json"):
                failures.setdefault(source, Counter())[row["reason"].split(":")[0]] += 1
            elif (cache / row["path"]).exists():
                pieces.append(row)
    counts = {
        s: {
            "pieces": sum(1 for p in pieces if p["source"] == s),
            "failed": sum(failures.get(s, Counter()).values()),
            "failure_reasons": dict(failures.get(s, Counter())),
            "seconds_of_music": round(sum(p["seconds"] for p in pieces if p["source"] == s), 1),
        }
        for s in sources
    }
    return {
        "sources": sources,
        "limit": limit,
        "excluded": list(EXCLUDED),
        "counts": counts,
        "licences": {s: LICENCES[s] for s in sources},
        "pieces": pieces,
    }


def cached_piece(cache: Path, entry: dict[str, Any]) -> Piece:
    return read_midi(cache / entry["path"])


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))
