# ruff: noqa: E501  (logline data and table rows)
"""Screenplay quality across loglines: drama-lm vs the default writer vs human scripts.

For each logline (20 of our own, across genres) and each backend, `produce` writes the
script (no music, no gate) and `script.language` measures it: non-word rate, archaic rate,
logline coverage, action share, scenes per page, distinct voices, plus loops from
`evaluate`, seconds and tokens/s. Human-written modern Fountain scripts from
../shared/data/script/ebscreenplays are measured the same way as the reference.

    python benchmarks/bench_screenplay_quality.py --minutes 5 --models embedded,local
    python benchmarks/bench_screenplay_quality.py --limit 4 --minutes 2   # a quick subset
    python benchmarks/bench_screenplay_quality.py --models local --limit 3 --minutes 10 --keep runs/read

Prints a markdown table per backend (means over loglines) and writes --json if given.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from soundstage.backends import load_backend
from soundstage.produce import produce
from soundstage.script.evaluate import evaluate
from soundstage.script.formats.fountain import read_fountain
from soundstage.script.render import render
from soundstage.script.types import Controls

LOGLINES: list[tuple[str, str]] = [
    (
        "A retired lighthouse keeper discovers that a smuggler has stolen the great lens of her lighthouse.",
        "thriller",
    ),
    (
        "Two rival food-truck owners are forced to share one parking spot for a whole summer.",
        "comedy",
    ),
    (
        "A night nurse suspects that the new doctor on her ward is not who he claims to be.",
        "mystery",
    ),
    ("A teenage chess prodigy must beat her estranged father to win a scholarship.", "drama"),
    (
        "An astronaut stranded on Mars teaches the station robot to cook her grandmother's recipes.",
        "sci-fi",
    ),
    (
        "A small-town baker enters a national contest to save the family bakery from a developer.",
        "family",
    ),
    (
        "A burned-out detective and a rookie hacker chase a thief who steals only paintings of the sea.",
        "action",
    ),
    (
        "A shy librarian falls for the man who keeps returning overdue books about volcanoes.",
        "romance",
    ),
    ("A family moves into a farmhouse where the radio plays messages from next week.", "horror"),
    ("A young witch must pass her final exam without the magic she secretly lost.", "fantasy"),
    ("A rancher's daughter stands up to the mining company that poisoned the river.", "western"),
    ("A wedding singer loses his voice the night before the biggest gig of his career.", "comedy"),
    ("A war photographer returns home and cannot stop photographing her quiet suburb.", "drama"),
    (
        "A ferry captain must get forty passengers across a strait before the storm closes in.",
        "thriller",
    ),
    (
        "Two elderly neighbours start a podcast to solve the disappearance of the street's cat.",
        "comedy",
    ),
    (
        "A translator at a peace summit realises one delegate is lying in every language.",
        "thriller",
    ),
    ("A robot vacuum gains awareness and tries to warn its family about a gas leak.", "sci-fi"),
    ("A widowed beekeeper teaches a troubled boy from the city to care for the hives.", "drama"),
    (
        "A mountain rescue volunteer is trapped with the climber she blames for her brother's death.",
        "drama",
    ),
    (
        "A failing magician discovers that his tricks now work for real, but only on Tuesdays.",
        "fantasy",
    ),
]


def measure_file(path: Path) -> dict[str, object]:
    doc = read_fountain(path)
    ev = evaluate(doc)
    out = dict(ev.language.__dict__)
    out["loops"] = ev.loops.loops
    out["pages"] = ev.pages
    return out


def run_one(
    spec: str, logline: str, genre: str, minutes: float, seed: int, keep: Path | None = None
) -> dict[str, object]:
    with load_backend(spec) as backend, tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = produce(
            logline,
            keep or Path(tmp) / "out",
            backend,
            Controls(genre=genre, minutes=minutes),
            seed=seed,
            score=False,
            gate="off",
        )
        seconds = time.perf_counter() - start
        doc = render(result.screenplay)
        ev = evaluate(doc, result.screenplay)
        out = dict(ev.language.__dict__)
        out.update(
            loops=ev.loops.loops, pages=ev.pages, seconds=seconds, title=result.screenplay.title
        )
        out["cast"] = [c.name for c in result.screenplay.characters]
        return out


def mean(rows: list[dict[str, object]], key: str) -> float | None:
    vals = [float(r[key]) for r in rows if r.get(key) is not None]  # type: ignore[arg-type]
    return statistics.fmean(vals) if vals else None


def table(name: str, rows: list[dict[str, object]]) -> str:
    keys = [
        "non_word_rate",
        "archaic_rate",
        "logline_coverage",
        "action_share",
        "scenes_per_page",
        "distinct_voices",
        "loops",
        "pages",
        "seconds",
    ]
    cells = []
    for k in keys:
        m = mean(rows, k)
        cells.append(
            "–"
            if m is None
            else f"{m:.3f}"
            if k.endswith(("rate", "coverage", "share", "voices"))
            else f"{m:.1f}"
        )
    return f"| {name} | {len(rows)} | " + " | ".join(cells) + " |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="embedded,local")
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--limit", type=int, default=len(LOGLINES))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--keep", type=Path, help="keep each script in KEEP/<model>-<n>/ to read")
    args = ap.parse_args()
    results: dict[str, list[dict[str, object]]] = {}
    human = Path(__file__).resolve().parents[2] / "shared" / "data" / "script" / "ebscreenplays"
    if human.exists():
        results["human (ebscreenplays)"] = [
            measure_file(p) for p in sorted(human.glob("*.fountain"))
        ]
    for spec in args.models.split(","):
        rows = []
        for n, (logline, genre) in enumerate(LOGLINES[: args.limit], 1):
            keep = args.keep / f"{spec.replace(':', '_')}-{n:02d}" if args.keep else None
            row = run_one(spec, logline, genre, args.minutes, args.seed, keep)
            row["logline"] = logline
            nw = row["non_word_rate"]
            print(
                f"{spec:9} {row['seconds']:6.1f}s  non-words {'-' if nw is None else f'{nw:.3f}'}  "
                f"archaic {row['archaic_rate']:.3f}  cov {row['logline_coverage']:.2f}  "
                f"action {row['action_share']:.2f}  voices {row['distinct_voices']:.2f}  "
                f"{row['title']!r}  {row['cast']}",
                flush=True,
            )
            rows.append(row)
        results[spec] = rows
        casts = [tuple(r["cast"]) for r in rows]  # type: ignore[arg-type]
        print(f"{spec}: {len(set(casts))} distinct casts for {len(casts)} loglines")
    print(
        "\n| writer | scripts | non-words | archaic | logline coverage | action share | scenes/page | distinct voices | loops | pages | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, rows in results.items():
        print(table(name, rows))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
