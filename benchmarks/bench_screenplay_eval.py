"""Produce a screenplay with the embedded model for a few seeds, time it, and evaluate it.

    python benchmarks/bench_screenplay_eval.py [--minutes 10] [--seeds 1 2 3] [--json]

Each seed runs the whole `produce` pipeline in-process (plan, dialogue, export, report) into
a temporary folder and is timed wall-clock; `script.evaluate` then scores the rendered
Document against its Screenplay. The same metrics are given for human-written references
when ../shared/data/script is present: the first 5,000 dialogue tokens of tinyshakespeare
(its `SPEAKER:` turns as cues and speeches) and the two ebscreenplays scripts.

distinct-n falls as text grows, so `d2@N` compares every row at the same length: distinct-2
over the first N dialogue tokens, N the shortest row's count; `d1/d2@G` does the same at G,
the shortest generated script's count, for the rows that long. The notes' reference numbers
are over whole files (cues, action and all); `raw 5k` reproduces tinyshakespeare's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from soundstage.backends.embedded import EmbeddedBackend
from soundstage.produce import produce
from soundstage.script.evaluate import Evaluation, diversity, evaluate, tokens
from soundstage.script.formats.elements import Document, Element, Kind
from soundstage.script.formats.fountain import read_fountain
from soundstage.script.types import Controls

LOGLINE = (
    "A retired lighthouse keeper discovers that a smuggler has stolen the great lens, and "
    "must cross the winter sea to bring it home before the next storm."
)
SCRIPT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "script"
_CUE = re.compile(r"^([A-Z][A-Za-z .'-]*):$")


def shakespeare_turns(text: str, limit: int = 5000) -> Document:
    """tinyshakespeare's `SPEAKER:` turns as cues and speeches, until `limit` dialogue tokens."""
    elements: list[Element] = []
    count = 0
    for block in text.split("\n\n"):
        lines = block.strip("\n").split("\n")
        match = _CUE.match(lines[0])
        if not match or len(lines) < 2:
            continue
        speech = "\n".join(lines[1:])
        elements += [Element(Kind.CHARACTER, match[1].upper()), Element(Kind.DIALOGUE, speech)]
        count += len(tokens(speech))
        if count >= limit:
            break
    return Document([("Title", "tinyshakespeare, first 5k dialogue tokens")], elements)


def row(name: str, ev: Evaluation, dialogue: list[str], **extra: Any) -> dict[str, Any]:
    d, eq = ev.diversity, ev.diversity_equal
    c = ev.consistency
    return {
        "text": name,
        **extra,
        "valid": ev.valid,
        "minutes": round(ev.pages, 2),
        "tokens": d.tokens,
        "eq_tokens": eq.tokens,
        "distinct_1": round(eq.distinct_1, 3),
        "distinct_2": round(eq.distinct_2, 3),
        "distinct_3": round(eq.distinct_3, 3),
        "rep_4": round(eq.rep_4, 3),
        "loops": ev.loops.loops,
        "repeated_speeches": ev.loops.repeated_speeches,
        "consistency": None if c.consistent_share is None else round(c.consistent_share, 3),
        "speakers": len(c.speakers),
        "_dialogue": dialogue,
    }


def dialogue_tokens(doc: Document) -> list[str]:
    return [t for e in doc.elements if e.kind is Kind.DIALOGUE for t in tokens(e.text)]


def run(minutes: float, seeds: list[int]) -> dict[str, Any]:
    backend = EmbeddedBackend.load()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            start = time.perf_counter()
            p = produce(
                LOGLINE, Path(tmp) / f"seed{seed}", backend, Controls(minutes=minutes), seed=seed
            )
            wall = time.perf_counter() - start
            ev = evaluate(p.document, p.screenplay)
            rows.append(
                row(
                    f"produce seed {seed}",
                    ev,
                    dialogue_tokens(p.document),
                    wall_s=round(wall, 1),
                    scenes=len(p.screenplay.scenes),
                )
            )
    raw: dict[str, Any] | None = None
    shakespeare = SCRIPT_DATA / "tinyshakespeare" / "input.txt"
    if shakespeare.exists():
        text = shakespeare.read_text(encoding="utf-8")
        doc = shakespeare_turns(text)
        rows.append(row("tinyshakespeare 5k", evaluate(doc), dialogue_tokens(doc)))
        d = diversity(tokens(text[:60_000])[:5000])
        raw = {k: round(v, 3) for k, v in vars(d).items() if k != "tokens"}
    for path in sorted((SCRIPT_DATA / "ebscreenplays").glob("*.fountain")):
        doc = read_fountain(path)
        rows.append(row(path.stem, evaluate(doc), dialogue_tokens(doc)))
    common = min(r["tokens"] for r in rows)
    generated = min(r["tokens"] for r in rows[: len(seeds)])
    for r in rows:
        toks = r.pop("_dialogue")
        r["d2_at_common"] = round(diversity(toks[:common]).distinct_2, 3)
        at = diversity(toks[:generated]) if len(toks) >= generated else None
        r["d1_d2_at_generated"] = at and [round(at.distinct_1, 3), round(at.distinct_2, 3)]
    return {
        "minutes_asked": minutes,
        "model": backend.model,
        "common_tokens": common,
        "generated_tokens": generated,
        "rows": rows,
        "tinyshakespeare_raw_5k": raw,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.minutes, args.seeds)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    n, g = result["common_tokens"], result["generated_tokens"]
    print(f"model {result['model']}, {result['cores']} cores; --minutes {args.minutes:g}")
    head = (
        "text",
        "wall s",
        "valid",
        "min",
        "tokens",
        "d1",
        "d2",
        "d3",
        "rep-4",
        f"d2@{n}",
        f"d1/d2@{g}",
        "loops",
        "rep.sp",
        "consist.",
    )
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in result["rows"]:
        cells = (
            r["text"],
            r.get("wall_s", "—"),
            "yes" if r["valid"] else "no",
            f"{r['minutes']:.1f}",
            f"{r['eq_tokens']:,}/{r['tokens']:,}",
            r["distinct_1"],
            r["distinct_2"],
            r["distinct_3"],
            r["rep_4"],
            r["d2_at_common"],
            "/".join(map(str, r["d1_d2_at_generated"] or ["—"])),
            r["loops"],
            r["repeated_speeches"],
            "—" if r["consistency"] is None else r["consistency"],
        )
        print("| " + " | ".join(str(c) for c in cells) + " |")
    if result["tinyshakespeare_raw_5k"]:
        print(
            f"tinyshakespeare raw first 5k tokens (notes: .240 .736 .933 .017): "
            f"{result['tinyshakespeare_raw_5k']}"
        )


if __name__ == "__main__":
    main()
