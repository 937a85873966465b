"""The writers' room for instruction-following LLMs (openai and llamacpp backends).

Dramatron's hierarchy, prompted level by level: title → characters → scenes → place
descriptions → dialogue per scene. Each prompt is one template in `script/write/prompts/`
(plain text with `{placeholders}`): a short instruction, two or three original examples in
markdown markers (`**Title:**`, `**Character:** … **Role:** …`, `**END**`), then "Your turn."
with the upper levels filled in, ending on the marker the model should continue. The same
prompt works for completion servers (which continue it) and chat servers (which answer it,
often repeating the marker).

Every answer is parsed strictly into the domain objects. What Dramatron guessed, we check:

- characters declare pronouns and a role; ids come from `slug(name)`; a repeated name is
  dropped;
- scenes come one per beat of `allocate(structure, scene_count(minutes))`, in order, each
  with a real scene heading and the characters present *by name*, mapped to ids; an
  unknown name is an error, never silently dropped;
- dialogue is parsed into `Line`s (`NAME: (note) text` or `NAME` on its own line, then the
  text); a speech by someone who is not present in the scene is an error.

A parse or consistency failure resamples with seed + 1, at most three times, then raises
`SoundstageError("<level>: the model's answer could not be parsed after 3 tries: …")` with
the first problem and its line. Dialogue also keeps Dramatron's loop rule (a `\\n\\n` block
repeated more than three times → resample) and samples `candidates` answers, keeping the
one most relevant to the beat (scored with `dialogue.py`'s helpers).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import TypeVar

from soundstage.backends.base import Completion, TextBackend
from soundstage.errors import SoundstageError
from soundstage.script.structures import Beat, allocate, cast_size, scene_count
from soundstage.script.types import (
    Character,
    Controls,
    Dialogue,
    Line,
    Place,
    Role,
    Scene,
    Screenplay,
    slug,
)
from soundstage.script.write.dialogue import content, cosine, printed_lines, rep_n, scene_budget

__all__ = [
    "AnswerError",
    "FewShotWriter",
    "Roster",
    "parse_characters",
    "parse_dialogue",
    "parse_place",
    "parse_scenes",
    "parse_title",
    "render_prompt",
    "uses_instructions",
]

T = TypeVar("T")

END = "**END**"
MAX_ATTEMPTS = 3  # failed answers per level before giving up (Dramatron's limit too)
MAX_REPEATS = 3  # a block seen more often than this is a loop (Dramatron's MAX_NUM_REPETITIONS)
MAX_CAST = 12
MAX_TITLE_WORDS = 10

ROLE_NAMES: dict[str, Role] = {
    "protagonist": "protagonist",
    "antagonist": "antagonist",
    "ally": "ally",
    "mentor": "mentor",
    "love interest": "love interest",
    "supporting": "supporting",
    # Words instruction-tuned models use for the same parts.
    "hero": "protagonist",
    "heroine": "protagonist",
    "lead": "protagonist",
    "villain": "antagonist",
    "love-interest": "love interest",
    "sidekick": "ally",
}
ROLE_LIST = "protagonist, antagonist, ally, mentor, love interest, supporting"
PRONOUNS = re.compile(r"^[a-z]+(?:\s*/\s*[a-z]+)+$")
TIMES = ("DAY", "NIGHT", "MORNING", "AFTERNOON", "EVENING", "DAWN", "DUSK", "CONTINUOUS", "LATER")
HEADING = re.compile(
    r"^(?P<ie>INT|EXT)\.?\s+(?P<place>.+?)\s*[-–—]+\s*(?P<time>[A-Z]+)\.?$", re.IGNORECASE
)
# `**Key:**`: the markers every prompt and answer use.
MARKER = re.compile(r"\*\*([A-Za-z][A-Za-z ]{0,30}?):\*\*")
# A speech: `NAME: text` or `NAME (note): text`; the name part is checked with `_is_name`.
COLON_CUE = re.compile(
    r"^(?P<name>[^\W\d_][\w .'’-]{0,40}?)\s*(?:\((?P<note>[^)]*)\))?\s*:(?!\S)\s*(?P<text>.*)$"
)
# A cue on its own line, in capitals: `NELL` or `NELL (V.O.)`.
BARE_CUE = re.compile(r"^(?P<name>[^\W\d_][\w .'’-]{0,40}?)\s*(?:\((?P<note>[^)]*)\))?$")
EXTENSIONS = {"v.o.", "o.s.", "o.c.", "cont'd", "cont’d", "contd", "vo", "os", "oc"}
EXAMPLE_START = re.compile(r"^\s*(?:\*\*)?(?:Example \d|Your turn)", re.MULTILINE)
BULLET = re.compile(r"^(?:[-*•]|\d+[.)])$")  # "- **Character:** …": a list marker, not text
BOLD_LINE = re.compile(r"^\*\*[^*]+\*\*$")  # "**Scene 2**": a heading the format does not have
FENCE = re.compile(r"^\s*```\w*\s*$", re.MULTILINE)


class AnswerError(SoundstageError):
    """The model's answer does not fit the format, or contradicts the upper levels."""

    def __init__(self, message: str, line_no: int | None = None, line: str = "") -> None:
        where = f" (line {line_no}: {line.strip()[:120]!r})" if line_no is not None else ""
        super().__init__(message + where)
        self.line_no = line_no
        self.line = line


# -- prompts --------------------------------------------------------------------------------


@cache
def template(level: str) -> str:
    """The prompt template of a level, from `soundstage/script/write/prompts/<level>.txt`."""
    return (resources.files("soundstage.script.write") / "prompts" / f"{level}.txt").read_text(
        "utf-8"
    )


def render_prompt(level: str, **values: object) -> str:
    """Fill a level's template; every placeholder must be given, none may be left over."""
    return template(level).format_map(values).rstrip()


def beat_sheet(sheet: Sequence[Beat]) -> str:
    return "\n".join(f"{i}. {b.name}: {b.purpose}" for i, b in enumerate(sheet, 1))


def cast_lines(characters: Sequence[Character], *, cue: bool = False) -> str:
    rows = []
    for c in characters:
        about = ", ".join(x for x in (c.pronouns, c.role) if x)
        label = f"{c.cue} ({c.name}, {about})" if cue else f"{c.name} ({about})"
        rows.append(f"- {label}: {c.description}".rstrip(": "))
    return "\n".join(rows)


def speeches_for(budget: int) -> int:
    """Speeches that fill `budget` printed lines: a speech takes about four (cue, two, blank)."""
    return max(4, round(budget / 4))


# -- reading answers ------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    key: str  # lower case, e.g. "plot element"
    value: str  # the text after the marker, with any continuation lines joined on
    line_no: int
    line: str

    @property
    def inline(self) -> str:
        """Only the text after the marker on its own line."""
        mark = next(m for m in MARKER.finditer(self.line) if m.group(1).strip().lower() == self.key)
        nxt = MARKER.search(self.line, mark.end())
        return self.line[mark.end() : nxt.start() if nxt else None].strip()


def normalise(answer: str, marker: str) -> str:
    """The answer as if the model had written the open `marker` itself.

    Cut at **END** and at a new "Example n." the model started on its own; drop code
    fences; drop a chat preamble ("Sure! Here is…") before the first marker; and put back
    the marker the prompt ended on when a completion model simply continued it.
    """
    text = answer.split(END, 1)[0]
    cut = EXAMPLE_START.search(text)
    if cut:
        text = text[: cut.start()]
    text = FENCE.sub("", text).strip()
    if MARKER.match(text):
        return text
    at = text.find(marker)
    if at > 0 and not MARKER.search(text[:at]):
        return text[at:]
    return f"{marker} {text}"


def fields(text: str, allowed: Sequence[str], echoes: Sequence[str] = ()) -> list[Field]:
    """`**Key:** value` pairs in order; a value runs on over the lines without a marker.

    Keys in `echoes` (the prompt's own fields, which chat models like to repeat) are
    skipped with their values; any other key not in `allowed` is an error.
    """
    out: list[Field] = []
    echo = False  # inside a skipped echo field

    def extend(extra: str, no: int, line: str) -> None:
        if not extra or echo:
            return
        if not out:
            raise AnswerError("text before the first **marker:**", no, line)
        last = out[-1]
        out[-1] = Field(last.key, f"{last.value} {extra}".strip(), last.line_no, last.line)

    for no, line in enumerate(text.splitlines(), 1):
        marks = list(MARKER.finditer(line))
        before = line[: marks[0].start() if marks else None].strip()
        if not marks and BOLD_LINE.match(before):
            raise AnswerError("a heading that is not a **Field:** marker", no, line)
        extend("" if marks and BULLET.match(before) else before, no, line)
        for i, mark in enumerate(marks):
            key = mark.group(1).strip().lower()
            end = marks[i + 1].start() if i + 1 < len(marks) else len(line)
            echo = key in echoes
            if echo:
                continue
            if key not in allowed:
                raise AnswerError(f"unexpected field **{mark.group(1)}:**", no, line)
            out.append(Field(key, line[mark.end() : end].strip(), no, line))
    return out


def plain(text: str) -> str:
    """Collapse whitespace and strip markdown emphasis and quotes around a value."""
    text = " ".join(text.split())
    return text.strip("*_ ").strip().strip("\"'“”‘’").strip()


def fold(text: str) -> str:
    """Compare names and beats without case, accents or punctuation: 'Dénouement' = 'denouement'."""
    bare = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in bare if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w]+", " ", bare.casefold()).split())


@dataclass
class Roster:
    """Maps the names a model writes to character ids: full name, slug, first or last name.

    A first or last name shared by two characters maps to neither (only full names work).
    """

    characters: Sequence[Character]
    _keys: dict[str, str | None] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        exact: dict[str, str] = {}
        partial: dict[str, str | None] = {}
        for c in self.characters:
            for key in (
                fold(c.name),
                fold(c.id),
                fold(re.sub(r"^(the|a)\s+", "", c.name, flags=re.I)),
            ):
                exact.setdefault(key, c.id)
            words = fold(c.name).split()
            for key in {words[0], words[-1]} if words else set():
                partial[key] = c.id if partial.get(key, c.id) == c.id else None
        self._keys = {**partial, **exact}

    def resolve(self, name: str) -> str | None:
        return self._keys.get(fold(name))

    def __contains__(self, name: str) -> bool:
        return self.resolve(name) is not None


def _label(key: str) -> str:
    return f"**{key[:1].upper()}{key[1:]}:**"


def _group(items: list[Field], head: str) -> list[list[Field]]:
    groups: list[list[Field]] = []
    for f in items:
        if f.key == head:
            groups.append([f])
        elif not groups:
            raise AnswerError(f"{_label(f.key)} before the first {_label(head)}", f.line_no, f.line)
        else:
            groups[-1].append(f)
    return groups


def _one(group: list[Field], key: str, what: str) -> Field:
    found = [f for f in group if f.key == key]
    first = group[0]
    if not found or not plain(found[0].value):
        raise AnswerError(f"{what} has no {_label(key)}", first.line_no, first.line)
    if len(found) > 1:
        raise AnswerError(f"{what} gives {_label(key)} twice", found[1].line_no, found[1].line)
    return found[0]


# -- the parsers, one per level --------------------------------------------------------------


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def parse_title(answer: str) -> str:
    """One title on the `**Title:**` line; anything after that line is ignored."""
    text = normalise(answer, "**Title:**")
    items = fields(text, ["title"], echoes=["logline", "genre", "tone", "rating"])
    if not items:
        raise AnswerError("no **Title:** in the answer", 1, _first_line(text))
    f = items[0]
    title = plain(re.sub(r"^title\s*:\s*", "", f.inline, flags=re.I))
    if not title:
        raise AnswerError("the title is empty", f.line_no, f.line)
    if len(title.split()) > MAX_TITLE_WORDS or title.endswith(":"):
        raise AnswerError(
            f"the title is not a title (a lead-in, or over {MAX_TITLE_WORDS} words)",
            f.line_no,
            f.line,
        )
    return title


def parse_characters(answer: str) -> list[Character]:
    """Characters with declared pronouns and role; ids from `slug`; a repeated name is dropped."""
    text = normalise(answer, "**Character:**")
    allowed = ["character", "pronouns", "role", "description", "gender"]
    echoes = ["logline", "genre", "tone", "rating"]
    groups = _group(fields(text, allowed, echoes), "character")
    if not groups:
        raise AnswerError("no **Character:** in the answer", 1, _first_line(text))
    cast: list[Character] = []
    for group in groups:
        head = group[0]
        name = plain(head.value)
        if not name or len(name.split()) > 5:
            raise AnswerError(
                "a character needs a name of one to five words", head.line_no, head.line
            )
        what = f"character {name!r}"
        said = _one(group, "pronouns", what)
        pronouns = re.sub(r"\s+", "", plain(said.value).lower())
        if not PRONOUNS.match(pronouns):
            raise AnswerError(
                f"{what}: {pronouns!r} are not pronouns like she/her", said.line_no, said.line
            )
        given = _one(group, "role", what)
        role = ROLE_NAMES.get(plain(given.value).lower())
        if role is None:
            raise AnswerError(
                f"{what}: unknown role {plain(given.value)!r}; use one of {ROLE_LIST}",
                given.line_no,
                given.line,
            )
        description = plain(_one(group, "description", what).value)
        gender = next((plain(f.value) for f in group if f.key == "gender"), "")
        if any(c.id == slug(name) for c in cast):
            continue  # the same character twice: keep the first
        cast.append(Character(slug(name), name, description, pronouns, gender, role))
    if len(cast) > MAX_CAST:
        raise AnswerError(
            f"more than {MAX_CAST} characters", groups[-1][0].line_no, groups[-1][0].line
        )
    if not any(c.role == "protagonist" for c in cast):
        raise AnswerError(
            "no character has the role protagonist", groups[0][0].line_no, groups[0][0].line
        )
    return cast


def _names(value: str) -> list[str]:
    """'Maren Holt (protagonist), Tove and Silas' → ['Maren Holt', 'Tove', 'Silas']."""
    parts = re.split(r"\s*[,;&]\s*|\s+and\s+", re.sub(r"\s*\([^)]*\)", "", plain(value)))
    return [plain(p) for p in parts if plain(p)]


def parse_scenes(
    answer: str, characters: Sequence[Character], sheet: Sequence[str]
) -> tuple[list[Scene], list[Place]]:
    """One scene per plot element of `sheet`, in order, and the places they use (undescribed).

    Characters present are given by name and mapped to ids; an unknown name is an error.
    """
    text = normalise(answer, "**Scene:**")
    allowed = ["scene", "plot element", "place", "characters", "beat"]
    echoes = ["logline", "genre", "tone", "cast", "beat sheet", "scenes"]
    groups = _group(fields(text, allowed, echoes), "scene")
    roster = Roster(characters)
    scenes: list[Scene] = []
    places: dict[str, tuple[Place, int]] = {}  # name → (place, first scene number)
    for i, group in enumerate(groups):
        head, what = group[0], f"scene {i + 1}"
        if i >= len(sheet):
            raise AnswerError(
                f"more scenes than the {len(sheet)} asked for", head.line_no, head.line
            )
        pe = _one(group, "plot element", what)
        if fold(pe.value) != fold(sheet[i]):
            raise AnswerError(
                f"{what} should be the beat {sheet[i]!r}, not {plain(pe.value)!r}",
                pe.line_no,
                pe.line,
            )
        where = _one(group, "place", what)
        heading = HEADING.match(plain(where.value))
        if not heading or heading["time"].upper() not in TIMES:
            raise AnswerError(
                f"{what}: the place is not a heading like INT. KITCHEN - NIGHT",
                where.line_no,
                where.line,
            )
        name = " ".join(heading["place"].strip(" .").upper().split())
        interior = heading["ie"].upper() == "INT"
        if name in places and places[name][0].interior != interior:
            before = "INT" if places[name][0].interior else "EXT"
            raise AnswerError(
                f"{what}: {name} was {before} in scene {places[name][1]}; "
                "a place is always inside or always outside",
                where.line_no,
                where.line,
            )
        places.setdefault(name, (Place(name, "", interior), i + 1))
        who = _one(group, "characters", what)
        ids: list[str] = []
        for person in _names(who.value):
            cid = roster.resolve(person)
            if cid is None:
                raise AnswerError(f"{what}: {person!r} is not in the cast", who.line_no, who.line)
            ids.append(cid)
        beat = plain(_one(group, "beat", what).value)
        time = heading["time"].upper()
        scenes.append(Scene(f"s{i + 1}", name, sheet[i], beat, tuple(dict.fromkeys(ids)), time))
    if len(scenes) != len(sheet):
        lines = text.splitlines()
        raise AnswerError(
            f"{len(scenes)} scenes instead of the {len(sheet)} asked for",
            len(lines),
            lines[-1] if lines else "",
        )
    return scenes, [p for p, _ in places.values()]


def parse_place(answer: str) -> str:
    """A place's description: the text of the one `**Description:**`."""
    text = normalise(answer, "**Description:**")
    echoes = ["logline", "genre", "tone", "place", "scenes here"]
    items = fields(text, ["description"], echoes)
    if not items:
        raise AnswerError("no **Description:** in the answer", 1, _first_line(text))
    if len(items) > 1:
        raise AnswerError("more than one **Description:**", items[1].line_no, items[1].line)
    description = plain(items[0].value)
    if not description:
        raise AnswerError("the description is empty", items[0].line_no, items[0].line)
    return description


def _is_name(name: str) -> bool:
    """'NELL', 'Nell Brody', 'Dr. Vance': up to four capitalised words, so a cue, not prose."""
    parts = name.split()
    return 0 < len(parts) <= 4 and all(p[:1].isupper() for p in parts)


def detect_loop(text: str) -> str | None:
    """A `\\n\\n` block (Dramatron's rule) or a line seen more than MAX_REPEATS times."""
    for pieces in (text.split("\n\n"), text.splitlines()):
        counts = Counter(" ".join(p.split()) for p in pieces if p.strip())
        if counts:
            block, n = counts.most_common(1)[0]
            if n > MAX_REPEATS:
                return block
    return None


def _cue(line: str, *, bare_ok: bool = True) -> tuple[str, str, str] | None:
    """(name, note, text) when the line opens a speech: `NAME: text` or a capitals-only `NAME`.

    `bare_ok` is False right after a bare cue, where a line in capitals ("OK.") is the speech.
    """
    colon = COLON_CUE.match(line)
    if colon and _is_name(colon["name"]):
        return colon["name"].strip(), (colon["note"] or "").strip(), colon["text"].strip()
    bare = BARE_CUE.match(line) if bare_ok else None
    if bare and bare["name"].isupper() and len(bare["name"].split()) <= 4:
        return bare["name"].strip(), (bare["note"] or "").strip(), ""
    return None


def parse_dialogue(
    answer: str, scene: Scene, characters: Sequence[Character], *, truncated: bool = False
) -> Dialogue:
    """An optional `**Action:**`, then `**Dialogue:**` and speeches by characters present.

    A speech is `NAME: (note) text`, or `NAME` on its own line with an optional `(note)`
    line and text lines after it. Names map case-insensitively, first names allowed; a
    speaker who is not in the cast, or not present in `scene`, is an error. `truncated`
    (the answer hit max_tokens) drops the last speech, which may be cut off.
    """
    text = normalise(answer, "**Action:**")
    lines = text.splitlines()
    opener = re.compile(r"^\s*\*\*Dialogue:\*\*", re.I)
    start = next((i for i, ln in enumerate(lines) if opener.match(ln)), None)
    if start is None:
        raise AnswerError("no **Dialogue:** line before the speeches", 1, _first_line(text))
    echoes = [
        "logline", "genre", "tone", "rating", "place", "place description", "present",
        "story so far", "last speeches", "plot element", "beat", "length",
    ]  # fmt: skip
    action = plain(" ".join(f.value for f in fields("\n".join(lines[:start]), ["action"], echoes)))
    body = [(start + 1, opener.sub("", lines[start]))]
    body += [(no, ln) for no, ln in enumerate(lines[start + 1 :], start + 2)]
    loop = detect_loop("\n".join(ln for _, ln in body))
    if loop is not None:
        no, raw = next((n, ln) for n, ln in body if ln.strip() and " ".join(ln.split()) in loop)
        raise AnswerError(
            f"the answer loops: a block repeats more than {MAX_REPEATS} times", no, raw
        )
    roster, present = Roster(characters), set(scene.characters)
    speeches: list[tuple[str, str, list[str], int, str]] = []  # speaker, note, words, line no, line
    open_ = False  # the last speech still takes text lines (no blank line since its cue)
    for no, raw in body:
        line = raw.replace("**", "").strip()
        if not line:
            open_ = False
            continue
        waiting = open_ and bool(speeches) and not speeches[-1][2]  # a cue still without words
        cue = _cue(line, bare_ok=not waiting)
        if cue is not None:
            name, note, rest = cue
            cid = roster.resolve(name)
            if cid is None:
                raise AnswerError(f"speaker {name!r} is not in the cast", no, raw)
            if cid not in present:
                raise AnswerError(f"speaker {name!r} is not present in scene {scene.id}", no, raw)
            if note.lower().replace(" ", "") in EXTENSIONS:
                note = ""  # (V.O.), (CONT'D): cue extensions, not acting notes
            if not note and (m := re.match(r"^\(([^)]*)\)\s*(.*)$", rest)):
                note, rest = m[1].strip(), m[2].strip()
            speeches.append((cid, note, [rest] if rest else [], no, raw))
            open_ = True
            continue
        note_only = re.fullmatch(r"\(([^)]*)\)", line)
        last = speeches[-1] if speeches and open_ else None
        if last is not None and note_only and not last[2] and not last[1]:
            speeches[-1] = (last[0], note_only[1].strip(), last[2], last[3], last[4])
        elif last is not None and not note_only:
            last[2].append(line)
        else:
            raise AnswerError("text outside a speech (no NAME: before it)", no, raw)
    if truncated and len(speeches) > 1:
        speeches.pop()
    if not speeches:
        raise AnswerError("no speeches after **Dialogue:**", start + 1, lines[start])
    out: list[Line] = []
    for cid, note, parts, no, raw in speeches:
        said = " ".join(" ".join(parts).split())
        if not said:
            raise AnswerError("a speech has no words", no, raw)
        out.append(Line(cid, said, note))
    return Dialogue(scene.id, tuple(out), action)


# -- the writer -----------------------------------------------------------------------------


def uses_instructions(backend: TextBackend) -> bool:
    """True for backends that follow instructions (openai, llamacpp): use `FewShotWriter`.

    The embedded model only continues play dialogue, so it gets the structured planner and
    `DialogueWriter` instead.
    """
    from soundstage.backends.embedded import EmbeddedBackend

    return not isinstance(backend, EmbeddedBackend)


Call = Callable[[str, str, Completion], None]  # (level, prompt, completion)


def _with_present(sp: Screenplay, scene: Scene) -> Scene:
    """The scene with only ids still in the cast; with nobody left, the first character."""
    ids = tuple(i for i in scene.characters if any(c.id == i for c in sp.characters))
    if not ids and sp.characters:
        ids = (sp.characters[0].id,)
    return replace(scene, characters=ids)


@dataclass
class FewShotWriter:
    """Writes every level with few-shot prompts; `plan()` gives levels 1–5 like `planner.plan`.

    `on_call`, when set, sees every prompt and answer (for the intervention log).
    """

    backend: TextBackend
    candidates: int = 2  # dialogue answers sampled per scene; the most relevant is kept
    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int | None = None
    on_call: Call | None = field(default=None, repr=False, compare=False)

    def _generate(
        self,
        level: str,
        prompt: str,
        parse: Callable[[Completion], T],
        *,
        seed: int,
        max_tokens: int,
        want: int = 1,
    ) -> list[T]:
        """Sample with seed, seed + 1, … until `want` answers parse or MAX_ATTEMPTS fail."""
        good: list[T] = []
        problems: list[AnswerError] = []
        attempt = 0
        while len(good) < want and len(problems) < MAX_ATTEMPTS:
            out = self.backend.complete(
                prompt,
                max_tokens=max_tokens,
                temperature=self.temperature,
                top_p=self.top_p,
                top_k=self.top_k,
                stop=[END],
                seed=seed + attempt,
            )
            attempt += 1
            if self.on_call is not None:
                self.on_call(level, prompt, out)
            try:
                good.append(parse(out))
            except AnswerError as problem:
                problems.append(problem)
        if not good:
            raise SoundstageError(
                f"{level}: the model's answer could not be parsed after {MAX_ATTEMPTS} tries: "
                f"{problems[0]}",
                hint="try another --seed or a larger instruction-following model",
            )
        return good

    # -- levels 1–4 ------------------------------------------------------------------------

    def title(self, sp: Screenplay, seed: int = 0) -> str:
        c = sp.controls
        prompt = render_prompt(
            "title", logline=sp.logline, genre=c.genre, tone=c.tone, rating=c.rating
        )
        return self._generate(
            "title", prompt, lambda o: parse_title(o.text), seed=seed, max_tokens=32
        )[0]

    def characters(self, sp: Screenplay, seed: int = 0) -> list[Character]:
        c = sp.controls
        n = cast_size(c)
        prompt = render_prompt(
            "characters",
            logline=sp.logline,
            genre=c.genre,
            tone=c.tone,
            rating=c.rating,
            cast_size=n,
        )

        def parse(o: Completion) -> list[Character]:
            return parse_characters(o.text)

        return self._generate("characters", prompt, parse, seed=seed, max_tokens=120 * (n + 2))[0]

    def scenes(self, sp: Screenplay, seed: int = 0) -> tuple[list[Scene], list[Place]]:
        """One scene per allocated beat, and the places they use (descriptions left empty)."""
        c = sp.controls
        sheet = allocate(c.structure, scene_count(c.minutes))
        prompt = render_prompt(
            "scenes",
            logline=sp.logline,
            genre=c.genre,
            tone=c.tone,
            cast=cast_lines(sp.characters),
            beat_sheet=beat_sheet(sheet),
        )
        names = [b.name for b in sheet]
        cast = list(sp.characters)

        def parse(o: Completion) -> tuple[list[Scene], list[Place]]:
            return parse_scenes(o.text, cast, names)

        tokens = min(16000, 100 + 110 * len(sheet))
        return self._generate("scenes", prompt, parse, seed=seed, max_tokens=tokens)[0]

    def place(self, sp: Screenplay, place: Place, seed: int = 0) -> Place:
        c = sp.controls
        beats = " ".join(s.beat for s in sp.scenes if s.place == place.name) or "(none yet)"
        heading = f"{'INT' if place.interior else 'EXT'}. {place.name}"
        prompt = render_prompt(
            "places", logline=sp.logline, genre=c.genre, tone=c.tone, place=heading, beats=beats
        )
        text = self._generate(
            "places", prompt, lambda o: parse_place(o.text), seed=seed, max_tokens=160
        )
        return Place(place.name, text[0], place.interior)

    def places(self, sp: Screenplay, seed: int = 0) -> list[Place]:
        """A description for every place the scenes use, one call per unique place."""
        known = {p.name: p for p in sp.places}
        names = list(dict.fromkeys([*(s.place for s in sp.scenes), *known]))
        return [self.place(sp, known.get(n) or Place(n), seed) for n in names]

    # -- level 5: dialogue -----------------------------------------------------------------

    def dialogue_prompt(self, sp: Screenplay, scene: Scene) -> str:
        """Place, who is present (by id), the story so far, the previous scene's end, the beat."""
        c = sp.controls
        scene = _with_present(sp, scene)
        index = next(i for i, s in enumerate(sp.scenes) if s.id == scene.id)
        earlier = sp.scenes[:index]
        place = sp.place(scene.place) or Place(scene.place)
        story = "\n".join(
            f"{i}. {s.plot_element}, {s.place}: {s.beat}"
            for i, s in list(enumerate(earlier, 1))[-8:]
        )
        if len(earlier) > 8:
            story = f"({len(earlier) - 8} earlier scenes)\n{story}"
        last = sp.dialogue.get(earlier[-1].id) if earlier else None
        cues = {ch.id: ch.cue for ch in sp.characters}
        speeches = "\n".join(
            f"{cues.get(ln.speaker, ln.speaker.upper())}: {ln.text}"
            for ln in (last.lines[-2:] if last else ())
        )
        budget = scene_budget(c.minutes, len(sp.scenes))
        return render_prompt(
            "dialogue",
            logline=sp.logline,
            genre=c.genre,
            tone=c.tone,
            rating=c.rating,
            place=f"{'INT' if place.interior else 'EXT'}. {scene.place} - {scene.time}",
            place_description=place.description or "(not described)",
            present=cast_lines([sp.character(i) for i in scene.characters], cue=True),
            story_so_far=story or "This is the first scene.",
            last_speeches=speeches or "(none)",
            plot_element=scene.plot_element,
            beat=scene.beat,
            speeches=speeches_for(budget),
        )

    def score(self, d: Dialogue, scene: Scene, budget: int) -> float:
        """Re3-style rerank: relevance to the beat, fit to the budget, who speaks, no loops."""
        said = " ".join(ln.text for ln in d.lines)
        relevance = cosine(content(said), content(f"{scene.beat} {scene.plot_element}"))
        used = sum(printed_lines(ln) for ln in d.lines)
        fit = 1 - min(1.0, abs(used - budget) / budget)
        voices = len({ln.speaker for ln in d.lines}) / max(1, len(scene.characters))
        return relevance + 0.3 * fit + 0.2 * voices - rep_n(said)

    def dialogue(self, sp: Screenplay, scene: Scene, seed: int = 0) -> Dialogue:
        """Dialogue for one scene: `candidates` parsed answers, the best by `score`."""
        prompt = self.dialogue_prompt(sp, scene)
        budget = scene_budget(sp.controls.minutes, len(sp.scenes))
        cast, present = list(sp.characters), _with_present(sp, scene)

        def parse(o: Completion) -> Dialogue:
            return parse_dialogue(o.text, present, cast, truncated=o.finish_reason == "length")

        found = self._generate(
            "dialogue",
            prompt,
            parse,
            seed=seed,
            max_tokens=min(8000, 80 + 12 * budget),
            want=max(1, self.candidates),
        )
        return max(found, key=lambda d: self.score(d, scene, budget))

    # -- all of it -------------------------------------------------------------------------

    def plan(self, logline: str, controls: Controls, seed: int = 0) -> Screenplay:
        """Levels 1–5 for a logline (title, characters, scenes, places), like `planner.plan`."""
        sp = Screenplay(logline=logline, controls=controls)
        sp.title = self.title(sp, seed)
        sp.characters = self.characters(sp, seed)
        sp.scenes, sp.places = self.scenes(sp, seed)
        sp.places = self.places(sp, seed)
        return sp

    def write(self, sp: Screenplay, seed: int = 0) -> Screenplay:
        """Dialogue for every scene, in order, so each prompt sees the previous scene's end."""
        for i, scene in enumerate(sp.scenes):
            sp.dialogue[scene.id] = self.dialogue(sp, scene, seed * 1000 + i)
        return sp
