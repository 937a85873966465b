"""Inline emphasis: Fountain's `*italic*`, `**bold**`, `***both***` and `_underline_` markup.

The format model keeps emphasis as Fountain markup inside element text, so nothing is lost
between formats; the page (PDF) and FDX need styled runs instead. `parse_emphasis` turns
markup into a `Styled` text (characters plus a style flag each) and `to_markup` turns it back.
Rules follow Fountain: emphasis does not cross line breaks, `\\*` escapes, and Markdown-like
spacing decides whether a star opens emphasis (`*69 and then *23` has none).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

BOLD, ITALIC, UNDERLINE = 1, 2, 4
_STAR_FLAGS = {1: ITALIC, 2: BOLD, 3: BOLD | ITALIC}
_MARKS = {BOLD: "**", ITALIC: "*", UNDERLINE: "_"}
_OPEN_ORDER = (BOLD, ITALIC, UNDERLINE)


@dataclass(frozen=True)
class Styled:
    """Visible text with one style mask (BOLD | ITALIC | UNDERLINE) per character.

    Per-character styles make wrapping and splitting trivial: slice the text, slice the
    styles. `spans()` regroups them into runs for drawing or FDX `<Text>` elements.
    """

    text: str = ""
    styles: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if len(self.styles) != len(self.text):
            raise ValueError("Styled needs exactly one style per character")

    @classmethod
    def plain(cls, text: str, style: int = 0) -> Styled:
        return cls(text, (style,) * len(text))

    def __len__(self) -> int:
        return len(self.text)

    def __add__(self, other: Styled) -> Styled:
        return Styled(self.text + other.text, self.styles + other.styles)

    def cut(self, start: int, end: int | None = None) -> Styled:
        return Styled(self.text[start:end], self.styles[start:end])

    def spans(self) -> list[tuple[str, int]]:
        """Maximal runs of equal style, in order."""
        runs: list[tuple[str, int]] = []
        start = 0
        for i in range(1, len(self.text) + 1):
            if i == len(self.text) or self.styles[i] != self.styles[start]:
                runs.append((self.text[start:i], self.styles[start]))
                start = i
        return runs

    def lines(self) -> list[Styled]:
        out: list[Styled] = []
        start = 0
        for i, ch in enumerate(self.text + "\n"):
            if ch == "\n":
                out.append(self.cut(start, i))
                start = i + 1
        return out

    def upper(self) -> Styled:
        # Character by character so the length (and the style alignment) never changes.
        text = "".join(c.upper() if len(c.upper()) == 1 else c for c in self.text)
        return Styled(text, self.styles)

    def with_style(self, flags: int) -> Styled:
        return Styled(self.text, tuple(s | flags for s in self.styles))

    def strip(self) -> Styled:
        start, end = 0, len(self.text)
        while start < end and self.text[start].isspace():
            start += 1
        while end > start and self.text[end - 1].isspace():
            end -= 1
        return self.cut(start, end)

    def expand_tabs(self) -> Styled:
        if "\t" not in self.text:
            return self
        out = Styled()
        for chunk, style in self.spans():
            out += Styled.plain(chunk.replace("\t", "    "), style)
        return out


@dataclass(frozen=True)
class _Delim:
    char: str
    size: int
    opens: bool
    closes: bool


def parse_emphasis(markup: str) -> Styled:
    """Fountain emphasis → styled text. Markers never cross a line break; `\\*` is a literal.

    A delimiter run opens when followed by non-space and closes when preceded by non-space
    (`_` also must not touch a letter or digit on its outer side, so `snake_case_name` stays
    plain). It pairs with the nearest later run of the same character and length; unpaired
    runs stay literal, so `*69 and then *23` has no italics.
    """
    out = Styled()
    for i, line in enumerate(markup.split("\n")):
        if i:
            out += Styled.plain("\n")
        tokens = _tokens(line)
        out += _match(tokens, 0, len(tokens), 0)
    return out


def _tokens(line: str) -> list[str | _Delim]:
    tokens: list[str | _Delim] = []
    buf: list[str] = []
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line) and line[i + 1] in "*_":
            buf.append(line[i + 1])
            i += 2
            continue
        if ch not in "*_":
            buf.append(ch)
            i += 1
            continue
        j = i
        while j < len(line) and line[j] == ch:
            j += 1
        before = line[i - 1] if i else " "
        after = line[j] if j < len(line) else " "
        opens, closes = not after.isspace(), not before.isspace()
        if ch == "_":
            opens, closes = opens and not before.isalnum(), closes and not after.isalnum()
        if (ch == "*" and j - i <= 3) or (ch == "_" and j - i == 1):
            if buf:
                tokens.append("".join(buf))
                buf = []
            tokens.append(_Delim(ch, j - i, opens, closes))
        else:
            buf.append(line[i:j])
        i = j
    if buf:
        tokens.append("".join(buf))
    return tokens


def _match(tokens: list[str | _Delim], lo: int, hi: int, style: int) -> Styled:
    out = Styled()
    k = lo
    while k < hi:
        tok = tokens[k]
        if isinstance(tok, str):
            out += Styled.plain(tok, style)
            k += 1
            continue
        close = -1
        if tok.opens:
            for m in range(k + 1, hi):
                other = tokens[m]
                if (
                    isinstance(other, _Delim)
                    and (other.char, other.size) == (tok.char, tok.size)
                    and other.closes
                ):
                    close = m
                    break
        if close < 0:
            out += Styled.plain(tok.char * tok.size, style)
            k += 1
            continue
        flag = UNDERLINE if tok.char == "_" else _STAR_FLAGS[tok.size]
        out += _match(tokens, k + 1, close, style | flag)
        k = close + 1
    return out


def to_markup(text: Styled) -> str:
    """Styled text → the Fountain markup that parses back to it (emphasis on spaces aside).

    Spaces take the styles shared by their neighbours, so markers always hug words. Literal
    `*` and `_` are escaped only when needed: first none, then those that could open or
    close emphasis (not `snake_case`), then all. If nothing parses back (styles markup
    cannot express, like bold touching bold-italic), the emphasis is dropped, the text kept.
    """
    target = _settle_spaces(text)
    for escape in ("none", "active", "all"):
        candidate = _compose(target, escape)
        if parse_emphasis(candidate) == target:
            return candidate
    return _compose(Styled.plain(text.text), "all")


def _escaped(line: str, mode: str) -> set[int]:
    """Offsets of the literal markers in `line` to write as `\\*` / `\\_`."""
    if mode == "none":
        return set()
    marks = {i for i, ch in enumerate(line) if ch in "*_"}
    if mode == "all":
        return marks
    active = set()
    for i in marks:
        j, k = i, i  # the run of equal markers around i
        while j > 0 and line[j - 1] == line[i]:
            j -= 1
        while k + 1 < len(line) and line[k + 1] == line[i]:
            k += 1
        before = line[j - 1] if j else " "
        after = line[k + 1] if k + 1 < len(line) else " "
        if line[i] == "_" and (before.isalnum() or after.isalnum()):
            continue
        if not before.isspace() or not after.isspace():
            active.add(i)
    return active


def _settle_spaces(text: Styled) -> Styled:
    styles = list(text.styles)
    for start, line in line_offsets(text):
        words = [i for i, ch in enumerate(line.text) if not ch.isspace()]
        for i, ch in enumerate(line.text):
            if ch.isspace():
                left = [w for w in words if w < i]
                right = [w for w in words if w > i]
                shared = line.styles[left[-1]] & line.styles[right[0]] if left and right else 0
                styles[start + i] = shared
    for i, ch in enumerate(text.text):
        if ch == "\n":
            styles[i] = 0
    return Styled(text.text, tuple(styles))


def line_offsets(text: Styled) -> Iterator[tuple[int, Styled]]:
    start = 0
    for line in text.lines():
        yield start, line
        start += len(line) + 1


def _compose(text: Styled, escape: str) -> str:
    lines: list[str] = []
    for line in text.lines():
        out: list[str] = []
        stack: list[int] = []
        escaped = _escaped(line.text, escape)
        pos = 0
        for chunk, style in line.spans():
            keep = 0
            while keep < len(stack) and stack[keep] & style:
                keep += 1
            out.extend(_MARKS[f] for f in reversed(stack[keep:]))
            del stack[keep:]
            for flag in _OPEN_ORDER:
                if style & flag and flag not in stack:
                    stack.append(flag)
                    out.append(_MARKS[flag])
            out.extend("\\" + ch if pos + i in escaped else ch for i, ch in enumerate(chunk))
            pos += len(chunk)
        out.extend(_MARKS[f] for f in reversed(stack))
        lines.append("".join(out))
    return "\n".join(lines)
