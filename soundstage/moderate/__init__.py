"""Content moderation for user comments, reviews, chat and AI-generated text.

Data path (one for every surface — CLI, HTTP, CSV batch, Spark, the `produce` release gate):

    raw text → normalise (undo evasion; the original is kept) → langid (unsupported languages
    are flagged, not scored) → Classifier (moderation-fast: calibrated scores per category)
    → [EmbedTier for borderline texts, tier="cascade"] → Policy.decide (allow / review / block
    per surface) → Verdict → ReviewQueue (claims, decisions, appeals, audit log, statements of
    reasons)

Modules: ``types`` (the vocabulary), ``normalise``, ``langid``, ``features`` + ``classifier`` +
``rules`` (fast tier), ``train`` (how it was made), ``embed_tier`` (second tier), ``policy``,
``service`` (`Moderator`), ``gate`` (screenplays), ``queue`` + ``reasons``, ``spark``, ``bias``.
"""

from __future__ import annotations

from soundstage.moderate.normalise import Normalised, normalise

__all__ = ["Normalised", "normalise"]
