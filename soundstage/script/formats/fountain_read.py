"""Fountain 1.1 text → `Document`.

Fountain's rules are about paragraphs (a cue needs a blank line before it and none after), and
two constructs cross lines freely, so parsing runs in three passes:

1. `_scan` finds boneyard `/* */` and note `[[ ]]` spans in the whole text. A boneyard that
   fills whole lines is lifted out as a `BONEYARD` element and its lines are dropped, so the
   text around it parses as if it were not there (the spec's "ignored"), yet nothing is lost.
   A span that stays inline keeps its text; lines inside it never count as blank.
2. `_title_page` reads `Key: value` lines from the top, up to the first blank line.
3. the body is cut into paragraphs at blank lines and each one is classified by
   `parse_paragraph`, which the writer reuses to check that what it writes reads back the same.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from soundstage.errors import FormatError
from soundstage.script.formats.elements import Document, Element, Kind

__all__ = ["TWO_SPACES", "parse_fountain", "parse_paragraph", "title_page_starts"]

# A title-page key starts with a letter; no dots, so "EXT. PARK: DAY" is never a key.
_TITLE_KEY = re.compile(r"([^\W\d_][\w '()&/-]*):(.*)")
_HEADING = re.compile(r"(?:INT\.?/EXT|INT|EXT|EST|I/E)[. ]", re.IGNORECASE)
_FORCED_HEADING = re.compile(r"\.[^.\s]")
_SCENE_NUMBER = re.compile(r"(.*)#([A-Za-z0-9.\-]+)#")
_CENTERED = re.compile(r"\s*>(.*)<\s*")
_PAGE_BREAK = re.compile(r"={3,}")
_CUE_TAIL = re.compile(r"(?:\([^()]*\)\s*)*\^?")  # extensions, any case, then `^`
# A note's text never contains "]]"; spelling that out also keeps the match linear.
_NOTE = re.compile(r"\[\[((?:(?!\]\]).)*)\]\]", re.DOTALL)
_NOTES_ONLY = re.compile(rf"\s*(?:{_NOTE.pattern}\s*)+", re.DOTALL)
_SPAN_TOKEN = re.compile(r"/\*|\*/|\[\[|\]\]")
_CLOSE = {"/*": "*/", "[[": "]]"}
_SPAN_NAME = {"/*": "boneyard '/*'", "[[": "note '[['"}
# Kinds that end a speech, so a following `^` cue is the second half of dual dialogue.
_SPEECH = frozenset({Kind.DIALOGUE, Kind.PARENTHETICAL, Kind.LYRICS})
TWO_SPACES = "  "  # Fountain's "blank line that is not a paragraph break"


@dataclass(frozen=True)
class _Line:
    text: str
    protected: bool = False  # inside a multi-line note or inline boneyard


def parse_fountain(text: str, *, source: str = "<string>") -> Document:
    """Parse Fountain 1.1; an unclosed `/*` or `[[` raises `FormatError` ("source:line: ...")."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines, boneyards = _scan(text, source)
    title_page, start = _title_page(lines)
    body: list[tuple[int, Element]] = []
    prev: Kind | None = None
    for first, paragraph in _paragraphs(lines, start):
        for offset, element in parse_paragraph(paragraph, prev):
            body.append((first + offset, element))
            prev = element.kind
    return Document(title_page=title_page, elements=_merge(body, boneyards))


def _scan(text: str, source: str) -> tuple[list[_Line], list[tuple[int, Element]]]:
    """Split into lines, lifting whole-line boneyards out; (index among kept lines, element)."""
    raw = text.split("\n")
    starts = [0]
    for line in raw[:-1]:
        starts.append(starts[-1] + len(line) + 1)

    def line_of(offset: int) -> int:
        return bisect.bisect_right(starts, offset) - 1

    removed = [False] * len(raw)
    protected = [False] * len(raw)
    lifted: list[tuple[int, Element]] = []  # (source line index, element)
    opener: str | None = None
    opened_at = 0
    for match in _SPAN_TOKEN.finditer(text):
        token = match.group()
        if opener is None:
            if token in _CLOSE:
                opener, opened_at = token, match.start()
            continue
        if token != _CLOSE[opener]:
            continue
        first, last = line_of(opened_at), line_of(match.end() - 1)
        before = text[starts[first] : opened_at]
        after = text[match.end() : starts[last] + len(raw[last])]
        if opener == "/*" and not before.strip() and not after.strip():
            removed[first : last + 1] = [True] * (last + 1 - first)
            lifted.append((first, Element(Kind.BONEYARD, text[opened_at + 2 : match.start()])))
        else:
            protected[first + 1 : last] = [True] * max(0, last - first - 1)
        opener = None
    if opener is not None:
        where = line_of(opened_at) + 1
        raise FormatError.at(
            source, where, f"unclosed {_SPAN_NAME[opener]}", hint=f"add '{_CLOSE[opener]}'"
        )
    kept = [i for i in range(len(raw)) if not removed[i]]
    lines = [_Line(raw[i], protected[i]) for i in kept]
    return lines, [(bisect.bisect_left(kept, i), element) for i, element in lifted]


def _is_blank(line: _Line) -> bool:
    return not line.protected and not line.text.strip() and line.text != TWO_SPACES


def title_page_starts(first: str, second: str | None) -> bool:
    """Whether a text opening with these lines has a title page.

    A key with no value must be followed by an indented value or another key, so that a
    lone `CUT TO:` at the top stays a transition.
    """
    match = _TITLE_KEY.fullmatch(first)
    if match is None:
        return False
    if match[2].strip():
        return True
    if second is None or not second.strip():
        return False
    return _is_continuation(second) or _TITLE_KEY.fullmatch(second.strip()) is not None


def _is_continuation(text: str) -> bool:
    indent = text[: len(text) - len(text.lstrip())]
    if "\t" in indent or len(indent) >= 3:
        return True
    return bool(indent) and _TITLE_KEY.fullmatch(text.strip()) is None


def _title_page(lines: list[_Line]) -> tuple[list[tuple[str, str]], int]:
    """Entries and the index of the first body line. Ends at a blank or a non-key line."""
    second = lines[1].text if len(lines) > 1 else None
    if not lines or not title_page_starts(lines[0].text, second):
        return [], 0
    entries: list[tuple[str, list[str]]] = []
    for index, line in enumerate(lines):
        if not line.text.strip():  # even a two-space line: the title page has no dialogue
            return _join(entries), index + 1
        match = _TITLE_KEY.fullmatch(line.text.strip())
        if _is_continuation(line.text):
            entries[-1][1].append(line.text.strip())
        elif match is not None:
            value = match[2].strip()
            entries.append((match[1].strip(), [value] if value else []))
        else:  # e.g. a [[note]] right under the keys: the body starts here
            return _join(entries), index
    return _join(entries), len(lines)


def _join(entries: list[tuple[str, list[str]]]) -> list[tuple[str, str]]:
    return [(key, "\n".join(values)) for key, values in entries]


def _paragraphs(lines: list[_Line], start: int) -> list[tuple[int, list[str]]]:
    """Runs of non-blank lines, with two-space lines trimmed from their edges."""
    out: list[tuple[int, list[str]]] = []
    run: list[int] = []
    for index in range(start, len(lines) + 1):
        if index < len(lines) and not _is_blank(lines[index]):
            run.append(index)
            continue
        while run and lines[run[0]].text == TWO_SPACES and not lines[run[0]].protected:
            run.pop(0)
        while run and lines[run[-1]].text == TWO_SPACES and not lines[run[-1]].protected:
            run.pop()
        if run:
            out.append((run[0], [lines[i].text for i in range(run[0], run[-1] + 1)]))
        run = []
    return out


def _merge(body: list[tuple[int, Element]], lifted: list[tuple[int, Element]]) -> list[Element]:
    """Put each lifted boneyard before the first element that starts after it."""
    out: list[Element] = []
    i = 0
    for start, element in body:
        while i < len(lifted) and lifted[i][0] <= start:
            out.append(lifted[i][1])
            i += 1
        out.append(element)
    out.extend(element for _, element in lifted[i:])
    return out


def parse_paragraph(lines: list[str], prev: Kind | None) -> list[tuple[int, Element]]:
    """Classify one paragraph (blank lines around it); (line offset, element) pairs.

    Page breaks, sections and synopses take one line; whatever follows them in the same
    paragraph is read as if it started a paragraph of its own.
    """
    out: list[tuple[int, Element]] = []
    for start, line in enumerate(lines):
        head = line.strip()
        if not head:  # a two-space line where a new paragraph would start
            continue
        if _PAGE_BREAK.fullmatch(head):
            element = Element(Kind.PAGE_BREAK)
        elif head.startswith("#"):
            depth = len(head) - len(head.lstrip("#"))
            element = Element(Kind.SECTION, head[depth:].strip(), depth=depth)
        elif head.startswith("=") and not head.startswith("=="):
            element = Element(Kind.SYNOPSIS, head[1:].strip())
        else:
            out.extend((start + off, el) for off, el in _segment(lines[start:], prev))
            break
        out.append((start, element))
        prev = element.kind
    return out


def _segment(lines: list[str], prev: Kind | None) -> list[tuple[int, Element]]:
    head, single = lines[0].strip(), len(lines) == 1
    joined = "\n".join(lines)
    if _NOTES_ONLY.fullmatch(joined):
        return [
            (joined.count("\n", 0, m.start()), Element(Kind.NOTE, m[1]))
            for m in _NOTE.finditer(joined)
        ]
    if head.startswith("!"):
        return [(0, _action([lines[0].lstrip()[1:], *lines[1:]], forced=True))]
    if head.startswith("@"):
        return _dialogue(lines, prev, forced=True)
    if single and _FORCED_HEADING.match(head):
        return [(0, _heading(head[1:], forced=True))]
    centered = [_CENTERED.fullmatch(line) for line in lines]
    if all(centered):
        text = "\n".join(m[1].strip() for m in centered if m)
        return [(0, Element(Kind.CENTERED, text))]
    if head.startswith(">"):
        if single:
            return [(0, Element(Kind.TRANSITION, head[1:].strip(), forced=True))]
    elif all(line.lstrip().startswith("~") for line in lines):
        text = "\n".join(line.lstrip()[1:] for line in lines)
        return [(0, Element(Kind.LYRICS, text))]
    elif single and _HEADING.match(head):
        return [(0, _heading(head, forced=False))]
    elif single and _is_transition(lines[0]):
        return [(0, Element(Kind.TRANSITION, head))]
    elif not single and _is_cue(head):
        return _dialogue(lines, prev, forced=False)
    return [(0, _action(lines, forced=False))]


def _is_cue(line: str) -> bool:
    """An unforced cue: uppercase name with a letter; extensions in parentheses may be any case."""
    text = line.strip()
    cut = min((i for i in (text.find("("), text.find("^")) if i >= 0), default=len(text))
    name = text[:cut]
    if text[:1] in "~>=#![" or _HEADING.match(text) or not _CUE_TAIL.fullmatch(text, cut):
        return False
    return any(c.isalpha() for c in name) and name == name.upper()


def _is_transition(line: str) -> bool:
    text = line.lstrip()  # trailing whitespace is kept, so it disqualifies, as the spec says
    return text.endswith("TO:") and text == text.upper()


def _heading(text: str, *, forced: bool) -> Element:
    match = _SCENE_NUMBER.fullmatch(text)
    if match is None:
        return Element(Kind.SCENE_HEADING, text.strip(), forced=forced)
    return Element(Kind.SCENE_HEADING, match[1].strip(), scene_number=match[2], forced=forced)


def _action(lines: list[str], *, forced: bool) -> Element:
    text = "\n".join(line.replace("\t", "    ") if line.strip() else "" for line in lines)
    return Element(Kind.ACTION, text, forced=forced)


def _dialogue(lines: list[str], prev: Kind | None, *, forced: bool) -> list[tuple[int, Element]]:
    """A cue and its speech: parentheticals, dialogue and `~` lyrics, in order."""
    cue = lines[0].strip()[1:] if forced else lines[0].strip()
    dual = cue.endswith("^")
    if dual:  # a `^` with no speech before it is ignored
        cue, dual = cue[:-1], prev in _SPEECH
    out = [(0, Element(Kind.CHARACTER, cue.strip(), dual=dual, forced=forced))]
    parts: list[tuple[int, Kind, list[str]]] = []
    for offset, raw in enumerate(lines[1:], 1):
        text = raw.strip()
        kind = Kind.DIALOGUE
        if text.startswith("(") and text.endswith(")"):
            kind = Kind.PARENTHETICAL
        elif text.startswith("~"):
            kind, text = Kind.LYRICS, text[1:]
        if parts and kind is not Kind.PARENTHETICAL and parts[-1][1] is kind:
            parts[-1][2].append(text)
        else:
            parts.append((offset, kind, [text]))
    out.extend((offset, Element(kind, "\n".join(texts))) for offset, kind, texts in parts)
    return out
