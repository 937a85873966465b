"""Representation in one script: who speaks, how much, to whom, about what.

    Document (Fountain, FDX or a project rendered) + declared cast → speeches → ScriptAudit

Definitions follow ../shared/notes/audit.md §1 so the figures compare with the references in
`soundstage.audit.reference`:

- words: runs of letters/digits (an apostrophe joins: "don't" is one word) in dialogue
  paragraphs, parentheticals excluded; cue extensions ("(V.O.)", "(CONT'D)") are stripped.
- dialogue share by gender: words of the characters of each gender / all dialogue words; also
  over characters with ≥ 100 words only (the Pudding's cut-off).
- speaking characters: characters with ≥ 1 word (Annenberg counts everyone who speaks).
- lead: the character with the most words.
- Bechdel–Wallace (rule-based, after Agarwal et al. 2015): (1) ≥ 2 women speak, (2) two
  different women speak one after the other in a scene, (3) neither of those two speeches
  mentions a man (male pronouns and nouns, or a male character's name).
- first and last speaker of each scene, by gender.
- action verbs: in action lines, the word after a character's name or "she"/"he" when it looks
  like a present-tense verb ("Ada slams", "he quietly leaves"). A heuristic without a parser,
  reported as one.

Gender and age come only from what the writer declared (a project's cast, or a cast file);
a character without a declaration is counted as "unknown", never guessed from a name.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path
from typing import Any

from soundstage.audit.types import UNKNOWN, Bechdel, Person, ScriptAudit, Speech
from soundstage.errors import SoundstageError
from soundstage.script.evaluate import normalise_cue
from soundstage.script.formats.elements import Document, Kind
from soundstage.script.types import Screenplay

__all__ = [
    "audit_script",
    "cast_from_screenplay",
    "count_words",
    "normalise_cue",
    "normalise_gender",
    "read_cast",
    "speeches",
]

WORD = re.compile(r"[A-Za-z0-9\u00C0-\u024F]+(?:['’][A-Za-z\u00C0-\u024F]+)*")
PUDDING_CUTOFF = 100
GENDERS = {
    "female": "female",
    "woman": "female",
    "f": "female",
    "girl": "female",
    "male": "male",
    "man": "male",
    "m": "male",
    "boy": "male",
    "nonbinary": "nonbinary",
    "non-binary": "nonbinary",
    "nb": "nonbinary",
    "enby": "nonbinary",
    "genderqueer": "nonbinary",
}
MALE_WORDS = frozenset(
    """he him his himself man men boy boys guy guys gentleman gentlemen husband husbands
    boyfriend father fathers dad daddy son sons brother brothers uncle nephew grandfather
    grandpa king prince sir mister mr lord monk priest""".split()
)
NOT_VERBS = frozenset(
    """is was has his hers its this thus as us yes less unless always perhaps whereas
    across towards afterwards does""".split()
)
AGE = re.compile(r"\(\s*(\d{1,2})(s?)\s*\)|\b(\d{1,2})(s?)[- ](?:year|yr)s?[- ]old\b", re.I)


class CastFileError(SoundstageError):
    """A cast file that cannot be read; the message names the file, line and field."""


def count_words(text: str) -> int:
    return len(WORD.findall(text))


def normalise_gender(declared: str, pronouns: str = "") -> str:
    """A declared gender as female / male / nonbinary / unknown; other words are kept.
    Declared pronouns stand in for an undeclared gender only when they are she or he."""
    value = declared.strip().lower()
    if value:
        return GENDERS.get(value, value)
    first = pronouns.strip().lower().split("/")[0]
    return {"she": "female", "he": "male"}.get(first, UNKNOWN)


def age_from(text: str) -> int | None:
    """An age written in a character description: "(63)", "(40s)" (→ 45), "a 30-year-old"."""
    match = AGE.search(text)
    if match is None:
        return None
    number, decade = (match.group(1), match.group(2)) if match.group(1) else match.group(3, 4)
    return int(number) + (5 if decade else 0)


def cast_from_screenplay(sp: Screenplay) -> list[Person]:
    """The project's declared cast: gender (or she/he pronouns) and an age in the description."""
    return [
        Person(
            name=c.name,
            cue=c.cue,
            gender=normalise_gender(c.gender, c.pronouns),
            age=age_from(c.description),
            source="project cast (declared)",
        )
        for c in sp.characters
    ]


def read_cast(path: Path) -> list[Person]:
    """A cast file: CSV with a header row naming `name` and `gender`, optionally `age`
    (years) and `cue` (when the character speaks under another name than their first)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CastFileError(f"{path}: no such cast file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CastFileError(f"{path}: cannot read the cast file ({exc})") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise CastFileError(f"{path}: empty cast file", hint="header: name,gender,age")
    header = [h.strip().lower() for h in rows[0]]
    missing = [h for h in ("name", "gender") if h not in header]
    if missing:
        raise CastFileError(
            f"{path}:1: the header has no {' or '.join(missing)} column",
            hint="header: name,gender,age (age and cue optional)",
        )
    cast = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        values = dict(zip(header, (cell.strip() for cell in row), strict=False))
        name = values.get("name", "")
        if not name:
            raise CastFileError(f"{path}:{number}: name is empty")
        age = values.get("age", "")
        if age and not (age.isdigit() and 0 < int(age) < 120):
            raise CastFileError(f"{path}:{number}: age {age!r} is not a number of years")
        cue = normalise_cue(values.get("cue") or name.split()[0])
        cast.append(
            Person(
                name=name,
                cue=cue,
                gender=normalise_gender(values.get("gender", "")),
                age=int(age) if age else None,
                source=f"{path.name}:{number}",
            )
        )
    return cast


def speeches(doc: Document) -> list[Speech]:
    """Every speech in reading order; dialogue split by parentheticals stays one speech."""
    out: list[Speech] = []
    scene, cue = 0, ""
    parts: list[str] = []

    def close() -> None:
        if cue and parts:
            text = " ".join(parts)
            out.append(Speech(scene, cue, text, count_words(text)))

    for element in doc.elements:
        kind = element.kind
        if kind is Kind.DIALOGUE:
            parts.append(element.text.replace("*", "").replace("_", ""))
            continue
        if kind is Kind.PARENTHETICAL:
            continue
        close()
        parts = []
        cue = normalise_cue(element.text) if kind is Kind.CHARACTER else ""
        if kind is Kind.SCENE_HEADING:
            scene += 1
    close()
    return out


def _people(cast: list[Person], said: list[Speech]) -> dict[str, Person]:
    """cue → Person for every speaker; speakers missing from the cast are unknown."""
    keys: dict[str, Person] = {}
    for person in cast:
        for key in (
            person.cue,
            person.name.upper(),
            (person.name.split() or [person.cue])[0].upper(),
        ):
            keys.setdefault(key, person)
    out = {}
    for s in said:
        if s.cue not in out:
            found = keys.get(s.cue) or keys.get(s.cue.split()[0])
            out[s.cue] = found or Person(s.cue.title(), s.cue, UNKNOWN, None, "not in the cast")
    return out


def _shares(words: Counter[str], people: dict[str, Person], least: int = 0) -> dict[str, float]:
    kept = {cue: n for cue, n in words.items() if n >= least}
    total = sum(kept.values())
    by: Counter[str] = Counter()
    for cue, n in kept.items():
        by[people[cue].gender] += n
    return {g: round(n / total, 4) for g, n in sorted(by.items())} if total else {}


def audit_script(doc: Document, cast: list[Person], title: str = "") -> ScriptAudit:
    """The representation figures of one script (see the module docstring)."""
    said = speeches(doc)
    people = _people(cast, said)
    words: Counter[str] = Counter()
    for s in said:
        words[s.cue] += s.words
    speaking = [cue for cue, n in words.items() if n > 0]
    lead = max(speaking, key=lambda c: (words[c], -speaking.index(c)), default="")
    by_age: dict[str, dict[str, int]] = {}
    for cue in speaking:
        person = people[cue]
        band = by_age.setdefault(person.gender, {})
        band[person.age_band] = band.get(person.age_band, 0) + words[cue]
    notes = []
    unknown = [cue for cue in speaking if people[cue].gender == UNKNOWN]
    if unknown:
        notes.append(
            f"{len(unknown)} speaking character(s) have no declared gender and count as "
            f"unknown: {', '.join(unknown[:8])}{' …' if len(unknown) > 8 else ''}"
        )
    if not any(n >= PUDDING_CUTOFF for n in words.values()):
        notes.append("no character reaches 100 words: the Pudding comparison is empty")
    return ScriptAudit(
        title=title or doc.title() or "",
        scenes=sum(1 for e in doc.elements if e.kind is Kind.SCENE_HEADING),
        speeches=len(said),
        words=sum(words.values()),
        cast=[people[cue] for cue in speaking],
        words_by_character=dict(words.most_common()),
        dialogue_share=_shares(words, people),
        dialogue_share_100=_shares(words, people, PUDDING_CUTOFF),
        speaking_characters=dict(Counter(people[c].gender for c in speaking)),
        lead={
            "cue": lead,
            "gender": people[lead].gender if lead else UNKNOWN,
            "words": words[lead],
        },
        words_by_age=by_age,
        bechdel=bechdel(said, people),
        first_last=first_last(said, people),
        action_verbs=action_verbs(doc, list(people.values()) + cast),
        unknown=unknown,
        notes=notes,
    )


def _mentions_a_man(text: str, male_names: set[str]) -> list[str]:
    found = [w for w in WORD.findall(text) if w.lower() in MALE_WORDS or w.lower() in male_names]
    return list(dict.fromkeys(found))


def bechdel(said: list[Speech], people: dict[str, Person]) -> Bechdel:
    """The rule-based test with its evidence (see the module docstring)."""
    women = [cue for cue, p in people.items() if p.gender == "female"]
    male_names = {
        part.lower()
        for p in people.values()
        if p.gender == "male"
        for part in (*p.name.split(), *p.cue.split())
    }
    result = Bechdel(score=min(1, len(women) // 2), women=women)
    if result.score == 0:
        return result
    talks: list[dict[str, Any]] = []
    about_men: list[dict[str, Any]] = []
    for a, b in zip(said, said[1:], strict=False):
        if a.scene != b.scene or a.cue == b.cue or a.cue not in women or b.cue not in women:
            continue
        exchange = {"scene": a.scene, "lines": [[a.cue, a.text], [b.cue, b.text]]}
        mentioned = _mentions_a_man(a.text + " " + b.text, male_names)
        (about_men if mentioned else talks).append({**exchange, "mentions": mentioned})
    if talks or about_men:
        result.score = 2
    if talks:
        result.score = 3
        result.passing_scenes = sorted({t["scene"] for t in talks})
    result.evidence = (talks or about_men)[:5]
    return result


def first_last(said: list[Speech], people: dict[str, Person]) -> dict[str, dict[str, int]]:
    """Per scene, the gender of who speaks first and who speaks last."""
    out: dict[str, Counter[str]] = {"first": Counter(), "last": Counter()}
    by_scene: dict[int, list[Speech]] = {}
    for s in said:
        by_scene.setdefault(s.scene, []).append(s)
    for scene_said in by_scene.values():
        out["first"][people[scene_said[0].cue].gender] += 1
        out["last"][people[scene_said[-1].cue].gender] += 1
    return {k: dict(v) for k, v in out.items()}


def action_verbs(
    doc: Document, cast: list[Person], top: int = 10
) -> dict[str, list[tuple[str, int]]]:
    """Verbs in action lines after a character's name or she/he, by gender (a heuristic)."""
    subjects: dict[str, str] = {"she": "female", "he": "male"}
    for person in cast:
        if person.gender != UNKNOWN:
            for part in {person.cue, (person.name.split() or [person.cue])[0], person.name}:
                subjects.setdefault(part.lower(), person.gender)
    if not any(g for g in subjects.values()):
        return {}
    names = "|".join(sorted((re.escape(s) for s in subjects), key=len, reverse=True))
    pattern = re.compile(rf"\b({names})\s+(?:[a-z]+ly\s+)?([a-z]{{3,}}s)\b", re.I)
    counts: dict[str, Counter[str]] = {}
    for element in doc.elements:
        if element.kind is not Kind.ACTION:
            continue
        for subject, verb in pattern.findall(element.text):
            if not verb.islower() or verb in NOT_VERBS or verb.endswith(("ss", "us")):
                continue
            counts.setdefault(subjects[subject.lower()], Counter())[verb] += 1
    return {g: c.most_common(top) for g, c in sorted(counts.items())}
