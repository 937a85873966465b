"""The moderation audit: who the classifier and the policy fail, by identity mentioned.

    labelled texts (CSV) → Moderator (a policy, a tier) → verdicts → per identity:
    FPR / FNR at the policy's operating point, decision rates, subgroup / BPSN / BNSP AUCs,
    the worst examples → Report

- The score of a text is its highest category score (what a reviewer sees first); a text is
  **flagged** when the policy sends it to review or block. FPR and FNR are over the texts
  that mention the identity (whole words, `moderate.bias.identity_masks`), with bootstrap
  95% intervals, so a group of 12 texts does not pass for a finding.
- FPED / FNED (Dixon et al. 2018): the sums over identities of |FPR_g − FPR| and
  |FNR_g − FNR|. AUCs and the final metric are Borkan et al. 2019 (`moderate.bias`).
- Texts in a language the model does not support get no scores (the policy decides them);
  they are counted and scored 0 for the AUCs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from soundstage.errors import FormatError
from soundstage.moderate.batch import read_csv_column
from soundstage.moderate.bias import MADLIBS_TERMS, BiasReport, bias_report, identity_masks
from soundstage.moderate.service import Moderator

__all__ = ["GroupRates", "ModerationAudit", "audit_moderation", "read_labelled"]

TRUE = {"1", "true", "yes", "bad", "toxic", "hate", "offensive", "off", "hateful"}
FALSE = {"0", "false", "no", "not_bad", "not", "none", "normal", "neither", "non-toxic", "noharm"}


@dataclass
class GroupRates:
    """Error and decision rates over the texts that mention one identity (or all texts)."""

    group: str
    n: int
    n_toxic: int
    fpr: float | None  # flagged among non-toxic; None without non-toxic texts
    fpr_ci: tuple[float, float] | None
    fnr: float | None  # not flagged among toxic
    fnr_ci: tuple[float, float] | None
    decisions: dict[str, float]  # allow / review / block shares


@dataclass
class ModerationAudit:
    source: str
    policy: str
    model: str
    n: int
    n_toxic: int
    unsupported: int
    overall: GroupRates
    groups: list[GroupRates]
    bias: BiasReport | None
    fped: float
    fned: float
    false_positives: list[dict[str, Any]] = field(default_factory=list)
    misses: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["bias"] = asdict(self.bias) if self.bias is not None else None
        return data


def _label(value: str, path: Path, line: int, column: str) -> bool:
    v = value.strip().lower()
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    try:
        return float(v) >= 0.5
    except ValueError:
        raise FormatError.at(
            path,
            line,
            f"{column} {value!r} is not a label (1/0, true/false, BAD/NOT_BAD, or a score)",
        ) from None


def read_labelled(
    path: Path, text_column: str, label_column: str, limit: int = 0, seed: int = 0
) -> tuple[list[str], NDArray[np.bool_]]:
    """Texts and boolean labels (toxic = True) from a CSV; `limit` draws a seeded sample."""
    header, rows = read_csv_column(path, text_column)
    if label_column not in header:
        raise FormatError.at(
            path, 1, f"no column {label_column!r} for the labels (columns: {', '.join(header)})"
        )
    order = list(range(len(rows)))
    if limit and limit < len(rows):
        order = sorted(np.random.default_rng(seed).choice(len(rows), limit, replace=False))
    texts = [rows[i][text_column] for i in order]
    labels = np.array(
        [_label(rows[i][label_column], path, i + 2, label_column) for i in order], dtype=bool
    )
    if not len(texts):
        raise FormatError(f"{path}: no rows")
    return texts, labels


def _rate(hits: NDArray[np.bool_], rng: np.random.Generator) -> tuple[float | None, Any]:
    if hits.size == 0:
        return None, None
    draws = rng.integers(0, hits.size, size=(1000, hits.size))
    means = hits[draws].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return round(float(hits.mean()), 4), (round(float(low), 4), round(float(high), 4))


def group_rates(
    name: str,
    mask: NDArray[np.bool_],
    y: NDArray[np.bool_],
    flagged: NDArray[np.bool_],
    decisions: Sequence[str],
    seed: int = 0,
) -> GroupRates:
    rng = np.random.default_rng(seed)
    fpr, fpr_ci = _rate(flagged[mask & ~y], rng)
    miss, fnr_ci = _rate(~flagged[mask & y], rng)
    picked = [d for d, m in zip(decisions, mask, strict=True) if m]
    shares = {d: round(picked.count(d) / len(picked), 4) for d in ("allow", "review", "block")}
    return GroupRates(
        name, int(mask.sum()), int((mask & y).sum()), fpr, fpr_ci, miss, fnr_ci, shares
    )


@dataclass
class Scored:
    """Texts with their scores, decisions and identity masks, for picking examples."""

    texts: list[str]
    scores: NDArray[np.float64]
    decisions: Sequence[str]
    masks: dict[str, NDArray[np.bool_]]


def examples(
    where: NDArray[np.bool_], s: Scored, highest: bool, most: int = 8
) -> list[dict[str, Any]]:
    """The `most` texts under `where` with the highest (or lowest) scores."""
    idx = np.flatnonzero(where)
    idx = idx[np.argsort(-s.scores[idx] if highest else s.scores[idx], kind="stable")][:most]
    return [
        {
            "text": s.texts[i][:300],
            "score": round(float(s.scores[i]), 4),
            "decision": s.decisions[i],
            "identities": [t for t, m in s.masks.items() if m[i]],
        }
        for i in map(int, idx)
    ]


def audit_moderation(
    texts: list[str],
    labels: NDArray[np.bool_],
    moderator: Moderator,
    *,
    terms: Sequence[str] = MADLIBS_TERMS,
    source: str = "",
    min_group: int = 10,
    progress: Callable[[int, int], None] | None = None,
) -> ModerationAudit:
    """Score every text, then the per-identity figures (see the module docstring); identities
    mentioned by fewer than `min_group` texts are left out of the rates (kept in the AUCs'
    skipped list when undefined there)."""
    import time

    started = time.perf_counter()
    verdicts = moderator.check_many(texts, progress=progress)
    scores = np.array([max(v.scores.values(), default=0.0) for v in verdicts])
    decisions = [v.decision for v in verdicts]
    flagged = np.array([d != "allow" for d in decisions])
    y = np.asarray(labels, dtype=bool)
    masks = identity_masks(texts, terms)
    everyone = np.ones(len(texts), dtype=bool)
    overall = group_rates("all texts", everyone, y, flagged, decisions)
    groups = [
        group_rates(term, mask, y, flagged, decisions)
        for term, mask in masks.items()
        if mask.sum() >= min_group
    ]
    try:
        bias: BiasReport | None = bias_report(y, scores, masks)
    except ValueError:
        bias = None  # one class only, or no identity scorable: the rates still stand
    fped = sum(
        abs(g.fpr - overall.fpr) for g in groups if g.fpr is not None and overall.fpr is not None
    )
    fned = sum(
        abs(g.fnr - overall.fnr) for g in groups if g.fnr is not None and overall.fnr is not None
    )
    scored = Scored(texts, scores, decisions, masks)
    any_identity = np.any(np.stack(list(masks.values())), axis=0) if masks else everyone

    return ModerationAudit(
        source=source,
        policy=moderator.policy.name,
        model=moderator.model_id,
        n=len(texts),
        n_toxic=int(y.sum()),
        unsupported=sum(not v.supported for v in verdicts),
        overall=overall,
        groups=groups,
        bias=bias,
        fped=round(float(fped), 4),
        fned=round(float(fned), 4),
        false_positives=examples(flagged & ~y & any_identity, scored, True),
        misses=examples(~flagged & y & any_identity, scored, False),
        seconds=round(time.perf_counter() - started, 2),
    )
