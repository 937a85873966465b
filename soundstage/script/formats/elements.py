"""The screenplay format model: a title page and a flat list of typed paragraphs.

This is the common ground of Fountain 1.1, Final Draft FDX and the printed page. A dialogue
block is a `CHARACTER` element followed by `PARENTHETICAL` / `DIALOGUE` elements; the cue
of the *second* speaker in dual dialogue has `dual=True` (Fountain's `^`).

Text keeps Fountain's inline emphasis markup (`*italic*`, `**bold**`, `_underline_`) so no
styling is lost between formats; writers that cannot show it (plain text) strip it.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Kind(enum.StrEnum):
    SCENE_HEADING = "scene_heading"
    ACTION = "action"
    CHARACTER = "character"  # the cue, with any extension: "STEEL (V.O.)"
    PARENTHETICAL = "parenthetical"  # including the parentheses: "(beat)"
    DIALOGUE = "dialogue"
    TRANSITION = "transition"  # "CUT TO:"
    LYRICS = "lyrics"
    CENTERED = "centered"  # ">THE END<", text without the markers
    PAGE_BREAK = "page_break"
    SECTION = "section"  # "# ACT ONE", depth = number of '#'
    SYNOPSIS = "synopsis"  # "= A beat summary"
    NOTE = "note"  # "[[...]]" standing alone as a paragraph
    BONEYARD = "boneyard"  # "/* ... */" text that is kept but not printed


@dataclass(frozen=True)
class Element:
    kind: Kind
    text: str = ""
    scene_number: str | None = None  # scene headings only: "1", "1A", "2-B"
    depth: int = 0  # sections only: 1 for "#", 2 for "##", ...
    dual: bool = False  # character cues only: second speaker of dual dialogue
    forced: bool = False  # written with a force marker (. ! @ >) in the source

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if v not in (None, 0, False, "")}
        data["kind"] = self.kind.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Element:
        return cls(**{**data, "kind": Kind(data["kind"])})


@dataclass
class Document:
    """A whole script: ordered title-page entries, then the body."""

    title_page: list[tuple[str, str]] = field(
        default_factory=list
    )  # (key, value); value may span lines
    elements: list[Element] = field(default_factory=list)

    def title(self) -> str | None:
        return self.get("Title")

    def get(self, key: str) -> str | None:
        for k, v in self.title_page:
            if k.lower() == key.lower():
                return v
        return None

    def count(self, kind: Kind) -> int:
        return sum(1 for e in self.elements if e.kind is kind)

    def to_json(self) -> dict[str, Any]:
        return {
            "title_page": [[k, v] for k, v in self.title_page],
            "elements": [e.to_json() for e in self.elements],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Document:
        return cls(
            title_page=[(str(k), str(v)) for k, v in data.get("title_page", [])],
            elements=[Element.from_json(e) for e in data.get("elements", [])],
        )
