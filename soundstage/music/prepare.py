"""Prepare music training data: corpus → MIDI cache → tokens → train/val arrays.

    python -m soundstage.music.prepare --out runs/music_data [--limit N] [--workers 2]

Writes into --out: `cache/` (the MIDI cache and its manifest.json, reused on the next run),
`tokenizer.json` (miditok JSON), `train.npy` / `val.npy` (uint16 ids, pieces back to back),
`train_offsets.npy` / `val_offsets.npy` (int64, piece i is ids[off[i]:off[i+1]], so a trainer
draws windows inside one piece and never across a boundary), and `meta.json`.

The split is **by piece**: a piece goes to val when a hash of its id falls under
`val_fraction`, so it is stable across runs and limits and no piece is in both splits. JSB
chorales keep the Boulanger-Lewandowski split (valid/test → val). The music21 Bach chorales are
not in the default mix (`TRAINING_SOURCES`): they duplicate the JSB set.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.datasets import check_sources
from soundstage.errors import FormatError, SoundstageError
from soundstage.music.corpus import TRAINING_SOURCES, build_cache, cached_piece, default_workers
from soundstage.music.midi_io import atomic_write_bytes
from soundstage.music.tokens import MusicTokenizer, conditions


def split_of(entry: dict[str, Any], val_fraction: float = 0.1) -> str:
    """ "train" or "val" for one manifest entry; a pure function of its source and id."""
    if entry["source"] == "jsb_chorales":
        return "train" if str(entry["id"]).startswith("train-") else "val"
    digest = hashlib.sha1(f"{entry['source']}/{entry['id']}".encode()).digest()
    return "val" if int.from_bytes(digest[:8], "big") / 2**64 < val_fraction else "train"


def prepare(
    out: Path,
    *,
    limit: int | None = None,
    workers: int = 1,
    sources: tuple[str, ...] = TRAINING_SOURCES,
    val_fraction: float = 0.1,
    cache: Path | None = None,
    log: Any = print,
) -> dict[str, Any]:
    check_sources(sources)  # registry: opt-outs and licences (shipped weights)
    began = time.perf_counter()
    cache = cache if cache is not None else out / "cache"
    manifest = build_cache(cache, sources=sources, limit=limit, workers=workers, log=log)
    convert_s = time.perf_counter() - began

    tok = MusicTokenizer()
    ids: dict[str, list[np.ndarray]] = {"train": [], "val": []}
    names: dict[str, list[str]] = {"train": [], "val": []}
    tokens_by_source: Counter[str] = Counter()
    quadrants: Counter[str] = Counter()
    unreadable: list[str] = []
    t0 = time.perf_counter()
    for entry in manifest["pieces"]:
        try:
            piece = cached_piece(cache, entry)
        except FormatError as exc:
            unreadable.append(str(exc))
            continue
        cond = conditions(piece)
        seq = np.asarray(tok.encode(piece, cond), dtype=np.uint16)
        part = split_of(entry, val_fraction)
        ids[part].append(seq)
        names[part].append(f"{entry['source']}/{entry['id']}")
        tokens_by_source[entry["source"]] += int(seq.size)
        quadrants[cond.emotion] += 1
    tokenize_s = time.perf_counter() - t0

    out.mkdir(parents=True, exist_ok=True)
    tok.save(out / "tokenizer.json")
    counts: dict[str, Any] = {}
    for part in ("train", "val"):
        arrays = ids[part]
        lengths = [a.size for a in arrays]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        flat = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.uint16)
        np.save(out / f"{part}.npy", flat)
        np.save(out / f"{part}_offsets.npy", offsets)
        counts[part] = {"pieces": len(arrays), "tokens": int(flat.size)}
    meta: dict[str, Any] = {
        "vocab_size": len(tok),
        "dtype": "uint16",
        "limit": limit,
        "splits": counts,
        "pieces": names,
        "tokens_by_source": dict(tokens_by_source),
        "emotion_quadrants": dict(sorted(quadrants.items())),
        "corpus": manifest["counts"],
        "licences": manifest["licences"],
        "unreadable": unreadable,
        "seconds": {
            "convert": round(convert_s, 1),
            "tokenize": round(tokenize_s, 1),
            "total": round(time.perf_counter() - began, 1),
        },
    }
    atomic_write_bytes(out / "meta.json", (json.dumps(meta, indent=1) + "\n").encode())
    return meta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/music_data"))
    parser.add_argument("--limit", type=int, default=None, help="pieces per source (tests, trials)")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--val-fraction", type=float, default=0.1)
    args = parser.parse_args(argv)
    try:
        meta = prepare(
            args.out, limit=args.limit, workers=args.workers, val_fraction=args.val_fraction
        )
    except SoundstageError as exc:
        raise SystemExit(f"error: {exc}") from None
    summary = {k: meta[k] for k in ("vocab_size", "splits", "emotion_quadrants", "seconds")}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
