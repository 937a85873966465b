"""The fast moderation tier: calibrated linear heads + reviewed rules + derived categories.

Why this shape: scores for every category in one batched numpy pass (no scikit-learn, scipy or
torch at inference), > 10k short texts/s on one core, and explanations cheap enough to compute for
every flagged item. The model directory (``config.json`` + ``weights.npz``, no pickle) is written
by :mod:`soundstage.moderate.train`.

Where each category comes from (``types.CATEGORIES[...].source``):

- model heads ``toxicity``, ``obscene``, ``insult``, ``identity_attack``: p = sigmoid(a·z + b),
  z = tfidf(text)·w + bias, with (a, b) fitted on the dev split (Platt);
- rules ``threat``, ``S11``, ``S12``: :mod:`soundstage.moderate.rules` (confidences);
- derived ``severe_toxicity`` = sqrt(toxicity × max(threat, identity_attack)), the geometric mean:
  high only when the text is both toxic *and* threatening or identity-directed, as the Jigsaw
  definition asks ("very hateful, aggressive"); ``S1`` = threat; ``S10`` = identity_attack.

Long texts are cut into overlapping windows (split at whitespace) and each category takes its
maximum over windows, so one abusive paragraph in a screenplay is not averaged away.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from soundstage.moderate.features import FeatureConfig, Featuriser
from soundstage.moderate.normalise import normalise
from soundstage.moderate.rules import rule_scores
from soundstage.moderate.types import CATEGORIES, Span

__all__ = ["DEFAULT_MODEL", "Classifier", "windows"]

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "moderation-fast"
_CHUNK = 512  # windows featurised per numpy batch: bounds memory on megabyte inputs
_EXPLAIN_TOKENS = 200  # occlusion works on at most this many tokens (the worst window)
# Whitespace tokens, but a run of >= 3 single characters ("f u c k") is one token: the
# normaliser joins such runs, so removing one letter alone would only half-explain it.
_TOKEN_RE = re.compile(r"(?<!\S)\S(?: \S(?!\S)){2,}|\S+")


def windows(text: str, size: int = 1000, overlap: int = 200) -> list[tuple[int, int]]:
    """(start, end) of overlapping windows of about ``size`` chars, cut at whitespace."""
    n = len(text)
    if n <= size + overlap:
        return [(0, n)]
    out: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(n, start + size)
        if end < n:
            cut = text.rfind(" ", start + size // 2, end)
            end = cut if cut > start else end
        out.append((start, end))
        if end >= n:
            return out
        nxt = max(end - overlap, start + 1)
        space = text.find(" ", nxt, end)
        start = space + 1 if space != -1 else nxt


def _sigmoid(x: NDArray[np.float32]) -> NDArray[np.float32]:
    out: NDArray[np.float32] = 0.5 * (1 + np.tanh(0.5 * x))  # no overflow warnings
    return out


class Classifier:
    """Score already-normalised texts for every category of ``types.CATEGORIES``."""

    def __init__(
        self,
        featuriser: Featuriser,
        weights: NDArray[np.float32],
        bias: NDArray[np.float32],
        config: dict[str, Any],
    ) -> None:
        self.featuriser = featuriser
        self.weights = weights
        self.bias = bias
        self.config = config
        self.name: str = config["name"]
        self.version: str = config["version"]
        self.categories: tuple[str, ...] = tuple(CATEGORIES)
        self.heads: tuple[str, ...] = tuple(config["heads"])
        cal = config["calibration"]
        self._platt = np.array([cal[h]["platt"] for h in self.heads], dtype=np.float32)
        self.thresholds: dict[str, float] = {h: float(cal[h]["threshold"]) for h in self.heads}
        window = config.get("window", {})
        self.window_chars = int(window.get("chars", 1000))
        self.window_overlap = int(window.get("overlap", 200))
        self._col = {c: i for i, c in enumerate(self.categories)}

    @classmethod
    def load(cls, path: Path | None = None) -> Classifier:
        """Load a model directory (default: the packaged ``models/moderation-fast``)."""
        folder = Path(path) if path is not None else DEFAULT_MODEL
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        with np.load(folder / "weights.npz", allow_pickle=False) as npz:
            weights = np.ascontiguousarray(npz["weights"], dtype=np.float32)
            bias = np.asarray(npz["bias"], dtype=np.float32)
            idf = np.asarray(npz["idf"], dtype=np.float32)
        featuriser = Featuriser(FeatureConfig.from_json(config["features"]), idf)
        return cls(featuriser, weights, bias, config)

    # --- scoring ---------------------------------------------------------------------------

    def _head_logits(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Calibrated head log-odds, (len(texts), len(heads)): unsaturated, for explanations."""
        out = np.empty((len(texts), len(self.heads)), dtype=np.float32)
        for i in range(0, len(texts), _CHUNK):
            z = self.featuriser.dot(texts[i : i + _CHUNK], self.weights) + self.bias
            out[i : i + _CHUNK] = self._platt[:, 0] * z + self._platt[:, 1]
        return out

    def _head_probs(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Calibrated head probabilities, (len(texts), len(heads))."""
        return _sigmoid(self._head_logits(texts))

    def score(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """(n, len(categories)) scores in [0, 1] for ALREADY-NORMALISED texts; empty text → 0."""
        pieces: list[str] = []
        owner: list[int] = []
        for i, text in enumerate(texts):
            for a, b in windows(text, self.window_chars, self.window_overlap):
                pieces.append(text[a:b])
                owner.append(i)
        out = np.zeros((len(texts), len(self.categories)), dtype=np.float32)
        if not texts:
            return out
        probs = self._head_probs(pieces)
        heads = np.zeros((len(texts), len(self.heads)), dtype=np.float32)
        np.maximum.at(heads, np.asarray(owner, dtype=np.int64), probs)
        for j, head in enumerate(self.heads):
            out[:, self._col[head]] = heads[:, j]
        for i, text in enumerate(texts):
            if not text.strip():
                out[i] = 0
                continue
            for cat, value in rule_scores(text).items():
                out[i, self._col[cat]] = value
        return self.derive(out)

    def derive(self, out: NDArray[np.float32]) -> NDArray[np.float32]:
        """Fill the derived columns from the others, in place (again after a second tier)."""
        col = self._col
        out[:, col["severe_toxicity"]] = np.sqrt(
            out[:, col["toxicity"]]
            * np.maximum(out[:, col["threat"]], out[:, col["identity_attack"]])
        )
        out[:, col["S1"]] = out[:, col["threat"]]
        out[:, col["S10"]] = out[:, col["identity_attack"]]
        return out

    def score_one(self, text: str) -> dict[str, float]:
        """Scores of one RAW text (normalised here; normalising twice changes nothing)."""
        row = self.score([normalise(text).text])[0]
        return {c: float(row[i]) for i, c in enumerate(self.categories)}

    # --- explanations ----------------------------------------------------------------------

    def explain(self, original: str, categories: Sequence[str], top: int = 5) -> list[Span]:
        """Spans of the ORIGINAL text that raise the given categories most (occlusion).

        Each whitespace token (a spaced-out word counts as one) is removed in turn, the text is
        re-normalised and re-scored in one batch, and the score drop is the span's weight. Long
        texts: only the highest-scoring window is occluded, at most 200 tokens of it.
        """
        cols = [self._col[c] for c in categories if c in self._col]
        if not cols or not original.strip():
            return []
        spans = [(a, b) for a, b in windows(original, self.window_chars, self.window_overlap)]
        if len(spans) > 1:
            scores = self.score([normalise(original[a:b]).text for a, b in spans])
            lo, hi = spans[int(np.argmax(scores[:, cols].max(axis=1)))]
        else:
            lo, hi = 0, len(original)
        tokens = [(m.start() + lo, m.end() + lo) for m in _TOKEN_RE.finditer(original[lo:hi])]
        tokens = tokens[:_EXPLAIN_TOKENS]
        variants = [original[lo:hi]] + [original[lo:a] + original[b:hi] for a, b in tokens]
        normalised = [normalise(v).text for v in variants]
        head_cols = [self.heads.index(c) for c in categories if c in self.heads]
        if len(head_cols) == len(cols):
            # model heads only: skip rules and derived columns, and measure the drop in
            # log-odds — a probability of 0.9999 barely moves when one insult of three goes
            scored = self._head_logits(normalised)[:, head_cols]
            least = 0.1
        else:
            scored = self.score(normalised)[:, cols]
            least = 0.01
        drops = scored[0] - scored[1:]  # (tokens, categories)
        out: list[Span] = []
        for k, cat in enumerate(c for c in categories if c in self._col):
            chosen = sorted(
                t for t in np.argsort(-drops[:, k], kind="stable")[:top] if drops[t, k] > least
            )
            # neighbouring tokens that both matter form one span ("i will kill you")
            runs: list[list[int]] = []
            for t in chosen:
                if runs and runs[-1][-1] == t - 1:
                    runs[-1].append(int(t))
                else:
                    runs.append([int(t)])
            for run in runs:
                a, b = tokens[run[0]][0], tokens[run[-1]][1]
                weight = float(drops[run, k].max())
                out.append(Span(a, b, original[a:b], cat, round(weight, 4)))
        return sorted(out, key=lambda s: (-s.weight, s.start, s.category))
