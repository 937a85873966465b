"""Final Draft XML: round trips, the XML we write, what we accept from others, bad input."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from soundstage.errors import ExportError, FormatError, SoundstageError
from soundstage.script.formats.elements import Document, Element, Kind
from soundstage.script.formats.fdx import parse_fdx, read_fdx, save_fdx, write_fdx

E, K = Element, Kind

EVERYTHING = Document(
    title_page=[
        ("Title", "**BRICK & STEEL**"),
        ("Credit", "Written by"),
        ("Author", "Stu Maschwitz"),
        ("Source", "Based on the story by Jane Roe"),
        ("Draft date", "1 May 2025"),
        ("Contact", "Next Level Productions\n1588 Mission Dr.\nSolvang, CA 93463"),
        ("Copyright", "(c) 2025 Stu Maschwitz"),
    ],
    elements=[
        E(K.SECTION, "ACT ONE", depth=1),
        E(K.SECTION, "The Heist", depth=2),
        E(K.SECTION, "Deep", depth=4),
        E(K.SYNOPSIS, "Brick and Steel meet their match."),
        E(K.SCENE_HEADING, "EXT. BRICK'S PATIO - DAY", scene_number="1A"),
        E(
            K.ACTION,
            "A gorgeous day. The sun is *shining*.\nBut **BRICK BRADDOCK** is _not_ happy.",
        ),
        E(K.NOTE, "This is a note"),
        E(K.ACTION, "Prices: *69 and then *23. ***Both***."),
        E(K.ACTION, "\\*Not italic\\* needs its escapes; snake_case_name does not."),
        E(K.CHARACTER, "STEEL (V.O.)"),
        E(K.PARENTHETICAL, "(beer raised)"),
        E(K.DIALOGUE, "To retirement."),
        E(K.CHARACTER, "BRICK"),
        E(K.DIALOGUE, "To retirement."),
        E(K.LYRICS, "Row, row, row your boat"),
        E(K.PAGE_BREAK),
        E(K.CHARACTER, "BRICK"),
        E(K.DIALOGUE, "Screw retirement."),
        E(K.CHARACTER, "STEEL", dual=True),
        E(K.DIALOGUE, "Screw retirement."),
        E(K.TRANSITION, "SMASH CUT TO:"),
        E(K.BONEYARD, " an old scene\nwe cut "),
        E(K.SCENE_HEADING, "INT. GARAGE - NIGHT"),
        E(K.PAGE_BREAK),
        E(K.PAGE_BREAK),
        E(K.CENTERED, "THE END"),
        E(K.PAGE_BREAK),
    ],
)


def test_round_trip_covers_every_kind_and_flag() -> None:
    kinds_used = {e.kind for e in EVERYTHING.elements}
    assert kinds_used == set(Kind)  # the fixture really covers the whole model
    assert parse_fdx(write_fdx(EVERYTHING)) == EVERYTHING


def test_round_trip_through_a_file(tmp_path: Path) -> None:
    path = tmp_path / "brick.fdx"
    save_fdx(EVERYTHING, path)
    assert read_fdx(path) == EVERYTHING
    assert [p.name for p in tmp_path.iterdir()] == ["brick.fdx"]  # no temp file left


def test_written_xml_shape() -> None:
    root = ET.fromstring(write_fdx(EVERYTHING))
    assert root.tag == "FinalDraft"
    assert root.attrib == {"DocumentType": "Script", "Template": "No", "Version": "5"}
    paras = root.findall("Content/Paragraph")
    types = [p.get("Type") for p in paras]
    assert types[:4] == ["Outline 1", "Outline 2", "Outline 4", "Outline Body"]
    heading = paras[4]
    assert (heading.get("Type"), heading.get("Number")) == ("Scene Heading", "1A")
    runs = [(t.get("Style"), t.text) for t in paras[5].findall("Text")]
    assert runs[:3] == [
        (None, "A gorgeous day. The sun is "),
        ("Italic", "shining"),
        (None, ".\nBut "),
    ]
    assert ("Bold", "BRICK BRADDOCK") in runs and ("Underline", "not") in runs
    assert ("Bold+Italic", "Both") in [(t.get("Style"), t.text) for t in paras[7].findall("Text")]
    note = paras[6]
    assert (note.get("Type"), note.findtext("Text")) == ("Outline Body", "[[This is a note]]")


def test_dual_dialogue_wraps_both_speeches_and_takes_the_page_break() -> None:
    root = ET.fromstring(write_fdx(EVERYTHING))
    (wrapper,) = [p for p in root.iter("Paragraph") if p.find("DualDialogue") is not None]
    assert wrapper.get("StartsNewPage") == "Yes"
    inner = [(p.get("Type"), p.findtext("Text")) for p in wrapper.findall("DualDialogue/Paragraph")]
    assert inner == [
        ("Character", "BRICK"),
        ("Dialogue", "Screw retirement."),
        ("Character", "STEEL"),
        ("Dialogue", "Screw retirement."),
    ]


def test_page_breaks_and_centered_text() -> None:
    root = ET.fromstring(write_fdx(EVERYTHING))
    paras = root.findall("Content/Paragraph")
    tail = [(p.get("Type"), p.get("StartsNewPage"), p.get("Alignment")) for p in paras[-3:]]
    assert tail == [
        ("Action", "Yes", None),  # the first of two breaks in a row: an empty carrier
        ("Action", "Yes", "Center"),  # the second rides on THE END
        ("Action", "Yes", None),  # a trailing break: another empty carrier
    ]


def test_title_page_layout() -> None:
    root = ET.fromstring(write_fdx(EVERYTHING))
    paras = root.findall("TitlePage/Content/Paragraph")
    shown = [(p.get("Alignment"), "".join(t.text or "" for t in p.findall("Text"))) for p in paras]
    shown = [s for s in shown if s[1]]
    assert shown[0] == ("Center", "BRICK & STEEL")
    assert ("Right", "1 May 2025") in shown
    assert ("Left", "Solvang, CA 93463") in shown
    assert ("Left", "Copyright: (c) 2025 Stu Maschwitz") in shown


def test_empty_document_and_empty_title_page() -> None:
    data = write_fdx(Document())
    root = ET.fromstring(data)
    assert root.find("TitlePage") is None and root.find("Content") is not None
    assert parse_fdx(data) == Document()


def test_forced_flag_is_not_carried() -> None:
    doc = Document(elements=[E(K.SCENE_HEADING, "THE KITCHEN", forced=True)])
    assert parse_fdx(write_fdx(doc)).elements == [E(K.SCENE_HEADING, "THE KITCHEN")]


def test_control_characters_are_dropped_so_the_xml_stays_valid() -> None:
    doc = Document(elements=[E(K.ACTION, "bell\x07 here")])
    assert parse_fdx(write_fdx(doc)).elements == [E(K.ACTION, "bell here")]


FOREIGN = b"""<?xml version="1.0" encoding="UTF-8" standalone="no" ?>
<FinalDraft DocumentType="Script" Template="No" Version="3" Extra="ignored">
  <Content>
    <Paragraph Type="Scene Heading" Number="7">
      <SceneProperties Length="1" Page="1" Title=""><Summary/></SceneProperties>
      <Text>INT. LAB - NIGHT</Text>
    </Paragraph>
    <Paragraph Type="Shot"><Text>ANGLE ON the beaker</Text></Paragraph>
    <Paragraph Type="Cast List"><Text>BOB, ANN</Text></Paragraph>
    <Paragraph Type="General" Alignment="Center"><Text>INTERMISSION</Text></Paragraph>
    <Paragraph Type="Action"><Text></Text></Paragraph>
    <Paragraph Type="Character"><Text AdornmentStyle="0" Font="Courier Final Draft">BOB</Text>
    </Paragraph>
    <Paragraph Type="Dialogue"><Text Style="Bold+AllCaps">Hello</Text><Text> there.</Text>
    </Paragraph>
    <Paragraph Type="New Act"><Text>ACT TWO</Text></Paragraph>
  </Content>
  <ElementSettings Type="Action"><FontSpec Size="12"/></ElementSettings>
  <TitlePage>
    <Content>
      <Paragraph Alignment="Center" Type="Action"><Text>THE LAB</Text></Paragraph>
      <Paragraph Alignment="Center" Type="Action"><Text/></Paragraph>
      <Paragraph Alignment="Center" Type="Action"><Text>by</Text></Paragraph>
      <Paragraph Alignment="Center" Type="Action"><Text></Text></Paragraph>
      <Paragraph Alignment="Center" Type="Action"><Text>Ann Writer</Text></Paragraph>
      <Paragraph Type="Action"><Text></Text></Paragraph>
      <Paragraph Type="Action"><Text>ann@example.com</Text></Paragraph>
      <Paragraph Type="Action"><Text>555 0100</Text></Paragraph>
    </Content>
  </TitlePage>
</FinalDraft>
"""


def test_reads_final_draft_files_tolerantly() -> None:
    doc = parse_fdx(FOREIGN, source="lab.fdx")
    assert doc.elements == [
        E(K.SCENE_HEADING, "INT. LAB - NIGHT", scene_number="7"),
        E(K.ACTION, "ANGLE ON the beaker"),
        E(K.ACTION, "BOB, ANN"),
        E(K.CENTERED, "INTERMISSION"),
        E(K.CHARACTER, "BOB"),
        E(K.DIALOGUE, "**Hello** there."),
        E(K.CENTERED, "ACT TWO"),
    ]
    assert doc.title_page == [
        ("Title", "THE LAB"),
        ("Credit", "by"),
        ("Author", "Ann Writer"),
        ("Contact", "ann@example.com\n555 0100"),
    ]


def test_malformed_xml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.fdx"
    path.write_bytes(b'<?xml version="1.0"?>\n<FinalDraft>\n<Content>\n<Paragraph>\n</FinalDraft>')
    with pytest.raises(FormatError) as err:
        read_fdx(path)
    message = str(err.value)
    assert message.startswith(f"{path}:5: not well-formed XML: mismatched tag")
    assert "\n" not in message


def test_other_xml_is_refused_clearly() -> None:
    with pytest.raises(FormatError, match=r"not a Final Draft file.*<html>"):
        parse_fdx(b"<html><body/></html>", source="page.fdx")


def test_doctype_and_entities_are_refused() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE FinalDraft [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>
<FinalDraft><Content><Paragraph Type="Action"><Text>&b;</Text></Paragraph></Content></FinalDraft>"""
    with pytest.raises(FormatError, match=r"^bomb.fdx:2: a DOCTYPE is not allowed"):
        parse_fdx(bomb, source="bomb.fdx")


def test_missing_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="cannot read"):
        read_fdx(tmp_path / "nope.fdx")


@pytest.mark.parametrize("where", ["missing/dir/x.fdx", "."])
def test_unwritable_path_is_one_line_error_with_hint(tmp_path: Path, where: str) -> None:
    with pytest.raises(ExportError) as err:
        save_fdx(EVERYTHING, tmp_path / where)
    assert isinstance(err.value, SoundstageError) and err.value.hint
    assert "\n" not in str(err.value) and "cannot write" in str(err.value)
    assert [p for p in tmp_path.rglob("*.tmp")] == []
