"""Editable text per level: round trips, and validation errors that name the line."""

from __future__ import annotations

import pytest

from soundstage.errors import FormatError
from soundstage.script import levels
from soundstage.script.types import LEVELS, Controls, Dialogue, Line, Screenplay
from soundstage.script.write.planner import plan


@pytest.fixture
def sp() -> Screenplay:
    draft = plan("A retired lighthouse keeper discovers a smuggler's map.", Controls(minutes=3), 1)
    scene = draft.scenes[0]
    a, b = scene.characters[:2]
    draft.dialogue[scene.id] = Dialogue(
        scene.id, (Line(a, "Who is there?\nShow yourself."), Line(b, "Only the tide.", "softly"))
    )
    return draft


def test_every_level_round_trips(sp: Screenplay) -> None:
    assert levels.parse_characters(sp, levels.to_text(sp, "characters"), "x") == sp.characters
    assert levels.parse_scenes(sp, levels.to_text(sp, "scenes"), "x") == sp.scenes
    assert levels.parse_places(sp, levels.to_text(sp, "places"), "x") == sp.places
    scene = sp.scenes[0]
    text = levels.to_text(sp, "dialogue", scene.id)
    assert text.splitlines()[-1].endswith(": (softly) Only the tide.")
    assert levels.parse_dialogue(sp, scene, text, "x") == sp.dialogue[scene.id]
    for level in LEVELS:
        assert isinstance(levels.to_text(sp, level), str)


def test_scene_edits_map_names_to_ids(sp: Screenplay) -> None:
    hero = sp.characters[0]
    text = f"Place: dock\nBeat: {hero.cue.title()} waits.\nCharacters: {hero.cue.lower()}"
    (scene,) = levels.parse_scenes(sp, text, "edit")
    assert scene.characters == (hero.id,) and scene.place == "DOCK" and scene.time == "DAY"


@pytest.mark.parametrize(
    ("level", "text", "message"),
    [
        ("scenes", "Place: DOCK\nBeat: x\nCharacters: Zed", "edit:1: unknown character 'Zed'"),
        ("scenes", "Place: DOCK", "edit:1: a scene needs a Place and a Beat"),
        ("scenes", "Beat: x\n\nWhat is this", "edit:3: expected 'Key: value'"),
        ("characters", "Name: A\nRole: hero", "edit:1: unknown role 'hero'"),
        ("characters", "Role: ally", "edit:1: a character needs a Name"),
        ("characters", "Name: A\nName: B", "edit:2: 'Name' given twice"),
    ],
)
def test_bad_edits_name_the_line(sp: Screenplay, level: str, text: str, message: str) -> None:
    parse = levels.parse_scenes if level == "scenes" else levels.parse_characters
    with pytest.raises(FormatError, match=message):
        parse(sp, text, "edit")


def test_dialogue_speakers_must_be_declared_and_present(sp: Screenplay) -> None:
    scene = sp.scenes[0]
    absent = next(c for c in sp.characters if c.id not in scene.characters)
    with pytest.raises(FormatError, match="edit:3: unknown speaker 'BOB'"):
        levels.parse_dialogue(sp, scene, f"{sp.characters[0].cue}: Hi\n\nBOB: no", "edit")
    with pytest.raises(FormatError, match=f"{absent.name} speaks but is not in scene"):
        levels.parse_dialogue(sp, scene, f"{absent.cue}: I am not here.", "edit")
    ok = levels.parse_dialogue(sp, scene, f"{sp.characters[0].cue}: Listen: the bell.", "edit")
    assert ok.lines[0].text == "Listen: the bell."


def test_cues_with_accents_parse(sp: Screenplay) -> None:
    from dataclasses import replace

    scene = sp.scenes[0]
    sp.characters = [
        replace(c, name="Tomás Reyes") if c.id == scene.characters[0] else c for c in sp.characters
    ]
    parsed = levels.parse_dialogue(sp, scene, "TOMÁS: ¿Dónde está?", "edit")
    assert parsed.lines[0].speaker == scene.characters[0]


def test_unknown_level_is_rejected() -> None:
    with pytest.raises(FormatError, match="unknown level 'plot'"):
        levels.check_level("plot")
