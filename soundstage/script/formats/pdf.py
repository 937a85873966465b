"""Industry-layout PDF export: paints the pages `layout.layout` computed.

Courier Prime 12 pt (SIL OFL 1.1, bundled under `fonts/` with its licence) is embedded as
TrueType subsets in its four faces, so bold, italic and underline show as written. If the
font files are missing (a broken install), the PDF core Courier is used instead: same
metrics, so the layout is identical, but not embedded and Latin-1 only; a warning is
logged. Drawing uses reportlab's canvas; output is byte-for-byte reproducible.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any

from soundstage.script.formats.elements import Document
from soundstage.script.formats.emphasis import BOLD, ITALIC, UNDERLINE, parse_emphasis
from soundstage.script.formats.fdx import save_bytes
from soundstage.script.formats.layout import (
    CHARS_PER_INCH,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    Line,
    Page,
    layout,
)

log = logging.getLogger(__name__)

FONT_DIR = Path(__file__).with_name("fonts")
FONT_SIZE = 12.0
_PT = 72.0  # points per inch
_BASELINE = 8.3  # pt below a line box's top: Courier Prime's ascent share of a 12 pt line
_FACES = {  # style mask → (Courier Prime face, core-font fallback); files are fonts/FACE.ttf
    0: ("CourierPrime-Regular", "Courier"),
    BOLD: ("CourierPrime-Bold", "Courier-Bold"),
    ITALIC: ("CourierPrime-Italic", "Courier-Oblique"),
    BOLD | ITALIC: ("CourierPrime-BoldItalic", "Courier-BoldOblique"),
}


def _fonts() -> dict[int, str]:
    """Style mask → registered font name; registers Courier Prime once per process."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    names: dict[int, str] = {}
    for mask, (name, core) in _FACES.items():
        if name in pdfmetrics.getRegisteredFontNames():
            names[mask] = name
            continue
        try:
            pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / f"{name}.ttf")))
            names[mask] = name
        except Exception as exc:  # reportlab raises its own TTFError or OSError
            log.warning("Courier Prime unavailable (%s); using the PDF core %s", exc, core)
            names[mask] = core
    return names


def render_pdf(doc: Document, *, disclosure: str | None = None) -> bytes:
    """The screenplay as PDF bytes: title page (if any), then numbered body pages."""
    from reportlab.pdfgen.canvas import Canvas

    fonts = _fonts()
    buf = io.BytesIO()
    canvas = Canvas(
        buf,
        pagesize=(PAGE_WIDTH * _PT, PAGE_HEIGHT * _PT),
        invariant=1,  # no timestamps or random ids: the same script gives the same bytes
        initialFontName=fonts[0],  # else every page also references an unused Helvetica
        initialFontSize=FONT_SIZE,
    )
    title = doc.title()
    canvas.setTitle(_plain(title) if title else "Screenplay")
    author = doc.get("Author") or doc.get("Authors")
    if author:
        canvas.setAuthor(_plain(author))
    canvas.setCreator("soundstage")
    if disclosure:
        canvas.setSubject(disclosure)
    for page in layout(doc, disclosure=disclosure):
        _draw_page(canvas, page, fonts)
        if disclosure:
            _footer(canvas, disclosure, fonts[0])
        canvas.showPage()
    canvas.save()
    return buf.getvalue()


def write_pdf(
    doc: Document, path: str | os.PathLike[str], *, disclosure: str | None = None
) -> None:
    """Render and write atomically; an unwritable path raises `ExportError`."""
    save_bytes(path, render_pdf(doc, disclosure=disclosure))


def _footer(canvas: Any, disclosure: str, font: str) -> None:
    """The AI-use notice on every page (EU AI Act Art. 50-style visible marking): small,
    centred in the bottom margin, below where screenplay text is ever printed."""
    canvas.setFont(font, 7)
    canvas.setFillGray(0.35)
    canvas.drawCentredString(PAGE_WIDTH * _PT / 2, 0.45 * 72, disclosure)
    canvas.setFillGray(0)


def _plain(markup: str) -> str:
    return parse_emphasis(markup).text.replace("\n", " ")


def _draw_page(canvas: Any, page: Page, fonts: dict[int, str]) -> None:
    for line in page.lines:
        _draw_line(canvas, line, fonts)


def _draw_line(c: Any, line: Line, fonts: dict[int, str]) -> None:
    """Each run is placed on the 10-cpi grid itself, so columns never drift."""
    baseline = (PAGE_HEIGHT - line.y) * _PT - _BASELINE
    x = line.left * _PT
    step = _PT / CHARS_PER_INCH
    for chunk, style in line.text.spans():
        c.setFont(fonts[style & (BOLD | ITALIC)], FONT_SIZE)
        c.drawString(x, baseline, chunk)
        end = x + len(chunk) * step
        if style & UNDERLINE and chunk.strip():
            c.setLineWidth(0.6)
            c.line(x, baseline - 1.8, end, baseline - 1.8)
        x = end


__all__ = ["FONT_DIR", "render_pdf", "write_pdf"]
