"""report.md for a produced screenplay: runtime, scenes, who speaks how much, authorship."""

from __future__ import annotations

import math
from collections import Counter

from soundstage.script.formats.elements import Document, Kind
from soundstage.script.types import Screenplay

LINES_PER_PAGE = 55
WIDTH = {Kind.ACTION: 61, Kind.SCENE_HEADING: 61, Kind.DIALOGUE: 35, Kind.PARENTHETICAL: 25}
UNPRINTED = {Kind.SECTION, Kind.SYNOPSIS, Kind.NOTE, Kind.BONEYARD, Kind.PAGE_BREAK}


def estimate_pages(doc: Document) -> float:
    """Pages at 55 lines, wrapping each element at its column width (~1 page a minute)."""
    lines = 0
    previous: Kind | None = None
    for element in doc.elements:
        if element.kind in UNPRINTED:
            continue
        width = WIDTH.get(element.kind, 61)
        wrapped = sum(max(1, math.ceil(len(part) / width)) for part in element.text.split("\n"))
        joined = previous in {Kind.CHARACTER, Kind.PARENTHETICAL} and element.kind in {
            Kind.DIALOGUE,
            Kind.PARENTHETICAL,
        }
        lines += wrapped + (0 if joined or previous is None else 1)
        previous = element.kind
    return lines / LINES_PER_PAGE


def line_counts(sp: Screenplay) -> Counter[str]:
    return Counter(ln.speaker for d in sp.dialogue.values() for ln in d.lines)


def render_report(
    sp: Screenplay, doc: Document, authorship: dict[str, dict[str, float]], seconds: float
) -> str:
    pages = estimate_pages(doc)
    out = [
        f"# {sp.title or 'Untitled'}",
        "",
        f"*{sp.logline}*",
        "",
        f"- Genre: {sp.controls.genre}; tone: {sp.controls.tone}; rating: {sp.controls.rating}; "
        f"structure: {sp.controls.structure}",
        f"- Target runtime: {sp.controls.minutes:g} min; estimated runtime: **{pages:.1f} min** "
        f"({pages:.1f} pages at 55 lines a page, about a minute a page)",
        f"- Co-written with: {sp.model or 'unknown model'}; generated in {seconds:.1f} s",
        "",
        "## Scenes",
        "",
        "| # | heading | beat | plot element | speeches |",
        "|---|---|---|---|---|",
    ]
    for i, scene in enumerate(sp.scenes, 1):
        speeches = len(sp.dialogue[scene.id].lines) if scene.id in sp.dialogue else 0
        out.append(
            f"| {i} | {scene.place} - {scene.time} | {scene.beat} | {scene.plot_element} | "
            f"{speeches} |"
        )
    counts = line_counts(sp)
    out += [
        "",
        "## Characters",
        "",
        "| character | role | pronouns | speeches |",
        "|---|---|---|---|",
    ]
    for c in sp.characters:
        out.append(f"| {c.name} | {c.role} | {c.pronouns or '—'} | {counts.get(c.id, 0)} |")
    out += [
        "",
        "## Authorship",
        "",
        "Share of the final text by level, from the intervention log (log.jsonl); edit effort "
        "is the relative Levenshtein distance between the model's text and the kept text.",
        "",
        "| level | characters | human | model | edit effort |",
        "|---|---|---|---|---|",
    ]
    for level, row in authorship.items():
        out.append(
            f"| {level} | {row['chars']:.0f} | {row['human_share']:.0%} | "
            f"{row['model_share']:.0%} | {row['edit_effort']:.2f} |"
        )
    return "\n".join(out) + "\n"
