"""Industry page layout: a `Document` becomes pages of positioned lines, with no PDF library.

Kept apart from drawing so pagination (the hard, rule-laden part) is tested in lines and
inches, and any renderer (PDF today) only paints what it is given.

The grid: US Letter, 10 characters and 6 lines per inch, 55 body lines a page. Row 0 is the
first body line, its top 1 in below the page's top edge; row 54 ends 5/6 in above the bottom
edge (55 lines do not fit in 9 in, so the bottom margin is 0.83 in, as in Final Draft and
screenplain). The page number sits on row -3 (0.5 in from the top), flush right at 7.5 in.

Element columns (inches from the page's left edge; widths in characters):

| element | x | width | note |
|---|---|---|---|
| scene heading, action | 1.5 | 60 | heading upper-cased; scene numbers end at 1.3, start at 7.7 |
| character cue | 3.7 | 38 | upper-cased |
| parenthetical | 3.1 | 25 | |
| dialogue, lyrics | 2.5 | 35 | lyrics in italics |
| transition | flush right at 7.5 | 60 | upper-cased |
| centered | centred on 4.5 | 60 | |

Pagination rules: one blank line between elements, none inside a speech; a scene heading
moves to the next page unless the start of what follows fits under it; a cue never ends a
page (it travels with at least two lines of its speech); a speech that does not fit splits
at the last sentence end or typed line break that fits, or at a wrapped line end when that
fills more than 6 extra lines, keeping at least two lines on each side, with "(MORE)"
under the first part and "NAME (CONT'D)" over the second; action splits
at a line end (preferring one that closes a sentence), two lines at least on each side;
other elements move whole. Dual dialogue is laid out side by side and never split; a pair
longer than a whole page falls back to two sequential speeches. Sections, synopses, notes
and boneyard are not printed; a page break at the top of a page is a no-op.

Inline emphasis (Fountain markup ↔ styled runs) lives in `emphasis.py`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from soundstage.script.formats.elements import Document, Element, Kind
from soundstage.script.formats.emphasis import ITALIC, Styled, line_offsets, parse_emphasis

# -- the page grid ---------------------------------------------------------------------------

PAGE_WIDTH = 8.5  # inches
PAGE_HEIGHT = 11.0
TOP_MARGIN = 1.0
LEFT_MARGIN = 1.5
RIGHT_EDGE = 7.5  # 1 in right margin
LINES_PER_INCH = 6
CHARS_PER_INCH = 10
LINES_PER_PAGE = 55
PAGE_NUMBER_ROW = -3  # 0.5 in from the top edge
TITLE_ROW = 16  # 1 + 16/6 = 3.67 in: a third of the way down

Align = Literal["left", "right", "center"]


@dataclass(frozen=True)
class Line:
    """One printed line. `x` is the left edge, the right edge or the centre, per `align`."""

    row: int
    x: float
    text: Styled
    align: Align = "left"
    kind: str = ""  # the element kind, or "more", "page_number", "scene_number", "title", ...

    @property
    def plain(self) -> str:
        return self.text.text

    @property
    def y(self) -> float:
        """Top of the line's box, in inches from the page's top edge."""
        return TOP_MARGIN + self.row / LINES_PER_INCH

    @property
    def left(self) -> float:
        width = len(self.text) / CHARS_PER_INCH
        if self.align == "right":
            return self.x - width
        if self.align == "center":
            return self.x - width / 2
        return self.x


@dataclass
class Page:
    lines: list[Line] = field(default_factory=list)
    number: int | None = None  # body pages count from 1; the title page has None

    @property
    def is_title_page(self) -> bool:
        return self.number is None

    def rows(self) -> dict[int, str]:
        """Row → text, left to right: what a reader sees on each line (for tests and debugging)."""
        by_row: dict[int, list[Line]] = {}
        for line in self.lines:
            by_row.setdefault(line.row, []).append(line)
        return {
            row: " ".join(x.plain for x in sorted(found, key=lambda x: x.left))
            for row, found in sorted(by_row.items())
        }


@dataclass(frozen=True)
class _Column:
    x: float
    width: int


_ACTION = _Column(LEFT_MARGIN, 60)
_CUE = _Column(3.7, 38)
_PAREN = _Column(3.1, 25)
_DIALOGUE = _Column(2.5, 35)
_CENTRE = (LEFT_MARGIN + RIGHT_EDGE) / 2
_SCENE_NUMBER_LEFT = 1.3  # right edge of the left scene number
_SCENE_NUMBER_RIGHT = 7.7  # left edge of the right one


@dataclass(frozen=True)
class _SpeechColumns:
    cue: _Column
    paren: _Column
    dialogue: _Column


_SINGLE = _SpeechColumns(_CUE, _PAREN, _DIALOGUE)
_DUAL_LEFT = _SpeechColumns(_Column(2.3, 20), _Column(1.8, 24), _Column(1.5, 28))
_DUAL_RIGHT = _SpeechColumns(_Column(5.4, 21), _Column(4.9, 24), _Column(4.6, 28))


@dataclass(frozen=True)
class _Piece:
    x: float
    align: Align
    text: Styled
    kind: str


_Row = tuple[_Piece, ...]


def wrap(text: str, width: int) -> list[tuple[int, int]]:
    """Greedy word wrap → (start, end) offsets into `text`; over-long words are cut."""
    spans: list[tuple[int, int]] = []
    start, n = 0, len(text)
    while True:
        if n - start <= width:
            spans.append((start, n))
            return spans
        cut = text.rfind(" ", start, start + width + 1)
        if cut <= start or not text[start:cut].strip():
            spans.append((start, start + width))
            start += width
            continue
        end = cut
        while end > start and text[end - 1] == " ":
            end -= 1
        spans.append((start, end))
        start = cut
        while start < n and text[start] == " ":
            start += 1
        if start == n:
            return spans


def _wrap_styled(text: Styled, width: int) -> list[Styled]:
    rows: list[Styled] = []
    for line in text.expand_tabs().lines():
        rows.extend(line.cut(a, b) for a, b in wrap(line.text, width))
    return rows


def _rows(text: Styled, column: _Column, kind: str, align: Align = "left") -> list[_Row]:
    x = {"left": column.x, "right": RIGHT_EDGE, "center": _CENTRE}[align]
    return [(_Piece(x, align, t, kind),) for t in _wrap_styled(text, column.width)]


_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s)")
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "mt", "lt", "sgt"}


def _sentence_ends(text: str) -> list[int]:
    """Offsets just after each sentence's closing punctuation (before the space)."""
    ends = []
    for m in _SENTENCE_END.finditer(text):
        word = re.search(r"\w+$", text[max(0, m.start() - 4) : m.start()])
        if word and word.group().lower() in _ABBREVIATIONS:
            continue
        ends.append(m.end())
    return ends


# -- units: what the paginator moves around --------------------------------------------------


class _Unit(Protocol):
    keep_with_next: bool

    def rows(self) -> list[_Row]: ...

    def min_rows(self) -> int:
        """The fewest rows this unit can leave at the bottom of a page (whole, or a split head)."""
        ...

    def split(self, room: int, *, force: bool = False) -> tuple[list[_Row], _Unit] | None:
        """A head of at most `room` rows and the rest, or None when the rules forbid it."""
        ...


@dataclass
class _Block:
    """A one-element unit: fixed rows; action may split between lines."""

    body: list[_Row]
    splittable: bool = False
    keep_with_next: bool = False

    def rows(self) -> list[_Row]:
        return self.body

    def min_rows(self) -> int:
        return 2 if self.splittable and len(self.body) >= 4 else len(self.body)

    def split(self, room: int, *, force: bool = False) -> tuple[list[_Row], _Unit] | None:
        if force:
            cut = max(1, min(room, len(self.body) - 1))
            return self.body[:cut], _Block(self.body[cut:], self.splittable)
        if not self.splittable:
            return None
        cuts = range(min(room, len(self.body) - 2), 1, -1)
        ending = [c for c in cuts if _ends_sentence(self.body[c - 1])]
        best = ending[0] if ending else (cuts[0] if cuts else None)
        if best is None:
            return None
        return self.body[:best], _Block(self.body[best:], self.splittable)


def _ends_sentence(row: _Row) -> bool:
    text = "".join(p.text.text for p in row).rstrip()
    return bool(_CLOSES_SENTENCE.search(text))


_CLOSES_SENTENCE = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*$")


def _contd(cue: Styled) -> Styled:
    if re.search(r"\(CONT['\u2019]D\)\s*$", cue.text, re.IGNORECASE):
        return cue
    return cue + Styled.plain(" (CONT'D)")


@dataclass
class _Speech:
    """A cue and its parentheticals, dialogue and lyrics; splits with (MORE) / (CONT'D)."""

    cue: Styled
    body: list[tuple[Kind, Styled]]
    columns: _SpeechColumns = _SINGLE
    keep_with_next: bool = False

    def body_rows(self, body: _Body | None = None) -> list[_Row]:
        rows: list[_Row] = []
        for kind, text in self.body if body is None else body:
            if kind is Kind.PARENTHETICAL:
                rows += _rows(text, self.columns.paren, kind.value)
            elif kind is Kind.LYRICS:
                rows += _rows(text.with_style(ITALIC), self.columns.dialogue, kind.value)
            else:
                rows += _rows(text, self.columns.dialogue, kind.value)
        return rows

    def rows(self) -> list[_Row]:
        return _rows(self.cue, self.columns.cue, Kind.CHARACTER.value) + self.body_rows()

    def min_rows(self) -> int:
        cue = len(_rows(self.cue, self.columns.cue, ""))
        body = len(self.body_rows())
        return cue + 3 if body >= 4 else cue + body

    def split(self, room: int, *, force: bool = False) -> tuple[list[_Row], _Unit] | None:
        cue_rows = _rows(self.cue, self.columns.cue, Kind.CHARACTER.value)
        limit = room - len(cue_rows) - 1  # body rows that fit above (MORE)
        if force:
            best = self._best_cut(limit, sentences=True, lines=True, least=1)
        else:
            natural = self._best_cut(limit, sentences=True, lines=False, least=2)
            anywhere = self._best_cut(limit, sentences=False, lines=True, least=2)
            best = natural
            if anywhere and (not natural or natural[0] < anywhere[0] - _MAX_WASTE):
                best = anywhere
        if best is None:
            return None
        _, head, tail = best
        more = (_Piece(self.columns.cue.x, "left", Styled.plain("(MORE)"), "more"),)
        rest = _Speech(_contd(self.cue), tail, self.columns)
        return cue_rows + self.body_rows(head) + [more], rest

    def _best_cut(
        self, limit: int, *, sentences: bool, lines: bool, least: int
    ) -> tuple[int, _Body, _Body] | None:
        """The cut with the most body rows (at most `limit`), `least` rows each side."""
        best: tuple[int, _Body, _Body] | None = None
        for head, tail in self._cuts(sentences=sentences, lines=lines):
            h = len(self.body_rows(head))
            if h > limit:
                break  # cuts come in reading order, so later ones are taller still
            if h >= least and (best is None or h > best[0]):
                if len(self.body_rows(tail)) >= least:
                    best = (h, head, tail)
        return best

    def _cuts(self, *, sentences: bool, lines: bool) -> Iterator[tuple[_Body, _Body]]:
        """Every allowed place to end the page, in reading order. Natural (`sentences`):
        between parts (not after a parenthetical), sentence ends, typed line breaks;
        else (`lines`) any wrapped line end inside dialogue."""
        body = self.body
        for j, (kind, text) in enumerate(body):
            if j and sentences and body[j - 1][0] is not Kind.PARENTHETICAL:
                yield body[:j], body[j:]
            if kind is Kind.PARENTHETICAL:
                continue
            offsets: list[int] = []
            if sentences:
                offsets += _sentence_ends(text.text)
                offsets += [i for i, ch in enumerate(text.text) if ch == "\n"]
            if lines:
                for start, line in line_offsets(text):
                    spans = wrap(line.text, self.columns.dialogue.width)
                    offsets += [start + end for _, end in spans[:-1]]
            for off in sorted(offsets):
                head, tail = text.cut(0, off).strip(), text.cut(off).strip()
                if len(head) and len(tail):
                    yield body[:j] + [(kind, head)], [(kind, tail)] + body[j + 1 :]


_Body = list[tuple[Kind, Styled]]
_MAX_WASTE = 6  # lines a natural break may leave blank before a mid-sentence one wins


@dataclass
class _Dual:
    """Two speeches side by side; never split (a pair taller than a page goes sequential)."""

    left: _Speech
    right: _Speech
    keep_with_next: bool = False

    def rows(self) -> list[_Row]:
        a = _Speech(self.left.cue, self.left.body, _DUAL_LEFT).rows()
        b = _Speech(self.right.cue, self.right.body, _DUAL_RIGHT).rows()
        return [
            (a[i] if i < len(a) else ()) + (b[i] if i < len(b) else ())
            for i in range(max(len(a), len(b)))
        ]

    def min_rows(self) -> int:
        return len(self.rows())

    def split(self, room: int, *, force: bool = False) -> tuple[list[_Row], _Unit] | None:
        return None


_PAGE_BREAK = "page_break"
_Item = _Unit | str


def _units(elements: Sequence[Element]) -> list[_Item]:
    items: list[_Item] = []
    i = 0
    while i < len(elements):
        el = elements[i]
        i += 1
        text = parse_emphasis(el.text)
        kind = el.kind
        if kind is Kind.CHARACTER:
            body: list[tuple[Kind, Styled]] = []
            while i < len(elements) and elements[i].kind in _SPEECH_PARTS:
                body.append((elements[i].kind, parse_emphasis(elements[i].text)))
                i += 1
            speech = _Speech(text.strip().upper(), body)
            prev = items[-1] if items else None
            if el.dual and isinstance(prev, _Speech):
                items[-1] = _Dual(prev, speech)
            else:
                items.append(speech)
        elif kind is Kind.PAGE_BREAK:
            items.append(_PAGE_BREAK)
        elif kind is Kind.SCENE_HEADING:
            items.append(_Block(_heading_rows(text.strip().upper(), el.scene_number), False, True))
        elif kind is Kind.ACTION:
            items.append(_Block(_rows(text, _ACTION, kind.value), splittable=True))
        elif kind is Kind.TRANSITION:
            items.append(_Block(_rows(text.strip().upper(), _ACTION, kind.value, "right")))
        elif kind is Kind.CENTERED:
            items.append(_Block(_rows(text.strip(), _ACTION, kind.value, "center")))
        elif kind in (Kind.LYRICS, Kind.DIALOGUE, Kind.PARENTHETICAL):
            # Outside a speech: keep the speech columns so the page still reads right.
            items.append(_Block(_Speech(Styled(), [(kind, text)]).body_rows()))
        # SECTION, SYNOPSIS, NOTE, BONEYARD: not printed.
    return items


_SPEECH_PARTS = (Kind.PARENTHETICAL, Kind.DIALOGUE, Kind.LYRICS)


def _heading_rows(text: Styled, number: str | None) -> list[_Row]:
    rows = _rows(text, _ACTION, Kind.SCENE_HEADING.value)
    if number:
        num = Styled.plain(number)
        rows[0] = (
            _Piece(_SCENE_NUMBER_LEFT, "right", num, "scene_number"),
            *rows[0],
            _Piece(_SCENE_NUMBER_RIGHT, "left", num, "scene_number"),
        )
    return rows


def paginate(elements: Sequence[Element]) -> list[Page]:
    """Body pages, numbered from 1 (only pages 2 on print their number)."""
    pages: list[list[_Row]] = [[]]
    queue = _units(elements)
    while queue:
        item = queue.pop(0)
        if isinstance(item, str):  # page break
            if pages[-1]:
                pages.append([])
            continue
        page = pages[-1]
        gap = 1 if page else 0
        room = LINES_PER_PAGE - len(page) - gap
        rows = item.rows()
        upcoming = queue[0] if queue and not isinstance(queue[0], str) else None
        need = len(rows) + (1 + upcoming.min_rows() if item.keep_with_next and upcoming else 0)
        if need <= room or (not page and len(rows) <= room):
            page.extend([()] * gap + rows)
            continue
        parts = item.split(room) if room > 0 else None
        if parts is not None:
            head, rest = parts
            page.extend([()] * gap + head)
            pages.append([])
            queue.insert(0, rest)
        elif page:
            pages.append([])
            queue.insert(0, item)
        elif isinstance(item, _Dual):
            queue[0:0] = [item.left, item.right]
        else:
            # Taller than a page and no allowed cut (say, a giant parenthetical): cut rows.
            forced = item.split(room, force=True) or _Block(item.rows()).split(room, force=True)
            assert forced is not None  # a _Block always splits when forced
            pages[-1].extend(forced[0])
            pages.append([])
            queue.insert(0, forced[1])
    if not pages[-1] and len(pages) > 1:
        pages.pop()
    return [_page(rows, n) for n, rows in enumerate(pages, start=1)]


def _page(rows: list[_Row], number: int) -> Page:
    lines = [
        Line(r, piece.x, piece.text, piece.align, piece.kind)
        for r, row in enumerate(rows)
        for piece in row
    ]
    if number >= 2:
        label = Styled.plain(f"{number}.")
        lines.insert(0, Line(PAGE_NUMBER_ROW, RIGHT_EDGE, label, "right", "page_number"))
    return Page(lines, number)


_CENTRED_KEYS = ("title", "credit", "author", "authors", "source")


def title_page(doc: Document, disclosure: str | None = None) -> Page | None:
    """Title centred a third down, credit/author/source under it, the rest bottom left.

    The disclosure (how the script was made) is centred under the credits, where a reader
    looks for authorship. None when there is nothing to print.
    """
    if not doc.title_page and not disclosure:
        return None
    lines: list[Line] = []
    row = TITLE_ROW
    bottom: list[list[tuple[Styled, str]]] = []
    for key, value in doc.title_page:
        kind = key.strip().lower().replace(" ", "_")
        text = parse_emphasis(value)
        if key.strip().lower() not in _CENTRED_KEYS:
            bottom.append([(t, kind) for t in _wrap_styled(text, _ACTION.width)])
            continue
        for t in _wrap_styled(text, _ACTION.width):
            lines.append(Line(row, _CENTRE, t.strip(), "center", kind))
            row += 1
        row += 2 if kind == "title" else 1
    if disclosure:
        row += 1
        for t in _wrap_styled(Styled.plain(disclosure), _ACTION.width):
            lines.append(Line(row, _CENTRE, t.strip(), "center", "disclosure"))
            row += 1
    flat: list[tuple[Styled, str] | None] = []
    for block in bottom:
        flat += ([None] if flat else []) + list(block)
    start = max(LINES_PER_PAGE - len(flat), row + 1 if lines else 0)
    for offset, entry in enumerate(flat):
        if entry is not None:
            lines.append(Line(start + offset, LEFT_MARGIN, entry[0], "left", entry[1]))
    return Page(lines, None)


def layout(doc: Document, *, disclosure: str | None = None) -> list[Page]:
    """Every page to print: the title page (when there is one), then the body.

    A body with nothing printable adds no page, but the result is never empty: a document
    with neither gets one blank page 1.
    """
    pages: list[Page] = []
    cover = title_page(doc, disclosure)
    if cover is not None:
        pages.append(cover)
    body = paginate(doc.elements)
    if body[0].lines or not pages:
        pages.extend(body)
    return pages
