"""Content moderation for user comments, reviews, chat and AI-generated text.

Data path: raw text → :func:`normalise` (undo evasion: invisible characters, Unicode compatibility
forms, Cyrillic/Greek homoglyphs, leetspeak, spaced and repeated letters; the original is kept for
the audit log) → classifier (category scores) → policy decision (allow / review / block per surface
and category) → review queue (with user reports, appeals and reviewer labels). Only the
normalisation stage exists so far; every later stage must score ``Normalised.text`` and log
``Normalised.original`` and ``Normalised.changes``.
"""

from __future__ import annotations

from soundstage.moderate.normalise import Normalised, normalise

__all__ = ["Normalised", "normalise"]
