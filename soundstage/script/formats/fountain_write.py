"""`Document` → Fountain 1.1 text.

The writer emits plain Fountain and adds a force marker (`!` `@` `.` `>`) only where an
element says it was forced or would otherwise read back as something else. It decides that by
running the reader's own paragraph classifier on what it is about to write, so the two cannot
drift apart: for a canonical Document, `parse_fountain(write_fountain(doc)) == doc`.

Canonical means what the reader produces: texts stripped where the reader strips them, no
tabs, no two DIALOGUE elements in a row (they would merge), and `dual` only on a cue that
follows speech.
"""

from __future__ import annotations

from dataclasses import replace

from soundstage.script.formats.elements import Document, Element, Kind
from soundstage.script.formats.fountain_read import TWO_SPACES, parse_paragraph, title_page_starts

_FORCE_MARK = {
    Kind.ACTION: "!",
    Kind.CHARACTER: "@",
    Kind.SCENE_HEADING: ".",
    Kind.TRANSITION: ">",
}


def write_fountain(doc: Document) -> str:
    """Fountain text for `doc`, ending with a newline."""
    head: list[str] = []
    for key, value in doc.title_page:
        values = value.split("\n")
        if len(values) == 1:
            head.append(f"{key}: {value}" if value else f"{key}:")
        else:
            head.append(f"{key}:")
            head.extend(f"    {line}" for line in values)
    body = _body(doc.elements)
    if head:
        head.append("")
    else:
        texts = [text for text, lifted in body if not lifted]
        if texts and title_page_starts(texts[0], texts[1] if len(texts) > 1 else None):
            head.append("")  # a leading blank line keeps "Key: value" action off the title page
    return "\n".join([*head, *(text for text, _ in body)]) + "\n"


def _body(elements: list[Element]) -> list[tuple[str, bool]]:
    """Body lines, each flagged when it belongs to a boneyard (which the reader lifts out)."""
    out: list[tuple[str, bool]] = []
    prev: Kind | None = None
    for unit in _units(elements):
        if out:
            out.append(("", False))
        out.extend(_render(unit, prev))
        if unit[0].kind is not Kind.BONEYARD:
            prev = [e for e in unit if e.kind is not Kind.BONEYARD][-1].kind
    return out


def _units(elements: list[Element]) -> list[list[Element]]:
    """Paragraphs to write: a cue with its speech glued under it, or one element.

    A boneyard inside a speech stays glued in place (the reader lifts it out again); anywhere
    else it gets a paragraph of its own.
    """
    units: list[list[Element]] = []
    for element in map(_with_parentheses, elements):
        unit = units[-1] if units else []
        kinds = [e.kind for e in unit if e.kind is not Kind.BONEYARD]
        joins = False
        if kinds and kinds[0] is Kind.CHARACTER:
            if element.kind is Kind.BONEYARD:
                joins = True
            elif element.kind in (Kind.DIALOGUE, Kind.PARENTHETICAL):
                joins = kinds[-1] is not Kind.DIALOGUE or element.kind is not Kind.DIALOGUE
            elif element.kind is Kind.LYRICS:
                joins = kinds[-1] is not Kind.LYRICS
        if joins:
            unit.append(element)
            continue
        _release_trailing_boneyards(units)
        units.append([element])
    _release_trailing_boneyards(units)
    return units


def _with_parentheses(element: Element) -> Element:
    """A parenthetical from another format may lack the parentheses Fountain needs."""
    text = element.text
    if element.kind is not Kind.PARENTHETICAL or (text.startswith("(") and text.endswith(")")):
        return element
    return replace(element, text=f"({text})")


def _release_trailing_boneyards(units: list[list[Element]]) -> None:
    trailing: list[list[Element]] = []
    while units and len(units[-1]) > 1 and units[-1][-1].kind is Kind.BONEYARD:
        trailing.insert(0, [units[-1].pop()])
    units.extend(trailing)


def _render(unit: list[Element], prev: Kind | None) -> list[tuple[str, bool]]:
    """Lines for one unit, forced only if the unforced form would read back differently."""
    first = unit[0]
    plain = _lines(unit, forced=first.forced)
    if first.forced or first.kind not in _FORCE_MARK:
        return plain
    expected = [e for e in unit if e.kind is not Kind.BONEYARD]
    got = [e for _, e in parse_paragraph([t for t, lifted in plain if not lifted], prev)]
    return plain if got == expected else _lines(unit, forced=True)


def _lines(unit: list[Element], *, forced: bool) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    for index, element in enumerate(unit):
        mark = _FORCE_MARK.get(element.kind, "") if forced and index == 0 else ""
        lifted = element.kind is Kind.BONEYARD
        out.extend((text, lifted) for text in _element_lines(element, mark))
    return out


def _element_lines(element: Element, mark: str) -> list[str]:
    text, kind = element.text, element.kind
    lines = text.split("\n")
    if kind in (Kind.ACTION, Kind.DIALOGUE):  # an empty line inside must not end the paragraph
        lines = [line if line.strip() else TWO_SPACES for line in lines]
        lines[0] = mark + lines[0]
        return lines
    if kind is Kind.CHARACTER:
        return [mark + text + (" ^" if element.dual else "")]
    if kind is Kind.SCENE_HEADING:
        number = f" #{element.scene_number}#" if element.scene_number else ""
        return [mark + text + number]
    if kind is Kind.TRANSITION:
        return [mark + text]
    if kind is Kind.CENTERED:
        return [f">{line}<" for line in lines]
    if kind is Kind.LYRICS:
        return [f"~{line}" for line in lines]
    if kind is Kind.PAGE_BREAK:
        return ["==="]
    if kind is Kind.SECTION:
        return ["#" * max(element.depth, 1) + " " + text]
    if kind is Kind.SYNOPSIS:
        return [f"= {text}"]
    if kind is Kind.NOTE:
        return f"[[{text}]]".split("\n")
    if kind is Kind.BONEYARD:
        return f"/*{text}*/".split("\n")
    return [text]  # PARENTHETICAL
