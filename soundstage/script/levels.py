"""Each level as editable text, and back: what `write show` prints and `write edit` reads.

Formats are plain "Key: value" blocks separated by blank lines (lines that do not start
with a known key continue the previous value), and dialogue as `CUE: (parenthetical) text`
speeches. Parsing validates against the rest of the draft — a scene naming an unknown
character, or a speech by someone not present in the scene, is an error that names the
line — so a hand edit can never leave the draft inconsistent.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import cast

from soundstage.errors import FormatError
from soundstage.script.types import (
    LEVELS,
    ROLES,
    Character,
    Dialogue,
    Level,
    Line,
    Place,
    Role,
    Scene,
    Screenplay,
    slug,
)

# "CUE: (parenthetical) text"; cues may hold any letters ("TOMÁS", "ZOË").
SPEECH = re.compile(r"^([^\W\d_][\w .'-]*?):\s*(?:\(([^)]*)\)\s*)?(.*)$")


def check_level(level: str) -> Level:
    if level not in LEVELS:
        raise FormatError(f"unknown level {level!r}", hint=f"use one of: {', '.join(LEVELS)}")
    return cast(Level, level)


def blocks(text: str, keys: tuple[str, ...], where: str) -> list[tuple[int, dict[str, str]]]:
    """Parse 'Key: value' blocks; returns (first line number, {key: value}) per block."""
    out: list[tuple[int, dict[str, str]]] = []
    current: dict[str, str] = {}
    start, last_key = 0, ""
    lower = {k.lower(): k for k in keys}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            if current:
                out.append((start, current))
            current, last_key = {}, ""
            continue
        key, colon, value = line.partition(":")
        if colon and key.strip().lower() in lower:
            name = lower[key.strip().lower()]
            if name in current:
                raise FormatError.at(where, number, f"{name!r} given twice in one block")
            if not current:
                start = number
            current[name] = value.strip()
            last_key = name
        elif last_key:
            current[last_key] += "\n" + line
        else:
            raise FormatError.at(
                where, number, f"expected 'Key: value' with a key from {', '.join(keys)}"
            )
    if current:
        out.append((start, current))
    return out


def find_character(sp: Screenplay, name: str) -> Character | None:
    key = name.strip().lower()
    for c in sp.characters:
        if key in {c.id, c.name.lower(), c.cue.lower(), c.name.split()[0].lower()}:
            return c
    return None


# --- to text -------------------------------------------------------------------------------


def character_text(c: Character) -> str:
    return (
        f"Id: {c.id}\nName: {c.name}\nPronouns: {c.pronouns}\nGender: {c.gender}\n"
        f"Role: {c.role}\nDescription: {c.description}\nVoice: {c.voice}"
    )


def scene_text(sp: Screenplay, s: Scene) -> str:
    names = ", ".join(sp.cast_member(c).name for c in s.characters)
    return (
        f"Id: {s.id}\nPlace: {s.place}\nTime: {s.time}\nPlot element: {s.plot_element}\n"
        f"Beat: {s.beat}\nCharacters: {names}"
    )


def place_text(p: Place) -> str:
    return (
        f"Place: {p.name}\nInterior: {'yes' if p.interior else 'no'}\nDescription: {p.description}"
    )


def dialogue_text(sp: Screenplay, d: Dialogue) -> str:
    """Speeches as 'CUE: (parenthetical) text'; action lines as '[…]' paragraphs."""
    parts = [f"[{d.action}]"] if d.action else []
    for line in d.lines:
        paren = f"({line.parenthetical}) " if line.parenthetical else ""
        parts.append(f"{sp.cast_member(line.speaker).cue}: {paren}{line.text}")
        if line.action:
            parts.append(f"[{line.action}]")
    return "\n\n".join(parts)


def to_text(sp: Screenplay, level: Level, entity: str | None = None) -> str:
    """The level (or one entity of it) in its editable form."""
    if level == "logline":
        return sp.logline
    if level == "title":
        return sp.title
    if level == "characters":
        chars = [c for c in sp.characters if entity in (None, c.id)]
        return "\n\n".join(character_text(c) for c in chars)
    if level == "scenes":
        return "\n\n".join(scene_text(sp, s) for s in sp.scenes if entity in (None, s.id))
    if level == "places":
        return "\n\n".join(place_text(p) for p in sp.places if entity in (None, p.name))
    scenes = [s for s in sp.scenes if entity in (None, s.id) and s.id in sp.dialogue]
    return "\n\n\n".join(
        f"# {s.id}\n\n{dialogue_text(sp, sp.dialogue[s.id])}"
        if entity is None
        else dialogue_text(sp, sp.dialogue[s.id])
        for s in scenes
    )


# --- from text -----------------------------------------------------------------------------


def parse_characters(sp: Screenplay, text: str, where: str) -> list[Character]:
    keys = ("Id", "Name", "Pronouns", "Gender", "Role", "Description", "Voice")
    out: list[Character] = []
    for line, b in blocks(text, keys, where):
        if not b.get("Name"):
            raise FormatError.at(where, line, "a character needs a Name")
        role = b.get("Role", "supporting").lower() or "supporting"
        if role not in ROLES:
            raise FormatError.at(
                where, line, f"unknown role {role!r}; use one of {', '.join(ROLES)}"
            )
        cid = b.get("Id") or slug(b["Name"])
        if any(c.id == cid for c in out):
            raise FormatError.at(where, line, f"two characters share the id {cid!r}")
        out.append(
            Character(
                cid,
                b["Name"],
                b.get("Description", ""),
                b.get("Pronouns", ""),
                b.get("Gender", ""),
                cast(Role, role),
                b.get("Voice", ""),
            )
        )
    if not out:
        raise FormatError.at(where, 1, "no characters given")
    return out


def parse_scenes(sp: Screenplay, text: str, where: str) -> list[Scene]:
    keys = ("Id", "Place", "Time", "Plot element", "Beat", "Characters")
    out: list[Scene] = []
    for line, b in blocks(text, keys, where):
        if not b.get("Place") or not b.get("Beat"):
            raise FormatError.at(where, line, "a scene needs a Place and a Beat")
        ids = []
        for name in filter(None, (n.strip() for n in b.get("Characters", "").split(","))):
            person = find_character(sp, name)
            if person is None:
                raise FormatError.at(
                    where,
                    line,
                    f"unknown character {name!r}",
                    hint="add them at the characters level first",
                )
            ids.append(person.id)
        sid = b.get("Id") or f"s{len(out) + 1}"
        out.append(
            Scene(
                sid,
                b["Place"].upper(),
                b.get("Plot element", ""),
                b["Beat"],
                tuple(ids),
                (b.get("Time") or "DAY").upper(),
            )
        )
    if len({s.id for s in out}) != len(out):
        raise FormatError.at(where, 1, "two scenes share an id")
    return out


def parse_places(sp: Screenplay, text: str, where: str) -> list[Place]:
    out = []
    for line, b in blocks(text, ("Place", "Interior", "Description"), where):
        if not b.get("Place"):
            raise FormatError.at(where, line, "a place needs a name (Place: …)")
        interior = b.get("Interior", "yes").lower() not in {"no", "false", "ext", "exterior"}
        out.append(Place(b["Place"].upper(), b.get("Description", ""), interior))
    return out


def parse_dialogue(sp: Screenplay, scene: Scene, text: str, where: str) -> Dialogue:
    """Speeches 'CUE: (parenthetical) text'; following lines continue the speech.

    A line whose name part is in capitals ("BOB: …") is always a cue, so an unknown or
    absent speaker is an error rather than text silently added to the previous speech.
    A '[…]' line is action: before the first speech it opens the scene, after a speech it
    follows that speech.
    """
    lines: list[Line] = []
    opening: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("[") and stripped.endswith("]") and len(stripped) > 2:
            act = stripped[1:-1].strip()
            if not lines:
                opening.append(act)
            else:
                last = lines[-1]
                lines[-1] = replace(last, action=f"{last.action} {act}".strip())
            continue
        match = SPEECH.match(stripped)
        person = find_character(sp, match.group(1)) if match else None
        if match and person is None and match.group(1).isupper():
            raise FormatError.at(where, number, f"unknown speaker {match.group(1)!r}")
        if match and person is not None:
            if person.id not in scene.characters:
                raise FormatError.at(
                    where,
                    number,
                    f"{person.name} speaks but is not in scene {scene.id}",
                    hint="add them to the scene at the scenes level first",
                )
            lines.append(Line(person.id, match.group(3).strip(), (match.group(2) or "").strip()))
        elif stripped and lines:
            last = lines[-1]
            lines[-1] = replace(last, text=f"{last.text}\n{stripped}" if last.text else stripped)
        elif stripped:
            raise FormatError.at(where, number, "expected a speech: 'NAME: text'")
    for index, line in enumerate(lines, 1):
        if not line.text:
            raise FormatError.at(where, None, f"speech {index} ({line.speaker}) has no text")
    kept = sp.dialogue.get(scene.id, Dialogue(scene.id)).action
    return Dialogue(scene.id, tuple(lines), " ".join(opening) if opening else kept)
