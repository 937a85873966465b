"""Bottom-up writing: one scene a writer wrote, read from Fountain into the room's objects."""

from __future__ import annotations

import pytest

from soundstage.script.formats.scene_import import SceneImportError, read_scene

SCENE = """\
INT. LIGHTHOUSE LAMP ROOM - NIGHT

Rain on the glass. MARGARET (70) stares at the empty brass cradle where the lens sat.

MARGARET
(quietly)
Forty years it turned. Forty years.

TOM (O.S.)
Maggie? The harbour master's on the phone.

Margaret runs a finger through the dust.

MARGARET
Tell him the light's out. Tell him someone took it.

EXT. HARBOUR - DAY

KIT
Not part of the first scene.
"""


def test_the_first_scene_becomes_characters_a_scene_a_place_and_dialogue() -> None:
    got = read_scene(SCENE, source="lamp.fountain", number=2)
    assert [c.name for c in got.characters] == ["Margaret", "Tom"]
    assert [c.role for c in got.characters] == ["protagonist", "antagonist"]
    assert got.scene.id == "s2" and got.scene.place == "LIGHTHOUSE LAMP ROOM"
    assert got.scene.time == "NIGHT" and got.place.interior
    assert got.scene.beat == "Rain on the glass."
    assert got.scene.characters == ("margaret", "tom")
    lines = got.dialogue.lines
    assert [ln.speaker for ln in lines] == ["margaret", "tom", "margaret"]
    assert lines[0].parenthetical == "quietly"
    assert lines[1].action == "Margaret runs a finger through the dust."
    assert got.dialogue.action.startswith("Rain on the glass. MARGARET (70)")
    assert all("first scene" not in ln.text for ln in lines)  # the second heading ends it


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Just some prose about a lighthouse.\n", "lamp.fountain: no scene heading"),
        ("INT. LIGHTHOUSE - NIGHT\n\nRain. Nobody speaks.\n", "has no speech"),
    ],
)
def test_a_file_without_a_scene_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(SceneImportError, match=message):
        read_scene(text, source="lamp.fountain")
