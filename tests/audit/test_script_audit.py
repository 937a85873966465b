"""The script audit against hand counts on three small scripts (Fountain, FDX, a project's
screenplay JSON), its cast file errors, the CLI, and the report in a real browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_runner import run_soundstage

from soundstage.audit.reports.script import script_report, verdict
from soundstage.audit.script import (
    CastFileError,
    age_from,
    audit_script,
    cast_from_screenplay,
    normalise_cue,
    read_cast,
    speeches,
)
from soundstage.audit.types import Person
from soundstage.script.formats.fdx import parse_fdx, write_fdx
from soundstage.script.formats.fountain_read import parse_fountain
from soundstage.script.render import render
from soundstage.script.types import Character, Dialogue, Line, Place, Scene, Screenplay

KITCHEN = """Title: The Kitchen

INT. KITCHEN - NIGHT

MARA stirs the pot. She tastes it and frowns.

MARA
This needs salt. Where is the salt?

JUNE (O.S.)
Top shelf, behind the flour.

MARA
(reaching)
Got it. Thanks, June.

JUNE
Did Tom call?

MARA
He did. He's late again.

EXT. GARDEN - DAY

June quietly waters the roses. Tom walks in.

TOM
The car broke down.

JUNE
Of course it did.

INT. KITCHEN - LATER

JUNE
The soup smells good.

MARA
It's my mother's recipe.
"""
CAST = "name,gender,age\nMara Quill,female,34\nJune,female,\nTom,male,41\n"

# Two women who only ever talk about a man; a third speaker nobody declared.
GARAGE = """INT. GARAGE - DAY

ROSA
Has Daniel fixed the van yet?

IDA (CONT'D)
Not yet. He says Tuesday.

DANIEL
(under the van)
Tuesday. Maybe Wednesday.

ROSA
Ask him again, Ida.

COURIER
Parcel for Rosa Bell.
"""


def kitchen_cast(tmp_path: Path) -> list[Person]:
    path = tmp_path / "cast.csv"
    path.write_text(CAST, encoding="utf-8")
    return read_cast(path)


def test_kitchen_matches_the_hand_count(tmp_path: Path) -> None:
    audit = audit_script(parse_fountain(KITCHEN), kitchen_cast(tmp_path))
    # MARA 7 + 4 + 5 + 4, JUNE 5 + 3 + 4 + 4, TOM 4 ("He's" and "It's" are one word each)
    assert audit.words_by_character == {"MARA": 20, "JUNE": 16, "TOM": 4}
    assert (audit.scenes, audit.speeches, audit.words) == (3, 9, 40)
    assert audit.dialogue_share == {"female": 0.9, "male": 0.1}
    assert audit.dialogue_share_100 == {}  # nobody reaches the Pudding's 100 words
    assert audit.speaking_characters == {"female": 2, "male": 1}
    assert audit.lead == {"cue": "MARA", "gender": "female", "words": 20}
    assert audit.words_by_age == {"female": {"31-40": 20, "unknown": 16}, "male": {"41-50": 4}}
    assert audit.first_last == {"first": {"female": 2, "male": 1}, "last": {"female": 3}}
    assert audit.action_verbs == {
        "female": [("stirs", 1), ("tastes", 1), ("waters", 1)],
        "male": [("walks", 1)],
    }
    b = audit.bechdel
    assert b.score == 3 and b.women == ["MARA", "JUNE"] and b.passing_scenes == [1, 3]
    # "Did Tom call?" / "He did." is an exchange about a man: never evidence of a pass
    assert all("Tom" not in " ".join(t for _, t in e["lines"]) for e in b.evidence)
    assert audit.unknown == [] and audit.cast[0].source == "cast.csv:2"


def test_garage_fails_bechdel_at_step_three_and_keeps_unknowns_unknown(tmp_path: Path) -> None:
    cast = tmp_path / "cast.csv"
    cast.write_text("name,gender\nRosa Bell,F\nIda,woman\nDaniel,Male\n", encoding="utf-8")
    doc = parse_fdx(write_fdx(parse_fountain(GARAGE)))  # read back through Final Draft
    audit = audit_script(doc, read_cast(cast))
    assert audit.words_by_character == {"ROSA": 10, "IDA": 5, "DANIEL": 3, "COURIER": 4}
    assert audit.dialogue_share == {"female": 0.6818, "male": 0.1364, "unknown": 0.1818}
    assert audit.unknown == ["COURIER"] and "COURIER" in audit.notes[0]
    b = audit.bechdel
    assert b.score == 2 and b.passing_scenes == []
    assert b.evidence[0]["mentions"] == ["Daniel", "He"]
    text = verdict(audit)
    assert "fails the Bechdel–Wallace test at step 3" in text and "counted as unknown" in text


def test_a_projects_declared_cast_is_used(tmp_path: Path) -> None:
    sp = Screenplay(
        logline="A keeper and a smuggler.",
        title="Light",
        characters=[
            Character("ada-quill", "Ada Quill", "(63) the keeper", pronouns="she/her"),
            Character("sam-reyes", "Sam Reyes", "(20s) a smuggler", gender="nonbinary"),
            Character("ben", "Ben", "a boy", pronouns="they/them"),
        ],
        scenes=[Scene("s1", "LIGHTHOUSE", "Setup", "They meet.", ("ada-quill", "sam-reyes"))],
        places=[Place("LIGHTHOUSE")],
        dialogue={
            "s1": Dialogue(
                "s1",
                (
                    Line("ada-quill", "Who goes there?"),
                    Line("sam-reyes", "A friend, with cargo."),
                    Line("ben", "Me too."),
                ),
                action="Ada climbs the stairs.",
            )
        },
    )
    cast = cast_from_screenplay(sp)
    assert [(p.cue, p.gender, p.age) for p in cast] == [
        ("ADA", "female", 63),
        ("SAM", "nonbinary", 25),
        ("BEN", "unknown", None),  # "they" declares no gender; "a boy" is not read as one
    ]
    audit = audit_script(render(sp), cast, title=sp.title)
    assert audit.words_by_character == {"ADA": 3, "SAM": 4, "BEN": 2}
    assert audit.lead["cue"] == "SAM" and audit.bechdel.score == 0
    assert audit.action_verbs == {"female": [("climbs", 1)]}


def test_cue_words_and_age_parsing() -> None:
    assert normalise_cue("^BEN (CONT'D)") == "BEN" and normalise_cue("MRS. DALLOWAY (V.O.)") == (
        "MRS. DALLOWAY"
    )
    assert [age_from(t) for t in ("(63)", "(40s) tired", "a 30-year-old nurse", "tall")] == [
        63,
        45,
        30,
        None,
    ]
    said = speeches(parse_fountain("INT. A - DAY\n\nBO\nOne two\n(beat)\nthree.\n"))
    assert [(s.cue, s.words) for s in said] == [("BO", 3)]  # one speech across a parenthetical


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,age\nAda,30\n", r"cast\.csv:1: the header has no gender column"),
        ("name,gender,age\nAda,female,30\nBo,male,old\n", r"cast\.csv:3: age 'old' is not"),
        ("name,gender\n,female\n", r"cast\.csv:2: name is empty"),
        ("", r"cast\.csv: empty cast file"),
    ],
)
def test_cast_file_errors_name_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "cast.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CastFileError, match=message):
        read_cast(path)


def test_cli_writes_report_and_refuses_bad_input(settings: object, tmp_path: Path) -> None:
    script = tmp_path / "kitchen.fountain"
    script.write_text(KITCHEN, encoding="utf-8")
    (tmp_path / "cast.csv").write_text(CAST, encoding="utf-8")
    out = tmp_path / "audit"
    done = run_soundstage(
        "audit", "script", str(script), "--cast", str(tmp_path / "cast.csv"), "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert "Women speak 90.0% of the dialogue" in done.stdout
    data = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    assert data["words_by_character"]["MARA"] == 20 and data["bechdel"]["score"] == 3
    assert data["reference"]["pudding"]["female_share_of_words"] == 0.281
    page = (out / "audit.html").read_text(encoding="utf-8")
    assert "passes the Bechdel–Wallace test (scenes 1 and 3)" in page and "<svg" in page
    remote = r"""(src|href)\s*=\s*["']?(https?:)?//|url\((?!#)"""
    assert not re.search(remote, page)  # self-contained
    done = run_soundstage("audit", "script", str(script), "--json")
    assert json.loads(done.stdout)["dialogue_share"] == {"unknown": 1.0}
    bad = tmp_path / "bad.csv"
    bad.write_text("name,gender,age\nAda,female,x\n", encoding="utf-8")
    for args, why in (
        (("--cast", str(bad)), f"{bad}:2: age 'x'"),
        (("--cast", str(tmp_path / "none.csv")), "no such cast file"),
    ):
        done = run_soundstage("audit", "script", str(script), *args)
        assert done.returncode != 0 and why in done.stderr and "Traceback" not in done.stderr
    done = run_soundstage("audit", "script", "no-such-project")
    assert done.returncode != 0 and "no such script file or project" in done.stderr


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Chromium not installed")
def test_report_page_in_a_browser_uses_no_network(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from playwright.sync_api import sync_playwright

    from soundstage.audit.report import render_html

    report = script_report(audit_script(parse_fountain(KITCHEN), kitchen_cast(tmp_path)))
    page_file = tmp_path / "audit.html"
    page_file.write_text(render_html(report), encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        try:
            page = browser.new_page(viewport={"width": 390, "height": 800})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_file.as_uri())
            assert page.locator("figure[role=img] svg").count() == 2
            assert page.get_by_role("heading", name="Bechdel–Wallace: 3 of 3").is_visible()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390 + 1, width  # reads at phone width, no sideways scrolling
        finally:
            browser.close()
    assert [u for u in requests if not u.startswith("file:")] == []


def test_every_plotted_figure_is_in_the_json(tmp_path: Path) -> None:
    report = script_report(audit_script(parse_fountain(KITCHEN), kitchen_cast(tmp_path)))
    assert report.data["pudding_band"] == "≥ 60%" and report.data["words"] == 40
    assert "(90.0%) falls in the band ≥ 60%" in report.figures[0].alt
    assert json.loads(json.dumps(report.data)) == report.data  # plain JSON, nothing lost
