"""The realism anchors on JSB chorales: what mean OA real music and random music get.

    python benchmarks/music_realism_anchors.py [--jsb-dir DIR] [--seed 0] [--json]

The reference is the JSB train split (229 chorales, converted at 90 bpm like the corpus cache).
Compared sets: the test split (77, real: the upper anchor), the valid split (76, real), the
test split with every pitch redrawn uniformly in its voice's range (same rhythm), and fully
random 4-voice notes as long as each test chorale (the lower anchor). A generated set is
readable only between these rows: the notes put real ≈ .93, random pitches ≈ .46 and fully
random ≈ .16. Prints the JSON (every metric of every row, and timings), then the markdown
summary and per-metric tables for docs/benchmarks.md; --json prints the JSON only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.music import corpus
from soundstage.music.realism import (
    Report,
    compare,
    features,
    random_notes,
    random_pitches,
    summary_table,
)
from soundstage.music.types import Piece, duration


def load_split(jsb_dir: Path, split: str) -> list[Piece]:
    found = corpus.units("jsb_chorales", jsb_dir=jsb_dir)
    return [corpus.load_unit(u, jsb_dir=jsb_dir) for u in found if u.id.startswith(f"{split}-")]


def run(jsb_dir: Path, seed: int) -> tuple[dict[str, Report], dict[str, Any]]:
    began = time.perf_counter()
    train, valid, test = (load_split(jsb_dir, s) for s in ("train", "valid", "test"))
    loaded = time.perf_counter()
    rng = np.random.default_rng(seed)
    sets = {
        f"JSB train ({len(train)}) → JSB test ({len(test)}), real": test,
        f"JSB train → JSB valid ({len(valid)}), real": valid,
        "JSB train → test rhythm + random pitches in each voice's range": [
            random_pitches(p, rng) for p in test
        ],
        "JSB train → fully random 4-voice notes (test lengths)": [
            random_notes(4, duration(p), rng) for p in test
        ],
    }
    reference = [features(p) for p in train]
    featured = {label: [features(p) for p in pieces] for label, pieces in sets.items()}
    measured = time.perf_counter()
    reports = {label: compare(reference, rows) for label, rows in featured.items()}
    done = time.perf_counter()
    pieces = len(train) + sum(len(rows) for rows in featured.values())
    timing = {
        "load_s": round(loaded - began, 2),
        "features_s": round(measured - loaded, 2),
        "pieces_featured": pieces,
        "compare_s": round(done - measured, 2),
        "total_s": round(done - began, 2),
        "seed": seed,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }
    return reports, timing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jsb-dir", type=Path, default=corpus.SHARED_JSB)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the JSON only")
    args = parser.parse_args()
    if not (args.jsb_dir / corpus.JSB_FILE).exists():
        parser.error(f"no {corpus.JSB_FILE} in {args.jsb_dir}")
    reports, timing = run(args.jsb_dir, args.seed)
    result = {"timing": timing, "anchors": {k: r.to_dict() for k, r in reports.items()}}
    print(json.dumps(result, indent=1))
    if args.json:
        return
    print("\n" + summary_table(reports))
    for label, report in reports.items():
        print(f"\n**{label}**\n\n{report.table()}")
    print(f"\n{timing}")


if __name__ == "__main__":
    main()
