"""Valence and arousal of a text, from our own lexicon plus a few rules, with explanations.

Russell's circumplex (see ../shared/notes/music.md §2): valence (unpleasant −1 … pleasant +1)
× arousal (calm −1 … excited +1), quadrants Q1 +V+A happy, Q2 −V+A tense, Q3 −V−A sad,
Q4 +V−A calm. The lexicon (`lexicon_va.json`, ~420 words, Apache-2.0 like the rest of the
repo) was written by hand for screenplays: emotions, conflict, violence, calm, celebration,
loss, and the early-modern forms the embedded model writes ("woe", "alas", "mirth"; "thee"
and "thou" are listed as neutral). NRC-VAD is not used: its licence forbids shipping it.

Scoring, each rule simple enough to explain to a writer:
- each lexicon word counts with weight = its strength max(|v|, |a|); neutral words count 0;
- the means are shrunk toward 0 by a pseudo-weight of 1, so one mild word stays mild;
- negation ("not", "never", "no", "…n't", "nay") flips the valence of the next 3 words
  (×−0.7, dampened: "not happy" is less negative than "sad"), within a clause;
- an intensifier ("very", "so", "most", "exceeding") makes the next word 1.3× stronger and
  +0.15 more aroused;
- exclamation marks, short speeches (≤ 4 words) and question-heavy dialogue raise arousal;
  questions also lower valence a little (tension, not joy).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from soundstage.errors import SoundstageError

LEXICON_FILE = "lexicon_va.json"
NEGATIONS = frozenset(
    {"not", "no", "never", "nor", "neither", "nothing", "none", "cannot", "without", "nay"}
)
INTENSIFIERS = frozenset(
    {"very", "so", "too", "really", "utterly", "extremely", "most", "exceeding", "exceedingly"}
)
NEGATION_SCOPE = 3  # words after a negation whose valence flips
NEGATION_FACTOR = -0.7
INTENSITY = 1.3
SHRINK = 1.0  # pseudo-weight at valence = arousal = 0
SHORT_SPEECH = 4  # words; a speech this short reads as clipped, urgent
TOP = 5  # explanation words kept

CLAUSE = re.compile(r"[.!?;:,\n—–]+")
WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


@dataclass(frozen=True)
class Emotion:
    valence: float  # −1 … 1
    arousal: float  # −1 … 1
    quadrant: str  # "Q1" … "Q4"
    confidence: float  # 0 … 1: how much evidence, and how much it agrees
    top_words: tuple[str, ...] = ()  # what drove it, strongest first ("not happy", "very angry")


@lru_cache(maxsize=1)
def lexicon() -> dict[str, tuple[float, float]]:
    """The packaged word → (valence, arousal) table."""
    raw = json.loads(resources.files(__package__).joinpath(LEXICON_FILE).read_text("utf-8"))
    return {w: (float(v), float(a)) for w, (v, a) in raw["words"].items()}


# Emotions a composer may name for a cue (each a lexicon word), grouped by quadrant.
NAMED = (
    "joyful",
    "triumphant",
    "hopeful",
    "tender",
    "calm",
    "serene",
    "sad",
    "grief",
    "lonely",
    "tense",
    "fear",
    "angry",
)


def named_emotion(name: str) -> tuple[float, float]:
    """(valence, arousal) of an emotion word from the lexicon ("tense" → (-0.5, 0.7))."""
    word = name.strip().lower()
    found = lookup(word, lexicon()) if word else None
    if found is None:
        raise SoundstageError(
            f"unknown emotion {name!r}", hint="name one such as " + ", ".join(NAMED)
        )
    return found


def quadrant(valence: float, arousal: float) -> str:
    """Q1 +V+A, Q2 −V+A, Q3 −V−A, Q4 +V−A; a zero counts as positive."""
    if valence >= 0:
        return "Q1" if arousal >= 0 else "Q4"
    return "Q2" if arousal >= 0 else "Q3"


def clip(x: float) -> float:
    return max(-1.0, min(1.0, x))


def lookup(word: str, table: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
    """The word, or its form without a plain suffix ("dances" → "dance", "fought" no)."""
    if word in table:
        return table[word]
    for suffix, repl in (("'s", ""), ("s", ""), ("es", ""), ("ed", ""), ("ed", "e"), ("ing", "")):
        if word.endswith(suffix) and word[: -len(suffix)] + repl in table:
            return table[word[: -len(suffix)] + repl]
    for suffix, repl in (("ing", "e"), ("ly", ""), ("ness", "")):
        if word.endswith(suffix) and word[: -len(suffix)] + repl in table:
            return table[word[: -len(suffix)] + repl]
    return None


@dataclass
class _Hit:
    label: str
    valence: float
    arousal: float

    @property
    def weight(self) -> float:
        return max(abs(self.valence), abs(self.arousal))


def _hits(text: str, table: dict[str, tuple[float, float]]) -> list[_Hit]:
    hits: list[_Hit] = []
    for clause in CLAUSE.split(text.lower().replace("’", "'")):
        negated = 0  # words left in the current negation's scope
        intensify = False
        for word in WORD.findall(clause):
            if word in NEGATIONS or word.endswith("n't"):
                negated, intensify = NEGATION_SCOPE, False
                continue
            if word in INTENSIFIERS:
                intensify = True
                continue
            va = lookup(word, table)
            label = word
            if va is not None:
                v, a = va
                if intensify:
                    v, a, label = clip(v * INTENSITY), clip(a * INTENSITY + 0.15), f"very {word}"
                if negated:
                    v, label = v * NEGATION_FACTOR, f"not {word}"
                hits.append(_Hit(label, v, a))
            intensify = False
            negated = max(0, negated - 1)
    return hits


def analyze(
    narrative: str = "", speeches: Sequence[str] = (), *, narrative_weight: float = 1.0
) -> Emotion:
    """Emotion of a scene: `narrative` (beat, action) and `speeches` (dialogue lines).

    `narrative_weight` counts the narrative's words that many times (spotting gives the
    beat 2: it is the writer's stated intention, the dialogue only shows it).
    """
    table = lexicon()
    hits = _hits(narrative, table)
    weights = [h.weight * narrative_weight for h in hits]
    speech_hits = [h for s in speeches for h in _hits(s, table)]
    hits += speech_hits
    weights += [h.weight for h in speech_hits]

    total = sum(weights)
    valence = sum(w * h.valence for w, h in zip(weights, hits, strict=True)) / (total + SHRINK)
    arousal = sum(w * h.arousal for w, h in zip(weights, hits, strict=True)) / (total + SHRINK)

    segments = [s for s in speeches if s.strip()]
    if segments:
        exclaims = sum(s.count("!") > 0 for s in segments) / len(segments)
        questions = sum(s.count("?") > 0 for s in segments) / len(segments)
        short = sum(len(WORD.findall(s.lower())) <= SHORT_SPEECH for s in segments) / len(segments)
    else:
        exclaims = questions = short = 0.0
    if narrative.count("!"):
        exclaims = max(exclaims, min(1.0, narrative.count("!") / 2))
    arousal += 0.3 * exclaims + 0.2 * questions + (0.2 * short if len(segments) >= 3 else 0.0)
    valence -= 0.1 * questions
    valence, arousal = clip(valence), clip(arousal)

    coverage = total / (total + 3.0)
    pairs = list(zip(weights, hits, strict=True))

    def agreement(values: list[float]) -> float:
        """1 when every word pulls the same way, 0 when they cancel out."""
        spread = sum(w * abs(x) for (w, _), x in zip(pairs, values, strict=True))
        return (
            abs(sum(w * x for (w, _), x in zip(pairs, values, strict=True))) / spread
            if spread
            else 1.0
        )

    agree = (agreement([h.valence for h in hits]) + agreement([h.arousal for h in hits])) / 2
    confidence = coverage * (0.5 + 0.5 * agree)

    strength: dict[str, float] = {}
    for w, h in pairs:
        if h.weight:
            strength[h.label] = strength.get(h.label, 0.0) + w * math.hypot(h.valence, h.arousal)
    top = tuple(sorted(strength, key=lambda k: (-strength[k], k))[:TOP])
    return Emotion(
        round(valence, 3), round(arousal, 3), quadrant(valence, arousal), round(confidence, 3), top
    )
