"""Automatic, offline checks of a script: format, runtime, diversity, loops, consistency.

Pure functions over a `Document` (and, when there is one, the domain `Screenplay` it was
rendered from); nothing here reads files or calls a model. These are regression checks,
not quality claims: automatic metrics correlate weakly with human judgement (HANNA).

- **format**: the Fountain we would write reads back as the same Document (the `forced`
  flag aside: the writer adds force marks wherever a paragraph would otherwise read back
  as another kind, so it is a detail of the source text, not of the script); the title
  page is not empty; no orphan cue (a cue with no speech under it). Scene headings that do
  not start with INT/EXT/EST/INT./EXT/INT/EXT/I/E (forced ones, say) are counted, but do
  not make a script invalid: stage plays have none. The share of each element kind.
- **runtime**: pages ≈ minutes (`report.estimate_pages`).
- **diversity** over all dialogue text: distinct-n = unique / all n-grams (Li et al. 2016)
  and rep-4 = 1 - unique / all 4-grams; and the same at equal length, on the first
  `EQUAL_TOKENS` tokens, since distinct-n falls as text grows. The tokenizer is
  `[a-z']+|[^a-z'\\s]` on lowercased text (words, and each punctuation mark as a token):
  it reproduces the human reference numbers in the developer notes exactly (tinyshakespeare's
  first 5,000 tokens: .240 / .736 / .933 / rep-4 .017), which words alone do not.
- **loops**: Dramatron's block test, per scene: the scene's speeches as `CUE\\nspeech`
  blocks, split on blank lines; a block that occurs more than `LOOP_REPEATS` times within
  `LOOP_WINDOW` characters is a loop. The window is Dramatron's scope (it tests each
  generation of at most 1,024 characters); over a whole long scene the test also fires on
  refrains a human wrote (Hamlet I.v: the Ghost's four "Swear." within ~1,400 characters).
  Also counted: speeches that exactly repeat an earlier speech of the same scene.
- **consistency**: cue names normalised (extensions like `(V.O.)`, `(CONT'D)` and the dual
  `^` stripped, upper case), speeches per character. With a `Screenplay`, speakers are
  checked by character id, not by name: the share of speeches whose speaker is a declared
  character present in that scene, undeclared speakers, and declared characters who never
  speak.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from soundstage.errors import FormatError
from soundstage.script.formats.elements import Document, Element, Kind
from soundstage.script.formats.emphasis import parse_emphasis
from soundstage.script.formats.fountain import parse_fountain, write_fountain
from soundstage.script.language import Language, measure
from soundstage.script.report import estimate_pages
from soundstage.script.types import Screenplay

__all__ = [
    "Consistency",
    "Diversity",
    "Evaluation",
    "FormatCheck",
    "Loops",
    "SceneLoops",
    "diversity",
    "evaluate",
    "looping_blocks",
    "normalise_cue",
    "tokens",
]

HEADING = re.compile(r"^(INT|EXT|EST|INT\./EXT|INT/EXT|I/E)[. ]")
TOKEN = re.compile(r"[a-z']+|[^a-z'\s]")
EQUAL_TOKENS = 5000  # the length the notes' human reference numbers are given at
LOOP_REPEATS = 3  # Dramatron's MAX_NUM_REPETITIONS: a block seen more often is a loop
LOOP_WINDOW = 1024  # characters: Dramatron's max_paragraph_length, one generation
_EXTENSION = re.compile(r"\s*(\([^()]*\)|\^)\s*$")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_SPEECH = (Kind.PARENTHETICAL, Kind.DIALOGUE, Kind.LYRICS)


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormatCheck:
    round_trip: bool  # parse_fountain(write_fountain(doc)) == doc, `forced` aside
    round_trip_error: str | None  # where it first differs
    title_page: bool  # at least one title-page entry
    headings: int
    nonstandard_headings: int  # headings not matching `HEADING`
    orphan_cues: int  # cues with no parenthetical, dialogue or lyrics under them
    kinds: dict[str, float]  # share of all elements, per kind

    @property
    def valid(self) -> bool:
        return self.round_trip and self.title_page and self.orphan_cues == 0


@dataclass(frozen=True)
class Diversity:
    tokens: int
    distinct_1: float
    distinct_2: float
    distinct_3: float
    rep_4: float


@dataclass(frozen=True)
class SceneLoops:
    scene: int  # 1-based; 0 is whatever comes before the first heading
    heading: str
    loops: int  # distinct blocks occurring more than LOOP_REPEATS times in a window
    repeated_speeches: int  # speeches equal to an earlier one in the scene


@dataclass(frozen=True)
class Loops:
    loops: int
    repeated_speeches: int
    scenes: list[SceneLoops] = field(default_factory=list)  # only scenes with a finding


@dataclass(frozen=True)
class Consistency:
    speeches: int  # cues in the Document
    speakers: dict[str, int]  # normalised cue → speeches, most first
    cues_with_extensions: int  # cues that carry (V.O.), (CONT'D), ^ ...
    # With a Screenplay (None / empty without one):
    checked_speeches: int | None = None  # speeches in the Screenplay's dialogue
    consistent_share: float | None = None  # declared and present in that scene
    absent_speeches: int | None = None  # declared, but not among the scene's characters
    undeclared_speakers: list[str] = field(default_factory=list)  # speaker ids not in the cast
    silent_characters: list[str] = field(default_factory=list)  # cast ids that never speak


@dataclass(frozen=True)
class Evaluation:
    format: FormatCheck
    pages: float  # ≈ minutes of screen time
    diversity: Diversity  # all dialogue
    diversity_equal: Diversity  # the first EQUAL_TOKENS dialogue tokens (or all, if fewer)
    loops: Loops
    consistency: Consistency
    language: Language  # non-words, archaic words, logline coverage, action share, voices

    @property
    def valid(self) -> bool:
        return self.format.valid

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = _rounded(asdict(self))
        data["format"]["valid"] = self.format.valid
        data["valid"] = self.valid
        data["minutes"] = data["pages"]
        return data


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


# -- the checks ----------------------------------------------------------------------------


def evaluate(
    doc: Document, screenplay: Screenplay | None = None, logline: str | None = None
) -> Evaluation:
    """All checks on one script; `screenplay` adds the id-based consistency check.

    The logline (for coverage) is the screenplay's, else `logline`, else the title page's
    Notes, where our exports keep it."""
    dialogue = [t for e in doc.elements if e.kind is Kind.DIALOGUE for t in tokens(e.text)]
    if logline is None:
        logline = screenplay.logline if screenplay else dict(doc.title_page).get("Notes", "")
    pages = estimate_pages(doc)
    return Evaluation(
        format=check_format(doc),
        pages=pages,
        diversity=diversity(dialogue),
        diversity_equal=diversity(dialogue[:EQUAL_TOKENS]),
        loops=find_loops(doc),
        consistency=check_consistency(doc, screenplay),
        language=measure(doc, logline, pages),
    )


def tokens(text: str) -> list[str]:
    """Lowercased words and single punctuation marks; Fountain emphasis markers removed."""
    return TOKEN.findall(parse_emphasis(text).text.lower())


def diversity(toks: list[str]) -> Diversity:
    def distinct(n: int) -> float:
        grams = [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]
        return len(set(grams)) / len(grams) if grams else 0.0

    four = [tuple(toks[i : i + 4]) for i in range(len(toks) - 3)]
    rep_4 = 1 - len(set(four)) / len(four) if four else 0.0
    return Diversity(len(toks), distinct(1), distinct(2), distinct(3), rep_4)


def check_format(doc: Document) -> FormatCheck:
    headings = [e for e in doc.elements if e.kind is Kind.SCENE_HEADING]
    total = len(doc.elements)
    counts = Counter(e.kind for e in doc.elements)
    error = round_trip_error(doc)
    return FormatCheck(
        round_trip=error is None,
        round_trip_error=error,
        title_page=any(v.strip() for _, v in doc.title_page),
        headings=len(headings),
        nonstandard_headings=sum(1 for e in headings if not HEADING.match(e.text)),
        orphan_cues=sum(1 for speech in _speeches(doc.elements) if not speech[1]),
        kinds={k.value: (counts[k] / total if total else 0.0) for k in Kind},
    )


def round_trip_error(doc: Document) -> str | None:
    """None if the Fountain we would write reads back as `doc`; else where it first differs."""
    try:
        back = parse_fountain(write_fountain(doc))
    except FormatError as exc:
        return f"the written Fountain does not parse: {exc}"
    if back.title_page != doc.title_page:
        return "the title page reads back differently"
    ours = [_unforced(e) for e in doc.elements]
    theirs = [_unforced(e) for e in back.elements]
    for i, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if a != b:
            what = a.kind.value if a.kind is b.kind else f"{a.kind.value} as {b.kind.value}"
            return f"element {i + 1} ({what}) reads back differently: {_short(b.text)!r}"
    if len(ours) != len(theirs):
        return f"{len(ours)} elements read back as {len(theirs)}"
    return None


def _unforced(element: Element) -> Element:
    return Element(element.kind, element.text, element.scene_number, element.depth, element.dual)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def normalise_cue(cue: str) -> str:
    """'BOB (V.O.) (CONT'D) ^' → 'BOB' (a caret before the name is dropped too)."""
    name = cue.strip().lstrip("^").strip()
    while True:
        stripped = _EXTENSION.sub("", name)
        if stripped == name:
            return name.upper()
        name = stripped


Speech = tuple[str, list[Element]]  # (cue as written, parentheticals / dialogue / lyrics)


def _speeches(elements: list[Element]) -> list[Speech]:
    """Each cue with the speech under it; a boneyard inside a speech is skipped."""
    out: list[Speech] = []
    current: list[Element] | None = None
    for element in elements:
        if element.kind is Kind.CHARACTER:
            current = []
            out.append((element.text, current))
        elif current is not None and element.kind in _SPEECH:
            current.append(element)
        elif element.kind is not Kind.BONEYARD:
            current = None
    return out


def _scenes(elements: list[Element]) -> list[tuple[str, list[Element]]]:
    """(heading, elements) per scene; what precedes the first heading is scene 0, heading ''."""
    scenes: list[tuple[str, list[Element]]] = [("", [])]
    for element in elements:
        if element.kind is Kind.SCENE_HEADING:
            scenes.append((element.text, []))
        else:
            scenes[-1][1].append(element)
    return scenes


def find_loops(doc: Document) -> Loops:
    found: list[SceneLoops] = []
    for number, (heading, elements) in enumerate(_scenes(doc.elements)):
        speeches = _speeches(elements)
        blocks = [
            "\n".join([normalise_cue(cue), *(e.text for e in speech)]) for cue, speech in speeches
        ]
        parts = [p.strip() for p in _BLANK_LINE.split("\n\n".join(blocks)) if p.strip()]
        loops = len(looping_blocks(parts))
        seen: set[str] = set()
        repeated = 0
        for _cue, speech in speeches:
            text = " ".join(" ".join(e.text.split()) for e in speech if e.kind is Kind.DIALOGUE)
            if text and text in seen:
                repeated += 1
            seen.add(text)
        if loops or repeated:
            found.append(SceneLoops(number, heading, loops, repeated))
    return Loops(
        loops=sum(s.loops for s in found),
        repeated_speeches=sum(s.repeated_speeches for s in found),
        scenes=found,
    )


def looping_blocks(blocks: list[str], window: int = LOOP_WINDOW) -> set[str]:
    """Blocks seen more than LOOP_REPEATS times in some run of blocks within `window` chars."""
    found: set[str] = set()
    for start in range(len(blocks)):
        counts: Counter[str] = Counter()
        size = 0
        for block in blocks[start:]:
            size += len(block) + (2 if counts else 0)  # the blank line between blocks
            if size > window and counts:
                break
            counts[block] += 1
            if counts[block] > LOOP_REPEATS:
                found.add(block)
    return found


def check_consistency(doc: Document, screenplay: Screenplay | None = None) -> Consistency:
    cues = [cue for cue, _ in _speeches(doc.elements)]
    speakers = Counter(normalise_cue(c) for c in cues)
    base = Consistency(
        speeches=len(cues),
        speakers=dict(sorted(speakers.items(), key=lambda kv: (-kv[1], kv[0]))),
        cues_with_extensions=sum(1 for c in cues if normalise_cue(c) != c.strip().upper()),
    )
    if screenplay is None:
        return base
    cast = {c.id for c in screenplay.characters}
    present = {s.id: set(s.characters) for s in screenplay.scenes}
    checked = consistent = absent = 0
    undeclared: list[str] = []
    spoke: set[str] = set()
    for scene_id, dialogue in screenplay.dialogue.items():
        here = present.get(dialogue.scene_id or scene_id, set())
        for line in dialogue.lines:
            checked += 1
            spoke.add(line.speaker)
            if line.speaker not in cast:
                if line.speaker not in undeclared:
                    undeclared.append(line.speaker)
            elif line.speaker in here:
                consistent += 1
            else:
                absent += 1
    return Consistency(
        speeches=base.speeches,
        speakers=base.speakers,
        cues_with_extensions=base.cues_with_extensions,
        checked_speeches=checked,
        consistent_share=consistent / checked if checked else None,
        absent_speeches=absent,
        undeclared_speakers=undeclared,
        silent_characters=[c.id for c in screenplay.characters if c.id not in spoke],
    )
