"""The audits' domain objects: who is in a script (declared attributes only) and what an
audit of it found. Functions over them live in `soundstage.audit.script` and `.report`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

UNKNOWN = "unknown"
AGE_BANDS = ("under 21", "21-30", "31-40", "41-50", "51-60", "61+")


@dataclass(frozen=True)
class Person:
    """One character's declared attributes, as the audit counts them.

    `gender` is normalised to female / male / nonbinary / unknown (other declared values are
    kept as written); `age` is in years (a decade like "40s" counts as 45), None when not
    declared. `source` says where the attributes came from (the cast of a project, a cast
    file and its line), so a report never passes off a guess as a fact.
    """

    name: str
    cue: str  # the character cue this person speaks under, upper case, no extension
    gender: str = UNKNOWN
    age: int | None = None
    source: str = ""

    @property
    def age_band(self) -> str:
        if self.age is None:
            return UNKNOWN
        if self.age < 21:
            return AGE_BANDS[0]
        return AGE_BANDS[min(5, 1 + (self.age - 21) // 10)]


@dataclass(frozen=True)
class Speech:
    """One speech: a cue and its dialogue, in a scene."""

    scene: int  # 1-based scene number in reading order (0: before the first heading)
    cue: str
    text: str
    words: int


@dataclass
class Bechdel:
    """The Bechdel–Wallace test: (1) two named women (2) talk to each other (3) about
    something other than a man. `evidence` holds the passing exchanges (or, when test 3
    fails, the exchanges that mention a man)."""

    score: int  # 0–3
    women: list[str] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    passing_scenes: list[int] = field(default_factory=list)


@dataclass
class ScriptAudit:
    """Everything `audit script` reports about one script; all figures are computed from
    the speeches and the declared cast (nothing is guessed from names)."""

    title: str
    scenes: int
    speeches: int
    words: int
    cast: list[Person]
    words_by_character: dict[str, int]
    dialogue_share: dict[str, float]  # by gender, of all dialogue words
    dialogue_share_100: dict[str, float]  # the same, characters with ≥ 100 words (Pudding)
    speaking_characters: dict[str, int]  # by gender
    lead: dict[str, Any]  # {"cue", "gender", "words"}
    words_by_age: dict[str, dict[str, int]]  # gender → age band → words
    bechdel: Bechdel
    first_last: dict[str, dict[str, int]]  # "first"/"last" → gender → scenes
    action_verbs: dict[str, list[tuple[str, int]]]  # gender → [(verb, count)]
    unknown: list[str]  # cues with no declared gender
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["action_verbs"] = {g: [list(v) for v in vs] for g, vs in self.action_verbs.items()}
        return data
