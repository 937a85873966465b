"""One scene a writer wrote, read from Fountain, as the writers' room's domain objects: the
start of bottom-up writing (`write new LOGLINE --scene FILE`), where the rest of the script
is planned around a scene that already exists.

Reads the first scene of the file: its heading (INT./EXT. PLACE - TIME), the action before
the first cue (the scene's opening), and every speech with its parenthetical and the action
after it. The speakers become characters in order of first speech (the first is taken as
the protagonist, the second as the antagonist; `write edit` changes that). Anything after a
second heading is ignored. Errors name the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from soundstage.errors import SoundstageError
from soundstage.script.formats.elements import Element, Kind
from soundstage.script.formats.fountain_read import parse_fountain
from soundstage.script.types import (
    Character,
    Dialogue,
    Line,
    Place,
    Role,
    Scene,
    slug,
)

ROLES: tuple[Role, ...] = ("protagonist", "antagonist", "ally", "mentor", "supporting")
HEADING = re.compile(r"^(INT\.?/EXT\.?|I/E|INT\.?|EXT\.?|EST\.?)\s+(.+?)(?:\s+-\s+([^-]+))?$", re.I)


class SceneImportError(SoundstageError):
    """The file holds no scene the room can start from."""


@dataclass(frozen=True)
class ImportedScene:
    characters: list[Character]
    scene: Scene
    place: Place
    dialogue: Dialogue


def read_scene(text: str, *, source: str, number: int = 1) -> ImportedScene:
    """The first scene of Fountain `text` as scene `number` (s1, s2, …) of a new script."""
    doc = parse_fountain(text, source=source)
    body = doc.elements
    start = next((i for i, e in enumerate(body) if e.kind is Kind.SCENE_HEADING), None)
    if start is None:
        raise SceneImportError(
            f"{source}: no scene heading",
            hint="start the scene with a line like INT. KITCHEN - NIGHT",
        )
    heading = body[start].text.strip()
    match = HEADING.match(heading)
    if match is None:
        raise SceneImportError(f"{source}: scene heading {heading!r} has no INT. or EXT.")
    interior = not match.group(1).upper().startswith("EXT")
    place_name = match.group(2).strip().upper()
    time = (match.group(3) or "DAY").strip().upper()
    end = next(
        (i for i in range(start + 1, len(body)) if body[i].kind is Kind.SCENE_HEADING), len(body)
    )
    opening, lines, names = _read_body(body[start + 1 : end])
    if not lines:
        raise SceneImportError(
            f"{source}: the scene under {heading!r} has no speech",
            hint="a speech is a CUE in capitals on its own line, then the words",
        )
    cast = [
        Character(slug(name), name, "", role=ROLES[min(i, len(ROLES) - 1)])
        for i, name in enumerate(names)
    ]
    ids = {name: c.id for name, c in zip(names, cast, strict=True)}
    lines = [replace(ln, speaker=ids[ln.speaker]) for ln in lines]
    beat = _first_sentence(opening) or f"{' and '.join(n.split()[0] for n in names)} talk."
    scene_id = f"s{number}"
    scene = Scene(scene_id, place_name, "", beat, tuple(c.id for c in cast), time)
    return ImportedScene(
        cast, scene, Place(place_name, "", interior), Dialogue(scene_id, tuple(lines), opening)
    )


def _read_body(elements: list[Element]) -> tuple[str, list[Line], list[str]]:
    """(opening action, speeches with the speaker's name as written, names in order)."""
    opening: list[str] = []
    lines: list[Line] = []
    names: list[str] = []
    speaker, note = "", ""
    for e in elements:
        if e.kind is Kind.CHARACTER:
            speaker = re.sub(r"\s*\(.*?\)\s*|\s*\^$", "", e.text).strip().title()
            if speaker and speaker not in names:
                names.append(speaker)
            note = ""
        elif e.kind is Kind.PARENTHETICAL:
            note = e.text.strip().strip("()")
        elif e.kind is Kind.DIALOGUE and speaker:
            lines.append(Line(speaker, e.text.strip(), note))
            note = ""
        elif e.kind is Kind.ACTION:
            if lines:
                last = lines[-1]
                action = f"{last.action} {e.text.strip()}".strip()
                lines[-1] = replace(last, action=action)
            else:
                opening.append(e.text.strip())
    return " ".join(opening), lines, names


def _first_sentence(text: str) -> str:
    found = re.match(r"(.+?[.!?])(\s|$)", text.strip())
    return found.group(1) if found else text.strip()
