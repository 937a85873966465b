"""The moderation vocabulary: categories, scores, spans and the verdict every surface returns.

Why one module: the CLI, the HTTP API, the batch CSV writer, the Spark UDF, the review queue and
the `produce` release gate all speak these types, so a verdict means the same thing everywhere
and can be stored, replayed and explained (notes/moderate.md §5: record model + policy version,
score vector, decision and actor for every decision).

Categories are the six Jigsaw attributes plus the MLCommons hazards (Llama Guard's S1–S14) that
this project can detect. Each category says where its score comes from:

- ``model``  — a trained, calibrated head of the classifier (0..1 is a probability);
- ``rules``  — a reviewed pattern list (0..1 is a confidence, not a calibrated probability);
- ``derived`` — a fixed function of other categories (e.g. S10 hate = identity_attack).

Hazards we cannot detect (S2 non-violent crimes, S5 defamation, S8 IP, S13 elections, …) are
listed in ``UNSCORED_HAZARDS`` and reported as such, never as a silent zero.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Decision = Literal["allow", "review", "block"]
DECISIONS: tuple[Decision, ...] = ("allow", "review", "block")
SEVERITY: dict[str, int] = {"allow": 0, "review": 1, "block": 2}

MAX_BYTES = 1_048_576  # 1 MiB of UTF-8 per text: scored, queued or reported


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    source: Literal["model", "rules", "derived"]
    description: str


JIGSAW = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")

CATEGORIES: dict[str, Category] = {
    c.key: c
    for c in (
        Category("toxicity", "Toxicity", "model", "rude, disrespectful or offensive"),
        Category(
            "severe_toxicity",
            "Severe toxicity",
            "derived",
            "very hateful, aggressive or threatening: toxicity together with a threat or an "
            "identity attack",
        ),
        Category("obscene", "Obscene", "model", "profanity, swearing or sexual vulgarity"),
        Category("threat", "Threat", "rules", "intent to inflict harm or violence"),
        Category("insult", "Insult", "model", "insulting or demeaning language at a target"),
        Category(
            "identity_attack",
            "Identity attack",
            "model",
            "hateful or demeaning language about a group or identity",
        ),
        Category("S1", "Violent crimes", "derived", "MLCommons S1; from the threat score"),
        Category("S10", "Hate", "derived", "MLCommons S10; from the identity attack score"),
        Category("S11", "Suicide & self-harm", "rules", "MLCommons S11; encouragement or intent"),
        Category("S12", "Sexual content", "rules", "MLCommons S12; explicit sexual content"),
    )
}

UNSCORED_HAZARDS: dict[str, str] = {
    "S2": "Non-violent crimes",
    "S3": "Sex-related crimes",
    "S4": "Child sexual exploitation",
    "S5": "Defamation",
    "S6": "Specialized advice",
    "S7": "Privacy",
    "S8": "Intellectual property",
    "S9": "Indiscriminate weapons",
    "S13": "Elections",
    "S14": "Code interpreter abuse",
}


@dataclass(frozen=True)
class Span:
    """A stretch of the *original* text that pushed a category's score up.

    ``weight`` is how much the score falls when the stretch is removed: in log-odds for model
    heads (probabilities near 1 barely move), in score points for rule categories.
    """

    start: int
    end: int
    text: str
    category: str
    weight: float


@dataclass(frozen=True)
class RuleHit:
    """Why a verdict is what it is: which category crossed which threshold of which policy."""

    category: str
    score: float
    threshold: float
    outcome: Decision
    clause: str  # the policy clause, e.g. "community-guidelines §3 (harassment)"


@dataclass
class Verdict:
    """One text's moderation result: the same shape for single, batch, API, queue and audit."""

    text_sha256: str
    chars: int
    lang: str  # ISO 639-1, or "und" when undetermined
    lang_confidence: float
    supported: bool  # False: a language the model was not trained on; scores are not trusted
    scores: dict[str, float]
    decision: Decision
    hits: list[RuleHit] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    changes: tuple[str, ...] = ()  # normalisation rules that fired (evasion evidence)
    model: str = ""  # name@version of the classifier
    policy: str = ""  # name@version of the policy
    surface: str = ""
    tier: str = "fast"  # which classifier tiers scored it, e.g. "fast" or "fast+embed"
    automated: bool = True  # decided by software alone (DSA Art. 17(3)(c))
    notes: list[str] = field(default_factory=list)
    latency_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["changes"] = list(self.changes)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Verdict:
        data = dict(data)
        data["hits"] = [RuleHit(**h) for h in data.get("hits", [])]
        data["spans"] = [Span(**s) for s in data.get("spans", [])]
        data["changes"] = tuple(data.get("changes", ()))
        return cls(**data)


def text_sha256(text: str) -> str:
    """The audit log stores this, so a decision can be tied to a text without keeping it."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
