"""Choosing among sampled candidates: relevance, consistency and novelty (Re3's reranker, cheap).

The guided writer samples several answers for every field and keeps the best by

    score = relevance to what the text must serve (the beat, the logline)
          + consistency with the character sheet (for speeches: the speaker's description
            and voice)
          - repetition of what the scene already said (the nearest earlier line)
          + a small prior for a sensible length.

Similarities are cosines of all-MiniLM-L6-v2 sentence embeddings, the encoder the project
already ships (`soundstage.embedder`); without that extra installed, of hashed bag-of-words
vectors, so reranking still works on a minimal install (less well: synonyms don't match).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

WORD = re.compile(r"[a-z']+")
DIM = 2048


def bag_of_words(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of hashed word counts: the fallback when MiniLM is not installed."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in WORD.findall(text.lower()):
            if len(word) > 2:
                out[row, zlib.crc32(word.encode()) % DIM] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-9)


@dataclass
class Reranker:
    """Embeds with MiniLM when it is installed (`semantic`), else with bag-of-words."""

    semantic: bool | None = None  # None: use MiniLM if available
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.semantic is None:
            from soundstage.embedder import available

            self.semantic = available()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            if self.semantic:
                from soundstage.embedder import shared_embedder

                vectors = shared_embedder().encode(missing)
            else:
                vectors = bag_of_words(missing)
            self._cache.update(zip(missing, vectors, strict=True))
            if len(self._cache) > 5000:  # a long session: keep memory bounded
                self._cache = dict(list(self._cache.items())[-2000:])
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 1))

    def scores(
        self,
        candidates: Sequence[str],
        *,
        about: str,
        like: str = "",
        avoid: Sequence[str] = (),
        words: tuple[int, int] = (4, 30),
    ) -> list[float]:
        """One score per candidate (higher is better); see the module docstring."""
        if not candidates:
            return []
        vecs = self.embed(list(candidates))
        total = vecs @ self.embed([about])[0]
        if like:
            total = total + 0.5 * (vecs @ self.embed([like])[0])
        if avoid:
            nearest = (vecs @ self.embed(list(avoid)[-12:]).T).max(axis=1)
            total = total - 0.8 * np.maximum(nearest - 0.5, 0.0)
        lo, hi = words
        for i, text in enumerate(candidates):
            n = len(text.split())
            if n < lo:
                total[i] -= 0.05 * (lo - n)
            elif n > hi:
                total[i] -= 0.02 * (n - hi)
        return [float(x) for x in total]

    def best(
        self,
        candidates: Sequence[str],
        *,
        about: str,
        like: str = "",
        avoid: Sequence[str] = (),
        words: tuple[int, int] = (4, 30),
    ) -> int:
        """Index of the best candidate."""
        return int(
            np.argmax(self.scores(candidates, about=about, like=like, avoid=avoid, words=words))
        )
