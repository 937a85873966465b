"""The PDF as a reader gets it: read back with pypdf (pages, text, positions, fonts)."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from soundstage.errors import ExportError, SoundstageError
from soundstage.script.formats import pdf
from soundstage.script.formats.elements import Document, Element, Kind
from soundstage.script.formats.pdf import render_pdf, write_pdf

E, K = Element, Kind
DISCLOSURE = "Written by Jane Doe with soundstage (drama-lm)"
LONG = " ".join(f"Sentence {i} runs on for a while here." for i in range(20))


def read(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data))


def lines(page: Any) -> list[str]:
    """The page's text lines, without the AI-use footer every page carries."""
    text = [ln.strip() for ln in page.extract_text().splitlines() if ln.strip()]
    return text[:-1] if text and text[-1] == DISCLOSURE else text


def placed(page: Any) -> list[tuple[str, float, float]]:
    """(text, x, y) of every drawn run, in points from the bottom-left corner."""
    runs: list[tuple[str, float, float]] = []

    def visit(text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        if text.strip():
            runs.append((text.strip(), tm[4], tm[5]))

    page.extract_text(visitor_text=visit)
    return runs


def script(**kw: Any) -> Document:
    return Document(
        title_page=[("Title", "**BRICK & STEEL**"), ("Credit", "Written by"), ("Author", "Jane")],
        elements=[
            E(K.SCENE_HEADING, "EXT. PATIO - DAY", scene_number="4"),
            *[E(K.ACTION, f"Beat {i}.") for i in range(20)],
            E(K.CHARACTER, "STEEL"),
            E(K.DIALOGUE, LONG),
            E(K.ACTION, "She **laughs** and _leaves_ in *style*."),
        ],
        **kw,
    )


@pytest.fixture(scope="module")
def reader() -> PdfReader:
    return read(render_pdf(script(), disclosure=DISCLOSURE))


def test_pages_title_then_numbered_body(reader: PdfReader) -> None:
    assert len(reader.pages) == 3  # title page + 2 body pages
    box = reader.pages[1].mediabox
    assert (float(box.width), float(box.height)) == (612.0, 792.0)  # US Letter


def test_every_page_carries_the_ai_notice_in_its_footer(reader: PdfReader) -> None:
    for page in reader.pages:
        footer = [t for text, _x, y in placed(page) for t in [text] if y < 40]
        assert footer == [DISCLOSURE]


def test_title_page_has_the_disclosure_and_no_number(reader: PdfReader) -> None:
    text = lines(reader.pages[0])
    assert text[0] == "BRICK & STEEL" and DISCLOSURE in text
    assert not any(t.endswith(".") and t[:-1].isdigit() for t in text)


def test_page_numbers_start_on_page_two(reader: PdfReader) -> None:
    first, second = lines(reader.pages[1]), lines(reader.pages[2])
    assert "1." not in first and first[:3] == ["4", "EXT. PATIO - DAY", "4"]
    assert second[0] == "2."
    number = next(r for r in placed(reader.pages[2]) if r[0] == "2.")
    assert number[1] + 2 * 7.2 == pytest.approx(540, abs=0.5)  # right edge at 7.5 in
    assert number[2] == pytest.approx(792 - 36 - 8.3, abs=0.5)  # 0.5 in from the top


def test_more_and_contd_where_the_speech_crosses_the_page(reader: PdfReader) -> None:
    first, second = lines(reader.pages[1]), lines(reader.pages[2])
    assert first[-1] == "(MORE)" and first[-2].endswith("here.")
    assert second[1] == "STEEL (CONT'D)"
    everything = [t for p in reader.pages for t in lines(p)]
    assert everything.count("(MORE)") == 1 and everything.count("STEEL (CONT'D)") == 1


def test_positions_on_the_page(reader: PdfReader) -> None:
    runs = {text: (x, y) for text, x, y in placed(reader.pages[1])}
    assert runs["EXT. PATIO - DAY"][0] == pytest.approx(108)  # 1.5 in
    assert runs["STEEL"][0] == pytest.approx(266.4)  # cue at 3.7 in
    assert runs["(MORE)"][0] == pytest.approx(266.4)
    assert runs["EXT. PATIO - DAY"][1] == pytest.approx(792 - 72 - 8.3)  # row 0, 1 in down
    assert runs["(MORE)"][1] == pytest.approx(792 - 72 - 54 * 12 - 8.3)  # row 54
    scene_numbers = sorted(x for text, x, _ in placed(reader.pages[1]) if text == "4")
    assert scene_numbers == pytest.approx([93.6 - 7.2, 554.4])  # both margins


def test_courier_prime_embedded_in_all_faces_used(reader: PdfReader) -> None:
    fonts: dict[str, Any] = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts[str(font["/BaseFont"]).split("+")[-1]] = font
    assert {"CourierPrime", "CourierPrime-Bold", "CourierPrime-Italic"} <= set(fonts)
    for font in fonts.values():
        assert "/FontFile2" in font["/FontDescriptor"].get_object()  # embedded TrueType


def test_fifty_five_lines_a_page() -> None:
    def pages(n: int) -> int:
        doc = Document(elements=[E(K.ACTION, f"Line {i}.") for i in range(n)])
        return len(read(render_pdf(doc)).pages)

    assert [pages(28), pages(29), pages(56), pages(57)] == [1, 2, 2, 3]


def test_empty_documents() -> None:
    only_title = read(render_pdf(Document(title_page=[("Title", "T")]), disclosure=DISCLOSURE))
    assert len(only_title.pages) == 1 and DISCLOSURE in only_title.pages[0].extract_text()
    blank = read(render_pdf(Document()))
    assert len(blank.pages) == 1 and blank.pages[0].extract_text().strip() == ""
    untitled = read(render_pdf(Document(elements=[E(K.ACTION, "Hi.")])))
    assert len(untitled.pages) == 1 and lines(untitled.pages[0]) == ["Hi."]


def test_same_script_same_bytes() -> None:
    assert render_pdf(script()) == render_pdf(script())


def test_write_pdf_and_unwritable_path(tmp_path: Path) -> None:
    out = tmp_path / "s.pdf"
    write_pdf(script(), out, disclosure=DISCLOSURE)
    assert out.read_bytes().startswith(b"%PDF-")
    with pytest.raises(ExportError) as err:
        write_pdf(script(), tmp_path / "no" / "such" / "dir.pdf")
    assert isinstance(err.value, SoundstageError) and "\n" not in str(err.value)
    assert err.value.hint


def test_falls_back_to_core_courier_without_the_font_files(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(pdf, "FONT_DIR", Path("/nonexistent"))
    monkeypatch.setattr(pdf, "_FACES", {0: ("NoSuchFace-Regular", "Courier")})
    doc = Document(elements=[E(K.ACTION, "Plain.")])
    with caplog.at_level(logging.WARNING):
        data = render_pdf(doc)
    assert "Courier Prime unavailable" in caplog.text
    (font,) = read(data).pages[0]["/Resources"]["/Font"].values()
    assert font.get_object()["/BaseFont"] == "/Courier"


def test_font_files_ship_with_their_licence() -> None:
    assert "Courier Prime" in (pdf.FONT_DIR / "OFL.txt").read_text()
    for face, _ in pdf._FACES.values():
        assert (pdf.FONT_DIR / f"{face}.ttf").stat().st_size > 50_000
