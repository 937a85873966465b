"""The writers' room's domain objects: plain, typed, JSON-serialisable, no I/O.

Dramatron's six levels map onto fields of `Screenplay`: logline → title → characters →
scenes (place, plot element, beat, who is present) → place descriptions → dialogue per
scene. Characters are referred to by a stable `id` everywhere below the cast level, so
renaming a character never breaks a scene and speakers are never guessed from names in
the beat text (Dramatron's substring matching).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

Level = Literal["logline", "title", "characters", "scenes", "places", "dialogue"]
LEVELS: tuple[Level, ...] = ("logline", "title", "characters", "scenes", "places", "dialogue")

Structure = Literal["three-act", "save-the-cat", "heros-journey", "dramatron"]
Role = Literal["protagonist", "antagonist", "ally", "mentor", "love interest", "supporting"]
ROLES: tuple[Role, ...] = get_args(Role)


def slug(text: str) -> str:
    """A stable id from a name: 'Ada Quill' → 'ada-quill'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


@dataclass(frozen=True)
class Controls:
    """What the writer asks for; every generator reads these."""

    genre: str = "drama"
    tone: str = "earnest"
    rating: str = "PG-13"  # audience rating
    minutes: float = 10.0  # target runtime; ≈ 1 page a minute at 55 lines a page
    structure: Structure = "three-act"


@dataclass(frozen=True)
class Character:
    id: str
    name: str
    description: str = ""
    pronouns: str = ""  # declared, e.g. "she/her"; never inferred
    gender: str = ""  # declared, free text; "" when not stated
    role: Role = "supporting"
    voice: str = ""  # how they talk, for the dialogue prompt: "clipped, dry, never asks twice"

    @property
    def cue(self) -> str:
        """The name as a character cue: first name in capitals ("ADA")."""
        return (self.name.split() or ["?"])[0].upper()


@dataclass(frozen=True)
class Place:
    name: str  # as used in headings: "HARBOUR OFFICE"
    description: str = ""
    interior: bool = True


@dataclass(frozen=True)
class Scene:
    id: str  # "s1", "s2", ...: stable across edits and reorders
    place: str  # a Place name
    plot_element: str  # the structure beat this scene serves, e.g. "Inciting Incident"
    beat: str  # what happens, one or two sentences
    characters: tuple[str, ...] = ()  # Character ids present
    time: str = "DAY"


@dataclass(frozen=True)
class Line:
    speaker: str  # Character id
    text: str
    parenthetical: str = ""  # without the parentheses
    action: str = ""  # stage business printed after the speech, before the next cue


@dataclass(frozen=True)
class Dialogue:
    scene_id: str
    lines: tuple[Line, ...] = ()
    action: str = ""  # scene description printed before the first line


@dataclass
class Screenplay:
    logline: str = ""
    title: str = ""
    controls: Controls = field(default_factory=Controls)
    characters: list[Character] = field(default_factory=list)
    scenes: list[Scene] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    dialogue: dict[str, Dialogue] = field(default_factory=dict)  # by scene id
    author: str = ""  # the human writer, for the title page
    model: str = ""  # the backend that co-wrote it, for the disclosure
    # Entities the writer wrote first ("scenes:s2", "characters:ada", "dialogue:s2"):
    # generating their level fills in around them instead of replacing them (bottom-up).
    kept: list[str] = field(default_factory=list)

    def is_kept(self, level: str, entity: str) -> bool:
        return f"{level}:{entity}" in self.kept

    def character(self, char_id: str) -> Character:
        for c in self.characters:
            if c.id == char_id:
                return c
        raise KeyError(char_id)

    def unknown_people(self) -> list[str]:
        """Character ids that scenes or speeches name but the cast does not have (a draft
        whose cast was regenerated has them until its scenes are written again)."""
        known = {c.id for c in self.characters}
        named = [x for s in self.scenes for x in s.characters]
        named += [ln.speaker for d in self.dialogue.values() for ln in d.lines]
        return [x for x in dict.fromkeys(named) if x not in known]

    def cast_member(self, char_id: str) -> Character:
        """The character, or, when regenerating the cast removed them from a scene that is
        now stale, a stand-in named from the id, so the stale draft still reads and shows."""
        try:
            return self.character(char_id)
        except KeyError:
            return Character(char_id, " ".join(char_id.split("-")).title() or "?")

    def place(self, name: str) -> Place | None:
        return next((p for p in self.places if p.name == name), None)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["dialogue"] = {k: asdict(v) for k, v in self.dialogue.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Screenplay:
        return cls(
            logline=data.get("logline", ""),
            title=data.get("title", ""),
            controls=Controls(**data.get("controls", {})),
            characters=[Character(**c) for c in data.get("characters", [])],
            scenes=[
                Scene(**{**s, "characters": tuple(s.get("characters", ()))})
                for s in data.get("scenes", [])
            ],
            places=[Place(**p) for p in data.get("places", [])],
            dialogue={
                k: Dialogue(
                    scene_id=v["scene_id"],
                    lines=tuple(Line(**ln) for ln in v.get("lines", [])),
                    action=v.get("action", ""),
                )
                for k, v in data.get("dialogue", {}).items()
            },
            author=data.get("author", ""),
            model=data.get("model", ""),
            kept=list(data.get("kept", [])),
        )
