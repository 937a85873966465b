"""Reading Fountain 1.1: one test per rule, file handling, and the real scripts in shared data."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from soundstage.errors import FormatError
from soundstage.script.formats.elements import Document, Element, Kind
from soundstage.script.formats.fountain import parse_fountain, read_fountain

A, H, C = Kind.ACTION, Kind.SCENE_HEADING, Kind.CHARACTER
D, P, T = Kind.DIALOGUE, Kind.PARENTHETICAL, Kind.TRANSITION


def body(text: str) -> list[Element]:
    return parse_fountain(text).elements


def kinds(text: str) -> list[tuple[Kind, str]]:
    return [(e.kind, e.text) for e in body(text)]


# --- the sampler fixture: every kind in one file -------------------------------------------


def test_sampler_fixture_reads_exactly(fixtures_dir: Path) -> None:
    doc = read_fountain(fixtures_dir / "sampler.fountain")
    assert doc.title_page == [
        ("Title", "_**THE LAST REEL**_\nA test script"),
        ("Credit", "Written by"),
        ("Author", "Soundstage Tests"),
        ("Draft date", "2026-01-02"),
    ]
    assert doc.elements == [
        Element(Kind.SECTION, "ACT ONE", depth=1),
        Element(Kind.SECTION, "The projection booth", depth=2),
        Element(Kind.SYNOPSIS, "Mara learns the reel is missing."),
        Element(H, "INT. PROJECTION BOOTH - NIGHT", scene_number="1"),
        Element(A, "Dust hangs in the beam. MARA (30s) threads a reel.\n    The motor hums."),
        Element(C, "MARA"),
        Element(P, "(to herself)"),
        Element(D, "Where is reel *six*?\n\nIt was here."),
        Element(C, "TOMAS (O.S.)"),
        Element(D, "Check the can."),
        Element(C, "MARA", dual=True),
        Element(D, "I did."),
        Element(Kind.NOTE, "Cut this exchange if the scene runs long."),
        Element(Kind.BONEYARD, " An older opening:\n\nMARA lights a cigarette.\n"),
        Element(H, "FLASHBACK - THE FIRST SCREENING", scene_number="2A", forced=True),
        Element(A, "SILENCE.", forced=True),
        Element(C, "McKAY", forced=True),
        Element(Kind.LYRICS, "Roll, roll the reel,\nspin till the dawn."),
        Element(T, "Smash cut to:", forced=True),
        Element(T, "CUT TO:"),
        Element(Kind.PAGE_BREAK),
        Element(Kind.CENTERED, "THE END"),
    ]


# --- scene headings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "INT. HOUSE - DAY",
        "EXT. PARK--DAY",
        "EST. CITY - DAWN",
        "INT./EXT. CAR - MOVING",
        "INT/EXT CAR",
        "I/E. CAR",
        "INT HOUSE",
        "int. house - day",
    ],
)
def test_scene_heading_prefixes(line: str) -> None:
    assert kinds(f"Before.\n\n{line}\n\nAfter.\n") == [(A, "Before."), (H, line), (A, "After.")]


@pytest.mark.parametrize("line", ["INTERIOR DESIGN", "EXTRA EXTRA", "ESTHER SMILES"])
def test_words_that_start_like_a_heading_are_not_one(line: str) -> None:
    assert kinds(f"{line}\n\nAfter.\n")[0] == (A, line)


def test_heading_needs_a_blank_line_after_it() -> None:
    assert kinds("INT. HOUSE - DAY\nShe enters.\n") == [(A, "INT. HOUSE - DAY\nShe enters.")]


def test_forced_heading_and_its_limits() -> None:
    assert body(".SNIPER SCOPE POV\n")[0] == Element(H, "SNIPER SCOPE POV", forced=True)
    assert kinds("...where the carnival is parked.\n") == [(A, "...where the carnival is parked.")]
    assert kinds(".38 pistol\nin the drawer\n") == [(A, ".38 pistol\nin the drawer")]
    assert body("Before.\n\n.38\n\nAfter.\n")[1] == Element(H, "38", forced=True)


@pytest.mark.parametrize(
    ("line", "text", "number"),
    [
        ("INT. HOUSE - DAY #1#", "INT. HOUSE - DAY", "1"),
        ("INT. HOUSE - DAY #1A#", "INT. HOUSE - DAY", "1A"),
        ("EXT. ROAD #2-B#", "EXT. ROAD", "2-B"),
        ("EXT. ROAD #1.1#", "EXT. ROAD", "1.1"),
        ("INT. ROOM #1# #2#", "INT. ROOM #1#", "2"),
        (".OUTER SPACE #7#", "OUTER SPACE", "7"),
    ],
)
def test_scene_numbers_take_only_the_last_pair(line: str, text: str, number: str) -> None:
    heading = body(f"{line}\n")[0]
    assert (heading.kind, heading.text, heading.scene_number) == (H, text, number)


# --- action ---------------------------------------------------------------------------------


def test_action_keeps_line_breaks_leading_space_and_expands_tabs() -> None:
    text = "He waits.\n    Still waiting.\n\tTabbed.\nDone.  \n"
    assert body(text) == [Element(A, "He waits.\n    Still waiting.\n    Tabbed.\nDone.  ")]


def test_action_paragraphs_are_separate_elements() -> None:
    assert kinds("One.\n\n\n\nTwo.\n") == [(A, "One."), (A, "Two.")]


def test_two_space_line_keeps_an_action_paragraph_together() -> None:
    assert kinds("One.\n  \nTwo.\n") == [(A, "One.\n\nTwo.")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!SCANNING THE AISLES...\nNothing.\n", "SCANNING THE AISLES...\nNothing."),
        ("!EXT. ACTION. FORCED.\n", "EXT. ACTION. FORCED."),
        ("!CUT TO:\n", "CUT TO:"),
        ("!#not a section\n", "#not a section"),
    ],
)
def test_forced_action(text: str, expected: str) -> None:
    assert body(text) == [Element(A, expected, forced=True)]


def test_text_that_is_not_fountain_still_parses_as_action() -> None:
    doc = parse_fountain('{"json": [1, 2, 3]}\n\n<html><body>hi</body></html>\n')
    assert doc.title_page == []
    assert kinds('{"json": [1, 2, 3]}\n\n<html>hi</html>\n') == [
        (A, '{"json": [1, 2, 3]}'),
        (A, "<html>hi</html>"),
    ]


# --- character cues and dialogue -------------------------------------------------------------


@pytest.mark.parametrize(
    "cue",
    ["STEEL", "R2D2", "DR. BENNET", "MOM (O. S.)", "HANS (on the radio)", "BOB (V.O.) (cont'd)"],
)
def test_character_cues(cue: str) -> None:
    assert kinds(f"\n{cue}\nA line.\n") == [(C, cue), (D, "A line.")]


@pytest.mark.parametrize(
    "line",
    ["23", "McCLANE", "CYBER BOSS, 40 (or any age), an ageless,", "INT. HOUSE - DAY"],
)
def test_lines_that_are_not_cues(line: str) -> None:
    assert body(f"{line}\nnext line\n")[0].kind is A


def test_cue_needs_no_blank_line_after_it() -> None:
    assert kinds("BOB\n\nHi.\n") == [(A, "BOB"), (A, "Hi.")]


def test_forced_cue_keeps_its_case() -> None:
    assert body("@McCLANE\nYippie ki-yay!\n") == [
        Element(C, "McCLANE", forced=True),
        Element(D, "Yippie ki-yay!"),
    ]


def test_indentation_is_ignored_in_dialogue() -> None:
    assert body("\t\tBOB\n\t(quietly)\n    Hello\n      there.\n") == [
        Element(C, "BOB"),
        Element(P, "(quietly)"),
        Element(D, "Hello\nthere."),
    ]


def test_dialogue_two_space_line_keeps_it_going_a_plain_blank_does_not() -> None:
    assert kinds("BOB\nOne.\n  \nTwo.\n") == [(C, "BOB"), (D, "One.\n\nTwo.")]
    assert kinds("BOB\nOne.\n\nTwo.\n") == [(C, "BOB"), (D, "One."), (A, "Two.")]


def test_parentheticals_split_dialogue() -> None:
    assert kinds("STEEL\nComing out!\n(pause)\nNo!\n") == [
        (C, "STEEL"),
        (D, "Coming out!"),
        (P, "(pause)"),
        (D, "No!"),
    ]


def test_dual_dialogue_marks_the_second_cue() -> None:
    elements = body("BRICK\nScrew it.\n\nSTEEL ^\nFine.\n")
    assert elements[2] == Element(C, "STEEL", dual=True)
    assert not elements[0].dual


@pytest.mark.parametrize("before", ["", "Some action.\n\n", "# ACT I\n\n"])
def test_dual_marker_without_previous_dialogue_is_ignored(before: str) -> None:
    cue = [e for e in body(f"{before}STEEL ^\nFine.\n") if e.kind is C][0]
    assert cue == Element(C, "STEEL")


def test_lyrics() -> None:
    assert kinds("~Willy Wonka!\n~The amazing chocolatier!\n") == [
        (Kind.LYRICS, "Willy Wonka!\nThe amazing chocolatier!")
    ]
    assert kinds("~This is lyrics\nBut this is not\n") == [(A, "~This is lyrics\nBut this is not")]
    assert kinds("BOB\n~La la la\nSorry.\n") == [
        (C, "BOB"),
        (Kind.LYRICS, "La la la"),
        (D, "Sorry."),
    ]


# --- transitions, centered, page breaks ----------------------------------------------------


def test_transitions() -> None:
    assert kinds("Action.\n\nCUT TO:\n\nINT. B\n") == [
        (A, "Action."),
        (T, "CUT TO:"),
        (H, "INT. B"),
    ]
    assert body("> Burn to White.\n") == [Element(T, "Burn to White.", forced=True)]
    assert kinds("NOT A TRANSITION TO:  \n") == [(A, "NOT A TRANSITION TO:  ")]
    assert kinds("Cut to:\n") == [(A, "Cut to:")]
    assert kinds("CUT TO:\nINT. B\n")[0] == (C, "CUT TO:")  # no blank after: a cue, per spec


def test_indented_fade_out_is_not_a_cue() -> None:
    assert [e.kind for e in body("Action.\n\n    FADE OUT:\n")] == [A, A]


def test_centered_text() -> None:
    assert kinds(">THE END<\n") == [(Kind.CENTERED, "THE END")]
    assert kinds(">  **THE END**  <\n") == [(Kind.CENTERED, "**THE END**")]
    assert kinds(">ACT ONE<\n>THE BOOTH<\nNext\n") == [(A, ">ACT ONE<\n>THE BOOTH<\nNext")]
    assert kinds(">ACT ONE<\n>THE BOOTH<\n") == [(Kind.CENTERED, "ACT ONE\nTHE BOOTH")]


def test_uppercase_centered_line_is_not_a_cue() -> None:
    assert kinds(">BOB<\nHello\n")[0][0] is not C


@pytest.mark.parametrize("line", ["===", "======", "  ===  "])
def test_page_breaks(line: str) -> None:
    assert kinds(f"One.\n\n{line}\n\nTwo.\n") == [(A, "One."), (Kind.PAGE_BREAK, ""), (A, "Two.")]


# --- notes and boneyard --------------------------------------------------------------------


def test_note_alone_is_an_element_inline_note_stays_in_text() -> None:
    assert kinds("[[Check this.]]\n\nShe runs. [[faster?]]\n") == [
        (Kind.NOTE, "Check this."),
        (A, "She runs. [[faster?]]"),
    ]


def test_note_paragraph_with_two_notes_and_multi_line_note() -> None:
    assert kinds("[[one: a]]\n[[two]]\n\n[[three\n\nlines]]\n") == [
        (Kind.NOTE, "one: a"),
        (Kind.NOTE, "two"),
        (Kind.NOTE, "three\n\nlines"),
    ]


def test_text_between_notes_makes_it_action_not_notes() -> None:
    assert kinds("[[a]] junk [[b]]\n") == [(A, "[[a]] junk [[b]]")]


def test_many_notes_on_a_line_parse_in_linear_time() -> None:
    started = time.perf_counter()
    assert kinds("[[a]]" * 3000 + "x\n")[0][0] is A
    assert time.perf_counter() - started < 0.5


def test_blank_lines_inside_an_inline_note_do_not_split_the_paragraph() -> None:
    assert kinds("BOB\nHi [[a\n\nb]] there.\n") == [(C, "BOB"), (D, "Hi [[a\n\nb]] there.")]


def test_boneyard_is_kept_and_the_text_around_it_reads_as_if_absent() -> None:
    assert kinds("This is something.\n/*\nnope\n*/\nOK.\n") == [
        (A, "This is something.\nOK."),
        (Kind.BONEYARD, "\nnope\n"),
    ]
    assert kinds("/*\nnope\n*/\nEXT. MANSION\n\nIt is big.\n") == [
        (Kind.BONEYARD, "\nnope\n"),
        (H, "EXT. MANSION"),
        (A, "It is big."),
    ]


def test_boneyard_keeps_its_place_in_a_dialogue_block() -> None:
    assert kinds("BOB\n/* cut */\nHello.\n") == [
        (C, "BOB"),
        (Kind.BONEYARD, " cut "),
        (D, "Hello."),
    ]


def test_boneyard_spanning_scenes() -> None:
    text = "INT. A\n\nOne.\n\n/*\nINT. B\n\nBOB\nCut line.\n*/\n\nINT. C\n"
    assert kinds(text) == [
        (H, "INT. A"),
        (A, "One."),
        (Kind.BONEYARD, "\nINT. B\n\nBOB\nCut line.\n"),
        (H, "INT. C"),
    ]


def test_inline_boneyard_stays_in_text() -> None:
    assert kinds("He walks /* slowly */ away.\n") == [(A, "He walks /* slowly */ away.")]


def test_stray_closers_are_plain_text() -> None:
    assert kinds("a */ b ]] c\n") == [(A, "a */ b ]] c")]


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("One.\n\nTwo.\n/* never closed\n\nThree.\n", 4, "unclosed boneyard '/*'"),
        ("One.\n\n[[note without end\n", 3, "unclosed note '[['"),
        ("[[a]] then [[b\n", 1, "unclosed note '[['"),
    ],
)
def test_unclosed_spans_raise_with_the_opening_line(text: str, line: int, what: str) -> None:
    with pytest.raises(FormatError) as caught:
        parse_fountain(text, source="draft.fountain")
    assert caught.value.message == f"draft.fountain:{line}: {what}"


# --- sections, synopses, emphasis ----------------------------------------------------------


def test_sections_and_synopses() -> None:
    text = "# ACT I\n\n## Seq\n\n###### Deep\n\n= Set up.\n\n== not a synopsis\n"
    assert body(text) == [
        Element(Kind.SECTION, "ACT I", depth=1),
        Element(Kind.SECTION, "Seq", depth=2),
        Element(Kind.SECTION, "Deep", depth=6),
        Element(Kind.SYNOPSIS, "Set up."),
        Element(A, "== not a synopsis"),
    ]


def test_emphasis_is_kept_as_markup() -> None:
    line = r"*italic* **bold** ***both*** _under_ \*escaped\*"
    assert kinds(line + "\n") == [(A, line)]


# --- title page ------------------------------------------------------------------------------


def test_title_page_keys_values_and_end() -> None:
    doc = parse_fountain(
        "Title:\n\t_**BRICK & STEEL**_\n   _**FULL RETIRED**_\nCredit: Written by\n"
        "Authors: Stu\nDraft date: 6/23/2012\nContact:\n    Next Level\n    555-1212\n"
        "Contact: second value\n\nINT. HOUSE\n"
    )
    assert doc.title_page == [
        ("Title", "_**BRICK & STEEL**_\n_**FULL RETIRED**_"),
        ("Credit", "Written by"),
        ("Authors", "Stu"),
        ("Draft date", "6/23/2012"),
        ("Contact", "Next Level\n555-1212"),
        ("Contact", "second value"),
    ]
    assert doc.elements == [Element(H, "INT. HOUSE")]
    assert doc.title() == "_**BRICK & STEEL**_\n_**FULL RETIRED**_"


def test_single_key_title_page() -> None:
    assert parse_fountain("Draft date: 6/23/2012\n") == Document([("Draft date", "6/23/2012")])


def test_tab_indented_value_with_colon_is_not_a_new_key() -> None:
    doc = parse_fountain("Title:\n\tBOB\n\tEPISODE 1: TRAFFIC CONTROL DOGS\nCredit: by\n")
    assert doc.title_page == [("Title", "BOB\nEPISODE 1: TRAFFIC CONTROL DOGS"), ("Credit", "by")]


def test_note_under_the_title_keys_is_not_a_key() -> None:
    doc = parse_fountain("Title: X\n[[note: with a colon]]\n\nAction.\n")
    assert doc.title_page == [("Title", "X")]
    assert kinds("Title: X\n[[note: with a colon]]\n\nAction.\n") == [
        (Kind.NOTE, "note: with a colon"),
        (A, "Action."),
    ]


@pytest.mark.parametrize(
    "text", ["CUT TO:\n\nINT. HOUSE\n", "EXT. PARK: DAY\n\nHi.\n", "\nTitle: X\n", "CUT TO:\n  \n"]
)
def test_no_title_page(text: str) -> None:
    assert parse_fountain(text).title_page == []


def test_blank_input() -> None:
    assert parse_fountain("") == Document()
    assert parse_fountain("\n\n\n") == Document()


# --- files ------------------------------------------------------------------------------------


def test_read_tolerates_bom_crlf_and_cr(tmp_path: Path) -> None:
    expected = parse_fountain("Title: X\n\nBOB\nHi.\n")
    for name, data in [
        ("bom", b"\xef\xbb\xbfTitle: X\n\nBOB\nHi.\n"),
        ("crlf", b"Title: X\r\n\r\nBOB\r\nHi.\r\n"),
        ("cr", b"Title: X\r\rBOB\rHi.\r"),
    ]:
        path = tmp_path / f"{name}.fountain"
        path.write_bytes(data)
        assert read_fountain(path) == expected, name


def test_parse_accepts_a_bom_too() -> None:
    assert parse_fountain("\ufeffTitle: X\n").title_page == [("Title", "X")]


@pytest.mark.parametrize(
    ("data", "line", "what"),
    [
        (b"One.\n\nTwo \xff three\n", 3, "not valid UTF-8 (byte 0xff)"),
        (b"One.\nTwo.\n\x00\x01\x02", 3, "binary file (NUL byte), not Fountain"),
        ("Title: X\n".encode("utf-16"), 1, "file is UTF-16"),
    ],
)
def test_unreadable_bytes_name_the_line(tmp_path: Path, data: bytes, line: int, what: str) -> None:
    path = tmp_path / "bad.fountain"
    path.write_bytes(data)
    with pytest.raises(FormatError) as caught:
        read_fountain(path)
    assert caught.value.message == f"{path}:{line}: {what}"


def test_read_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "open.fountain"
    path.write_text("Fine.\n\n/* oops\n", encoding="utf-8")
    with pytest.raises(FormatError, match=f"^{path}:3: unclosed boneyard"):
        read_fountain(path)
    with pytest.raises(FormatError, match="cannot read"):
        read_fountain(tmp_path / "missing.fountain")


# --- real scripts in ../shared/data/script --------------------------------------------------


def test_hamlet_counts_and_speed(script_data: Callable[..., Path]) -> None:
    path = script_data("bosak_shakespeare", "hamlet.fountain")
    started = time.perf_counter()
    doc = read_fountain(path)
    elapsed = time.perf_counter() - started
    assert doc.count(C) == 1138
    assert doc.count(A) == 134
    assert doc.count(H) == 20
    assert doc.count(Kind.SECTION) == 5
    assert doc.title() == "The Tragedy of Hamlet, Prince of Denmark"
    assert [e.text for e in doc.elements if e.kind is Kind.SECTION] == [
        f"ACT {n}" for n in ("I", "II", "III", "IV", "V")
    ]
    assert doc.elements[1] == Element(
        H, "SCENE I.  ELSINORE. A PLATFORM BEFORE THE CASTLE.", forced=True
    )
    assert all(e.forced for e in doc.elements if e.kind in (C, A, H))
    assert elapsed < 1.0, f"hamlet.fountain took {elapsed:.2f}s"


def test_cyber_bob(script_data: Callable[..., Path]) -> None:
    doc = read_fountain(script_data("ebscreenplays", "Cyber_Bob_ep00001.fountain"))
    assert doc.title_page == [
        (
            "Title",
            "BOB THE CYBER PAWN AND HIS CYBER CLOUD BOSS THING\nEPISODE 1: TRAFFIC CONTROL DOGS",
        ),
        ("Credit", "by"),
        ("Author", "Richard Alexander Hall"),
        ("Source", "Story by Richard Alexander Hall"),
        ("Copyright", "Dedicated to the Public Domain."),
        ("Contact", "earthbound.io/contact"),
    ]
    first = doc.elements[:4]
    assert first[0] == Element(Kind.BONEYARD, " Draft date: 2019-12-05 ")  # was in the title page
    assert [e.kind for e in first[1:3]] == [Kind.NOTE, Kind.NOTE]
    assert first[1].text.startswith("archival web URL: https://github.com/")
    assert first[3] == Element(T, "FADE IN:", forced=True)
    assert doc.elements[-2:] == [
        Element(T, "FADE OUT:", forced=True),
        Element(Kind.CENTERED, "THE END"),
    ]
    boss = [e for e in doc.elements if e.text.startswith("CYBER BOSS, 40 (or any age)")]
    assert [e.kind for e in boss] == [A]
    cues = {e.text for e in doc.elements if e.kind is C}
    assert cues == {"BOB", "DOG", "MARGARET", "CYBER BOB", "CYBER BOSS", "BOSS"}
    assert [e.text for e in doc.elements if e.kind is H] == [
        "EXT. PARK--DAY",
        "EXT. SUBURBAN TRAFFIC INTERSECTION--DAY",
        "INT. TRAFFIC LIGHT HORIZONTAL BEAM--NIGHT",
    ]
    assert Element(A, '*"SHRINKER-TELEPORTER."*') in doc.elements  # uppercase, blank after: action
    assert doc.count(C) == 35 and doc.count(A) == 35


def test_library_freak_out(script_data: Callable[..., Path]) -> None:
    doc = read_fountain(script_data("ebscreenplays", "THE_LIBRARY_FREAK-OUT.fountain"))
    assert [key for key, _ in doc.title_page] == [
        "Title",
        "Credit",
        "Author",
        "Source",
        "Copyright",
        "Contact",
    ]
    assert doc.get("contact") == "earthbound dot io\nslash contact"
    assert doc.elements[0] == Element(
        Kind.NOTE,
        "URL to search for archival/announce post: http://s.earthbound.io/libraryfreakout",
    )
    assert doc.elements[1].kind is A and doc.elements[1].text.startswith("**Note: the production")
    assert doc.elements[2] == Element(T, "FADE IN:", forced=True)
    assert doc.elements[-2:] == [
        Element(T, "FADE OUT:", forced=True),
        Element(Kind.CENTERED, "THE END"),
    ]
    nar_song = next(e for e in doc.elements if e.text.startswith("Neema-sasim"))
    assert nar_song.kind is D and nar_song.text.split("\n")[1] == "NEEEE-ma-sasim neemasasim,"
    assert "PATRONS THREE AND FOUR" in {e.text for e in doc.elements if e.kind is C}
    assert doc.count(H) == 3 and doc.count(P) == 5 and doc.count(C) == 51
