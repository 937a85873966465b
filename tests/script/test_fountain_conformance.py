"""Conformance with Jouvence's 46 YAML cases (../shared/data/script/jouvence_tests, Apache-2.0).

Each case has `in:` (Fountain), `out:` (element tokens) and sometimes `title:`. The tokens, as
Jouvence's own tests/conftest.py reads them: `!` action (`!><` centered), `.` scene heading,
`@` cue, `=` dialogue, `_` parenthetical, `>` transition, `~` lyrics, `#` section, `+` synopsis,
`<pagebreak>`. `title:` is Jouvence's `title_values`, keyed in lowercase.

`tokens()` maps our Document to that list, one token per element (boneyard, which Jouvence has
no token for, as `/*...*/`). The per-case test then applies two normalisations, each for a
convention where Jouvence and we represent the same reading differently:

- N1, blank lines around action: Jouvence keeps them inside the action text and lets one action
  element span several paragraphs (`"!\\nThis is the mansion."`, `"!"` for an extra blank line
  between two speeches, `"!><**THE END**\\n"` for a centered line followed by a space-only line).
  We make one ACTION per paragraph and keep no blank lines around it. So the *expected* action
  and centered texts are split at blank lines and empty pieces dropped.
- N2, boneyard: Jouvence discards `/* */`; we keep it as a BONEYARD element so a round trip
  loses nothing. So BONEYARD tokens are dropped from *our* side.

Without N1/N2, `STRICT` cases match exactly; `test_strict_matches` pins that set.
"""

from __future__ import annotations

import re
from typing import Any

from soundstage.script.formats.elements import Document, Kind
from soundstage.script.formats.fountain import parse_fountain

_PREFIX = {
    Kind.ACTION: "!",
    Kind.CENTERED: "!><",
    Kind.SCENE_HEADING: ".",
    Kind.CHARACTER: "@",
    Kind.DIALOGUE: "=",
    Kind.PARENTHETICAL: "_",
    Kind.TRANSITION: ">",
    Kind.LYRICS: "~",
    Kind.SYNOPSIS: "+",
    Kind.NOTE: "[[",
}

STRICT = {
    "action-0",
    "action-1",
    "action-3",
    "action-4",
    "centered-0",
    "character-0",
    "character-1",
    "character-2",
    "character-3",
    "character-4",
    "character-5",
    "dialogue-0",
    "dialogue-1",
    "lyrics-0",
    "lyrics-1",
    "parenthetical-0",
    "parenthetical-1",
    "synopsis-0",
    "titlepage-0",
    "titlepage-4",
    "titlepage-6",
}


def tokens(doc: Document) -> list[str]:
    out = []
    for element in doc.elements:
        if element.kind is Kind.PAGE_BREAK:
            out.append("<pagebreak>")
        elif element.kind is Kind.SECTION:
            out.append("#" * element.depth + element.text)
        elif element.kind is Kind.BONEYARD:
            out.append(f"/*{element.text}*/")
        else:
            out.append(_PREFIX[element.kind] + element.text)
    return out


def title(doc: Document) -> dict[str, str]:
    return {key.lower(): value for key, value in doc.title_page}


def split_action(expected: list[str]) -> list[str]:
    """N1: one token per action paragraph, without the blank lines around it."""
    out = []
    for token in expected:
        if token.startswith("!><"):
            out.append("!><" + token[3:].strip("\n"))
        elif token.startswith("!"):
            paragraphs = re.split(r"\n\s*\n", token[1:].strip("\n"))
            out.extend("!" + p for p in paragraphs if p.strip("\n"))
        else:
            out.append(token)
    return out


def test_jouvence_case(jouvence_case: dict[str, Any]) -> None:
    doc = parse_fountain(jouvence_case["in"])
    if "title" in jouvence_case:
        assert title(doc) == jouvence_case["title"]
    ours = [t for t in tokens(doc) if not t.startswith("/*")]  # N2
    assert ours == split_action(jouvence_case["out"])  # N1


def test_all_46_cases_are_loaded(jouvence_cases: list[tuple[str, dict[str, Any]]]) -> None:
    assert len(jouvence_cases) == 46
    assert len({case_id for case_id, _ in jouvence_cases}) == 46


def test_strict_matches(jouvence_cases: list[tuple[str, dict[str, Any]]]) -> None:
    """The cases that match with no normalisation at all: the documented differences, no more."""
    strict = set()
    for case_id, case in jouvence_cases:
        doc = parse_fountain(case["in"])
        if tokens(doc) == case["out"] and title(doc) == case.get("title", title(doc)):
            strict.add(case_id)
    assert strict == STRICT


def test_normalisation_is_not_a_no_op() -> None:
    """N1 must still tell a heading from the action after it."""
    assert split_action(["!\nThis is the mansion.", "!", "!a\n\nb"]) == [
        "!This is the mansion.",
        "!a",
        "!b",
    ]
    doc = parse_fountain("EXT. MANSION\n\nThis is the mansion.\n")
    assert tokens(doc) == [".EXT. MANSION", "!This is the mansion."]
