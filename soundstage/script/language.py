"""Does the script read as modern English that tells the logline's story? (`write eval`)

Pure functions over a rendered `Document` and the logline; regression measures, not a
verdict (see evaluate.py on HANNA):

- **non-word rate**: dialogue words that `wordfreq`'s English list does not know (Zipf
  frequency 0), leaving out the cast's names. A modern human script scores about 1%;
  drama-lm's invented words ("Longerwherender") score 3–9%. Needs the `eval` extra;
  None without it.
- **archaic rate**: dialogue words from a closed list (thou, thee, hath, doth, …).
- **logline coverage**: the logline's content words (no stopwords, three letters or more)
  found in the action and dialogue, by word or shared 5-letter stem ("smuggler" ~
  "smugglers").
- **action share**: action words / (action + dialogue words); real scripts run 40–70%.
- **scenes per page**, and **distinct voices**: the mean pairwise Jensen–Shannon
  divergence (bits) of the word distributions of characters with at least three speeches;
  0 when everyone talks alike.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from itertools import combinations

from soundstage.script.formats.elements import Document, Kind
from soundstage.script.write.dialogue import content

WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
ARCHAIC = frozenset(
    "thou thee thy thine thyself hath doth dost hast wilt shalt canst wouldst couldst "
    "shouldst art'st ye 'tis tis o'er ere methinks prithee forsooth whither hither thither "
    "anon nay wherefore whence perchance mayhap".split()
)


@dataclass(frozen=True)
class Language:
    dialogue_words: int
    action_words: int
    non_word_rate: float | None  # None: wordfreq not installed
    archaic_rate: float
    logline_coverage: float | None  # None: no logline
    logline_words_missing: list[str]
    action_share: float
    scenes_per_page: float
    distinct_voices: float  # mean pairwise JS divergence, bits; 0..1


def words(text: str) -> list[str]:
    return WORD.findall(text.lower().replace("’", "'"))


def content_words(text: str) -> list[str]:
    """Content words in order of first use (the reranker's definition: no stopwords, 3+ letters)."""
    return list(content(text))


def non_word_rate(dialogue: list[str], names: set[str]) -> float | None:
    try:
        from wordfreq import zipf_frequency
    except ImportError:
        return None
    checked = [w for w in dialogue if w not in names]
    if not checked:
        return 0.0
    unknown = sum(1 for w in checked if zipf_frequency(w, "en") == 0.0)
    return unknown / len(checked)


def coverage(logline: str, text_words: set[str]) -> tuple[float | None, list[str]]:
    wanted = content_words(logline)
    if not wanted:
        return None, []
    stems = {w[:5] for w in text_words if len(w) >= 5}
    missing = [w for w in wanted if w not in text_words and not (len(w) >= 5 and w[:5] in stems)]
    return 1 - len(missing) / len(wanted), missing


def js_divergence(a: Counter[str], b: Counter[str]) -> float:
    ta, tb = sum(a.values()), sum(b.values())
    out = 0.0
    for w in set(a) | set(b):
        p, q = a[w] / ta, b[w] / tb
        m = (p + q) / 2
        if p:
            out += 0.5 * p * math.log2(p / m)
        if q:
            out += 0.5 * q * math.log2(q / m)
    return out


def measure(doc: Document, logline: str = "", pages: float = 1.0) -> Language:
    dialogue: list[str] = []
    action: list[str] = []
    by_speaker: dict[str, Counter[str]] = {}
    speeches: Counter[str] = Counter()
    names: set[str] = set()
    speaker = ""
    headings = 0
    for element in doc.elements:
        if element.kind == Kind.SCENE_HEADING:
            headings += 1
        elif element.kind == Kind.CHARACTER:
            speaker = element.text.split("(")[0].strip().upper()
            names |= set(words(speaker))
            speeches[speaker] += 1
        elif element.kind == Kind.DIALOGUE:
            ws = words(element.text)
            dialogue += ws
            by_speaker.setdefault(speaker, Counter()).update(ws)
        elif element.kind == Kind.ACTION:
            action += words(element.text)
    for element in doc.elements:  # names introduced in action ("ADA QUILL (30s), …")
        if element.kind == Kind.ACTION:
            names |= {w.lower() for w in re.findall(r"\b[A-Z][A-Z'-]{1,}\b", element.text)}
    rate = non_word_rate(dialogue, names)
    archaic = sum(1 for w in dialogue if w in ARCHAIC) / max(1, len(dialogue))
    cov, missing = coverage(logline, set(dialogue) | set(action)) if logline else (None, [])
    voices = [by_speaker[s] for s, n in speeches.items() if n >= 3 and by_speaker.get(s)]
    pairs = list(combinations(voices, 2))
    divergence = sum(js_divergence(a, b) for a, b in pairs) / len(pairs) if pairs else 0.0
    return Language(
        dialogue_words=len(dialogue),
        action_words=len(action),
        non_word_rate=rate,
        archaic_rate=archaic,
        logline_coverage=cov,
        logline_words_missing=missing,
        action_share=len(action) / max(1, len(action) + len(dialogue)),
        scenes_per_page=headings / max(pages, 1e-9),
        distinct_voices=divergence,
    )
