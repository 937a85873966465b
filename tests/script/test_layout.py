"""Page layout in lines and inches, with no PDF library; plus inline emphasis."""

from __future__ import annotations

import pytest

from soundstage.script.formats.elements import Document, Element, Kind
from soundstage.script.formats.emphasis import (
    BOLD,
    ITALIC,
    UNDERLINE,
    Styled,
    parse_emphasis,
    to_markup,
)
from soundstage.script.formats.layout import (
    LINES_PER_PAGE,
    Page,
    _sentence_ends,  # the split points dialogue prefers
    layout,
    paginate,
    title_page,
    wrap,
)

E, K = Element, Kind


def actions(n: int) -> list[Element]:
    return [E(K.ACTION, f"Line {i}.") for i in range(n)]


def speech(name: str, sentences: int) -> list[Element]:
    text = " ".join(f"Sentence {i} runs on for a while here." for i in range(sentences))
    return [E(K.CHARACTER, name), E(K.DIALOGUE, text)]


def find(page: Page, kind: str) -> list[tuple[int, float, str]]:
    return [(ln.row, ln.left, ln.plain) for ln in page.lines if ln.kind == kind]


def body_rows(page: Page) -> list[int]:
    return sorted({ln.row for ln in page.lines if ln.row >= 0})


# -- emphasis ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "spans"),
    [
        ("*it*", [("it", ITALIC)]),
        ("**bo**", [("bo", BOLD)]),
        ("***both***", [("both", BOLD | ITALIC)]),
        ("_un_", [("un", UNDERLINE)]),
        ("**bold *and* x**", [("bold ", BOLD), ("and", BOLD | ITALIC), (" x", BOLD)]),
        ("*69 and then *23", [("*69 and then *23", 0)]),
        ("snake_case_name", [("snake_case_name", 0)]),
        ("\\*not\\*", [("*not*", 0)]),
        ("*across\nlines*", [("*across\nlines*", 0)]),
    ],
)
def test_parse_emphasis(markup: str, spans: list[tuple[str, int]]) -> None:
    assert parse_emphasis(markup).spans() == spans


@pytest.mark.parametrize(
    "markup",
    ["**bold *and italic* text**", "***both***", "_u_ and *i*", "*69 and then *23", "\\*x\\*"],
)
def test_to_markup_inverts_canonical_markup(markup: str) -> None:
    assert to_markup(parse_emphasis(markup)) == markup


def test_to_markup_moves_markers_off_spaces_and_escapes_literals() -> None:
    text = Styled.plain("bold ", BOLD) + Styled.plain("*plain*", 0)
    assert to_markup(text) == "**bold** \\*plain\\*"


def test_to_markup_keeps_text_when_markup_cannot_express_the_styles() -> None:
    text = Styled.plain("ab", BOLD) + Styled.plain("cd", BOLD | ITALIC)  # bold touching bold-italic
    assert parse_emphasis(to_markup(text)).text == "abcd"


def test_wrap_breaks_at_spaces_and_cuts_long_words() -> None:
    text = "aaa bbb ccc " + "x" * 12
    assert [text[a:b] for a, b in wrap(text, 8)] == ["aaa bbb", "ccc", "xxxxxxxx", "xxxx"]
    assert wrap("", 10) == [(0, 0)]


# -- the grid and the columns --------------------------------------------------------------------


@pytest.mark.parametrize(("n", "pages"), [(28, 1), (29, 2), (56, 2), (57, 3)])
def test_55_lines_a_page(n: int, pages: int) -> None:
    # n one-line paragraphs with blank lines between fill 2n - 1 lines; 28 take 55.
    result = paginate(actions(n))
    assert len(result) == pages
    assert max(body_rows(result[0])) == LINES_PER_PAGE - 1  # the first page is full


def test_page_29_paragraph_starts_page_two_at_row_zero() -> None:
    pages = paginate(actions(29))
    assert body_rows(pages[0])[-1] == 54
    assert find(pages[1], "action") == [(0, 1.5, "Line 28.")]


def test_element_columns_in_inches() -> None:
    els = [
        E(K.SCENE_HEADING, "int. kitchen - night", scene_number="12A"),
        E(K.ACTION, "She waits."),
        E(K.CHARACTER, "steel"),
        E(K.PARENTHETICAL, "(low)"),
        E(K.DIALOGUE, "Now."),
        E(K.TRANSITION, "cut to:"),
        E(K.CENTERED, "THE END"),
    ]
    (page,) = paginate(els)
    assert find(page, "scene_heading") == [(0, 1.5, "INT. KITCHEN - NIGHT")]
    left, right = find(page, "scene_number")
    assert left == (0, pytest.approx(1.3 - 0.3), "12A") and right == (0, 7.7, "12A")
    assert find(page, "action") == [(2, 1.5, "She waits.")]
    assert find(page, "character") == [(4, 3.7, "STEEL")]
    assert find(page, "parenthetical") == [(5, 3.1, "(low)")]
    assert find(page, "dialogue") == [(6, 2.5, "Now.")]
    assert find(page, "transition") == [(8, pytest.approx(7.5 - 0.7), "CUT TO:")]
    assert find(page, "centered") == [(10, pytest.approx(4.5 - 0.35), "THE END")]
    assert page.lines[0].y == 1.0  # row 0 sits 1 in below the top edge


def test_widths_dialogue_35_action_60_characters() -> None:
    words = " ".join(["word"] * 60)
    (page,) = paginate([E(K.ACTION, words), E(K.CHARACTER, "A"), E(K.DIALOGUE, words)])
    assert max(len(t) for _, _, t in find(page, "action")) == 59  # 12 words of 5 chars
    assert max(len(t) for _, _, t in find(page, "dialogue")) == 34
    assert all(left + len(t) / 10 <= 6.0 for _, left, t in find(page, "dialogue"))


def test_page_numbers_from_page_two_half_an_inch_down() -> None:
    pages = paginate(actions(60))
    assert find(pages[0], "page_number") == []
    assert [(r, t) for r, _, t in find(pages[1], "page_number")] == [(-3, "2.")]
    number = next(ln for ln in pages[2].lines if ln.kind == "page_number")
    assert (number.plain, number.y, number.x, number.align) == ("3.", 0.5, 7.5, "right")


def test_emphasis_is_drawn_not_printed() -> None:
    (page,) = paginate([E(K.ACTION, "A **big** _deal_.")])
    (line,) = page.lines
    assert line.plain == "A big deal."
    assert line.text.spans() == [("A ", 0), ("big", BOLD), (" ", 0), ("deal", UNDERLINE), (".", 0)]


def test_non_printing_elements_are_skipped() -> None:
    els = [
        E(K.SECTION, "ACT ONE", depth=1),
        E(K.SYNOPSIS, "They meet."),
        E(K.NOTE, "fix"),
        E(K.BONEYARD, "old"),
        E(K.ACTION, "Only me."),
    ]
    (page,) = paginate(els)
    assert [ln.plain for ln in page.lines] == ["Only me."]


# -- keeping things together ---------------------------------------------------------------------


def test_heading_never_ends_a_page() -> None:
    # 27 paragraphs use rows 0..52; the heading would land on row 54 with nothing under it.
    pages = paginate([*actions(27), E(K.SCENE_HEADING, "EXT. ROOF - DAY"), E(K.ACTION, "Wind.")])
    assert find(pages[0], "scene_heading") == []
    assert find(pages[1], "scene_heading")[0][0] == 0


def test_cue_never_ends_a_page() -> None:
    pages = paginate([*actions(27), E(K.CHARACTER, "BRICK"), E(K.DIALOGUE, "Hi.")])
    assert find(pages[0], "character") == [] and find(pages[0], "more") == []
    assert find(pages[1], "character") == [(0, 3.7, "BRICK")]


def test_long_speech_splits_with_more_and_contd() -> None:
    els = [*actions(20), E(K.CHARACTER, "STEEL (V.O.)"), *speech("X", 20)[1:]]
    pages = paginate(els)
    assert len(pages) == 2
    more = find(pages[0], "more")
    assert more == [(54, 3.7, "(MORE)")]
    last_dialogue = find(pages[0], "dialogue")[-1]
    assert last_dialogue[0] == 53 and last_dialogue[2].endswith("here.")  # a sentence end
    assert find(pages[1], "character")[0] == (0, 3.7, "STEEL (V.O.) (CONT'D)")
    assert find(pages[1], "dialogue")[0][2].startswith("Sentence")
    shown = " ".join(t for p in pages for _, _, t in find(p, "dialogue"))
    assert shown.split() == speech("X", 20)[1].text.split()  # nothing lost or repeated


def test_speech_over_two_pages_continues_twice_without_doubling_contd() -> None:
    pages = paginate([E(K.CHARACTER, "BRICK (CONT'D)"), *speech("X", 120)[1:]])
    assert len(pages) == 3
    assert [len(find(p, "more")) for p in pages] == [1, 1, 0]
    assert find(pages[1], "character")[0][2] == "BRICK (CONT'D)"
    assert find(pages[2], "character")[0][2] == "BRICK (CONT'D)"


def test_speech_falls_back_to_a_line_end_without_sentence_ends() -> None:
    text = " ".join(["word"] * 200)  # no sentence end at all
    pages = paginate([*actions(20), E(K.CHARACTER, "A"), E(K.DIALOGUE, text)])
    assert find(pages[0], "more")[0][0] == 54
    assert find(pages[0], "dialogue")[-1][0] == 53


def test_speech_splits_mid_sentence_rather_than_waste_the_page() -> None:
    # Sentence ends only early on, then 70 lines of a single sentence: a natural cut would
    # leave most of the page blank, so the cut goes at the last wrapped line that fits.
    text = "Short one. Short two. Short three. Short four. " + " ".join(["and on"] * 350) + "."
    pages = paginate([E(K.CHARACTER, "A"), E(K.DIALOGUE, text)])
    assert find(pages[0], "more")[0][0] == 54


def test_speech_splits_at_typed_line_breaks() -> None:
    verse = "\n".join(f"Verse line {i} with no full stop" for i in range(60))
    pages = paginate([E(K.CHARACTER, "A"), E(K.DIALOGUE, verse)])
    last = find(pages[0], "dialogue")[-1]
    assert last[0] == 53 and last[2].endswith("stop")
    assert find(pages[1], "dialogue")[0][2].startswith("Verse line")


def test_speech_needs_two_lines_each_side_to_split() -> None:
    # 26 paragraphs fill rows 0..50; rows 52..54 hold cue + one line + (MORE), which the
    # two-lines rule forbids, so the three-line speech moves whole to the next page.
    text = "One two three. Four five six. Seven eight nine. Ten eleven twelve. Thirteen. Fourteen."
    pages = paginate([*actions(26), E(K.CHARACTER, "A"), E(K.DIALOGUE, text)])
    assert find(pages[0], "character") == [] and find(pages[0], "more") == []
    assert len(find(pages[1], "dialogue")) == 3 and find(pages[1], "character")[0][0] == 0


def test_action_splits_between_lines_two_at_least_each_side() -> None:
    long_action = " ".join(f"Beat {i}." for i in range(80))  # about 11 lines
    pages = paginate([*actions(24), E(K.ACTION, long_action)])
    first, second = find(pages[0], "action"), find(pages[1], "action")
    assert first[-1][0] == 54 and first[-1][2].endswith(".")
    assert len(first) - 24 >= 2 and len(second) >= 2


def test_page_break_starts_a_page_and_is_a_noop_at_the_top() -> None:
    els = [E(K.PAGE_BREAK), E(K.ACTION, "One"), E(K.PAGE_BREAK), E(K.ACTION, "Two")]
    pages = paginate([*els, E(K.PAGE_BREAK)])
    assert [[ln.plain for ln in p.lines if ln.row >= 0] for p in pages] == [["One"], ["Two"]]


def test_dual_dialogue_side_by_side() -> None:
    els = [
        E(K.CHARACTER, "BRICK"),
        E(K.DIALOGUE, "Left."),
        E(K.CHARACTER, "STEEL", dual=True),
        E(K.PARENTHETICAL, "(loud)"),
        E(K.DIALOGUE, "Right."),
    ]
    (page,) = paginate(els)
    (brick, steel) = find(page, "character")
    assert brick[0] == steel[0] == 0 and brick[1] < 4.25 < steel[1]
    assert find(page, "dialogue") == [(1, 1.5, "Left."), (2, 4.6, "Right.")]
    assert page.rows()[1] == "Left. (loud)"


def test_dual_dialogue_taller_than_a_page_goes_sequential() -> None:
    els = [*speech("BRICK", 60), E(K.CHARACTER, "STEEL", dual=True), E(K.DIALOGUE, "Hi.")]
    pages = paginate(els)
    cues = [(t, left) for p in pages for _, left, t in find(p, "character")]
    assert ("BRICK", 3.7) in cues and ("STEEL", 3.7) in cues


# -- the title page ------------------------------------------------------------------------------


def test_title_page_positions_and_disclosure() -> None:
    doc = Document(
        title_page=[
            ("Title", "**BRICK & STEEL**"),
            ("Credit", "Written by"),
            ("Author", "Jane Doe"),
            ("Draft date", "1 May 2025"),
            ("Contact", "jane@example.com\n555 0100"),
        ]
    )
    page = title_page(doc, "Written by Jane Doe with soundstage (drama-lm)")
    assert page is not None and page.is_title_page
    (title,) = [ln for ln in page.lines if ln.kind == "title"]
    assert title.plain == "BRICK & STEEL" and title.align == "center" and title.x == 4.5
    assert abs(title.y - 11 / 3) < 0.1  # a third of the way down
    assert title.text.spans() == [("BRICK & STEEL", BOLD)]
    assert title.row == 16  # then two blank lines, the credit, one blank, the author
    assert (find(page, "credit")[0][0], find(page, "author")[0][0]) == (19, 21)
    assert find(page, "disclosure")[0][2] == "Written by Jane Doe with soundstage (drama-lm)"
    contact = find(page, "contact")
    assert contact[-1] == (54, 1.5, "555 0100")  # bottom left
    assert find(page, "draft_date")[0][1] == 1.5 and find(page, "draft_date")[0][0] < 54
    assert find(page, "page_number") == []


def test_layout_title_page_rules() -> None:
    body = Document(elements=[E(K.ACTION, "x")])
    assert [p.number for p in layout(body)] == [1]  # empty title page: none printed
    assert [p.number for p in layout(body, disclosure="made with soundstage")] == [None, 1]
    titled = Document(title_page=[("Title", "T")])
    assert [p.number for p in layout(titled)] == [None]  # nothing printable: title only
    (blank,) = layout(Document())
    assert blank.number == 1 and blank.lines == []


def test_a_parenthetical_taller_than_a_page_is_cut_by_rows() -> None:
    giant = "(" + " ".join(["whisper"] * 400) + ")"
    pages = paginate([E(K.CHARACTER, "A"), E(K.PARENTHETICAL, giant), E(K.DIALOGUE, "Hi.")])
    assert len(pages) >= 3
    assert all(max(body_rows(p)) <= LINES_PER_PAGE - 1 for p in pages)
    assert find(pages[-1], "dialogue")[-1][2] == "Hi."


def test_sentence_ends_skip_titles_like_mr() -> None:
    text = "Ask Mr. Smith. He knows! Dr. No? Yes."
    assert [text[:i].split()[-1] for i in _sentence_ends(text)] == ["Smith.", "knows!", "No?"]
