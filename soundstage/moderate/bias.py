"""Unintended-bias metrics for toxicity scores (Borkan et al. 2019; notes/moderate.md §3).

Borkan, Dixon, Sorensen, Thain, Vasserman, "Nuanced Metrics for Measuring Unintended Bias with
Real Data for Text Classification", WWW 2019 companion — the metric of the Jigsaw Unintended Bias
in Toxicity Classification Kaggle competition. Overall AUC hides a model that flags "I am gay" or
misses attacks on one group; the per-identity AUCs below split the ranking errors by who is
mentioned, and the power mean with p = -5 lets the worst identities dominate the summary.

Pure numpy on purpose: the package must not depend on scikit-learn or scipy for a metric.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "MADLIBS_TERMS",
    "POWER_P",
    "WEIGHT",
    "BiasReport",
    "IdentityRow",
    "SkippedIdentity",
    "bias_report",
    "bnsp_auc",
    "bpsn_auc",
    "identity_masks",
    "power_mean",
    "read_madlibs",
    "roc_auc",
    "subgroup_auc",
]

POWER_P = -5.0
"""Kaggle/Borkan exponent: p = -5 makes the mean sit close to the worst identities."""

WEIGHT = 0.25
"""Weight of the overall AUC and of each of the three power means in the final metric."""

MADLIBS_TERMS: tuple[str, ...] = (
    "lesbian", "gay", "bisexual", "transgender", "trans", "queer", "lgbt", "lgbtq", "homosexual",
    "straight", "heterosexual", "male", "female", "nonbinary", "african", "african american",
    "black", "white", "european", "hispanic", "latino", "latina", "latinx", "mexican", "canadian",
    "american", "asian", "indian", "middle eastern", "chinese", "japanese", "christian", "muslim",
    "jewish", "buddhist", "catholic", "protestant", "sikh", "taoist", "old", "older", "young",
    "younger", "teenage", "millenial", "middle aged", "elderly", "blind", "deaf", "paralyzed",
)  # fmt: skip
"""The 50 identity terms of the bias_madlibs_77k templates (Dixon et al. 2018), in the order of
the Perspective model card (unitary_results.csv, which also lists "cis": absent from the 77k
set). Spelling as in the data ("millenial")."""


# --- AUCs --------------------------------------------------------------------------------------


def _labels(labels: ArrayLike) -> NDArray[np.bool_]:
    """Binary labels as bool; fractional ones must be thresholded by the caller (≥ 0.5)."""
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {y.shape}")
    if y.dtype == np.bool_:
        return y
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError(
            "labels must be 0/1 or bool; threshold fractional toxicity first "
            "(Borkan et al. 2019 use toxicity >= 0.5)"
        )
    return y.astype(bool)


def _scores(scores: ArrayLike, n: int) -> NDArray[np.float64]:
    s = np.asarray(scores, dtype=np.float64)
    if s.shape != (n,):
        raise ValueError(f"scores must have shape ({n},) like labels, got {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite (found NaN or inf)")
    return s


def _mask(mask: ArrayLike, n: int) -> NDArray[np.bool_]:
    m = np.asarray(mask)
    if m.shape != (n,):
        raise ValueError(f"identity mask must have shape ({n},) like labels, got {m.shape}")
    if m.dtype != np.bool_:
        if m.size and not np.isin(m, (0, 1)).all():
            raise ValueError("identity mask must be boolean (True = mentions the identity)")
        m = m.astype(bool)
    return m


def _average_ranks(s: NDArray[np.float64]) -> NDArray[np.float64]:
    """1-based ranks, ties sharing their average rank (what Mann–Whitney needs)."""
    n = s.size
    order = np.argsort(s, kind="mergesort")
    ordered = s[order]
    new = np.empty(n, dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n)  # exclusive: a group holds ranks starts+1 .. ends
    group = np.cumsum(new) - 1
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = ((starts + 1 + ends) / 2.0)[group]
    return ranks


def roc_auc(labels: ArrayLike, scores: ArrayLike) -> float:
    """ROC AUC = P(score of a random positive > a random negative), ties counting one half.

    Computed as the Mann–Whitney U statistic over average ranks, O(n log n); equal to
    sklearn.metrics.roc_auc_score. Raises ValueError when only one class is present, where the
    AUC is undefined (a subgroup with no toxic examples, say).
    """
    y = _labels(labels)
    s = _scores(scores, y.size)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError(
            f"ROC AUC needs both classes; got {n_pos} positive and {n_neg} negative examples"
        )
    rank_sum = float(_average_ranks(s)[y].sum())
    u = rank_sum - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


def subgroup_auc(labels: ArrayLike, scores: ArrayLike, in_group: ArrayLike) -> float:
    """AUC on the examples mentioning g only: can the model rank within the subgroup?"""
    y = _labels(labels)
    g = _mask(in_group, y.size)
    return roc_auc(y[g], _scores(scores, y.size)[g])


def bpsn_auc(labels: ArrayLike, scores: ArrayLike, in_group: ArrayLike) -> float:
    """Background Positive, Subgroup Negative AUC: toxic background vs non-toxic mentions of g.

    Low means non-toxic texts mentioning g score above toxic texts that don't: false positives
    triggered by the identity term itself.
    """
    y = _labels(labels)
    g = _mask(in_group, y.size)
    keep = (g & ~y) | (~g & y)
    return roc_auc(y[keep], _scores(scores, y.size)[keep])


def bnsp_auc(labels: ArrayLike, scores: ArrayLike, in_group: ArrayLike) -> float:
    """Background Negative, Subgroup Positive AUC: toxic mentions of g vs non-toxic background.

    Low means toxic texts mentioning g score below non-toxic texts that don't: attacks on g
    are missed.
    """
    y = _labels(labels)
    g = _mask(in_group, y.size)
    keep = (g & y) | (~g & ~y)
    return roc_auc(y[keep], _scores(scores, y.size)[keep])


def power_mean(values: ArrayLike, p: float = POWER_P) -> float:
    """Generalised mean ((1/N) Σ v^p)^(1/p); p = -5 pulls it toward the smallest value.

    Values must be non-negative (they are AUCs). p = 0 is the geometric mean (the limit); for
    p < 0 a zero value makes the mean 0 (the limit), rather than a division by zero.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError("power_mean needs a non-empty 1-D sequence of values")
    if not np.isfinite(v).all() or (v < 0).any():
        raise ValueError("power_mean needs finite, non-negative values")
    if not math.isfinite(p):
        raise ValueError(f"p must be finite, got {p}")
    if p == 0:
        return 0.0 if (v == 0).any() else float(np.exp(np.log(v).mean()))
    if p < 0 and (v == 0).any():
        return 0.0
    return float(np.mean(v**p) ** (1.0 / p))


# --- report ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentityRow:
    """The three AUCs for one identity, with the counts they rest on."""

    identity: str
    n: int  # examples mentioning the identity
    n_pos: int  # …of which toxic
    subgroup_auc: float
    bpsn_auc: float
    bnsp_auc: float


@dataclass(frozen=True)
class SkippedIdentity:
    """An identity whose AUCs are undefined (a class missing), kept visible rather than dropped."""

    identity: str
    n: int
    n_pos: int
    reason: str


@dataclass(frozen=True)
class BiasReport:
    """Borkan et al. 2019 summary: final = 0.25·overall + 0.25·(M_p sub + M_p BPSN + M_p BNSP)."""

    n: int
    n_pos: int
    overall_auc: float
    rows: tuple[IdentityRow, ...]  # in the order the identities were given
    skipped: tuple[SkippedIdentity, ...]
    subgroup_power_mean: float
    bpsn_power_mean: float
    bnsp_power_mean: float
    final_metric: float
    worst_bpsn: str  # identity with the lowest BPSN AUC: the likeliest false positives
    p: float = POWER_P

    def table(self) -> str:
        """Markdown: summary lines, then one row per identity, worst BPSN first."""
        lines = [
            f"examples: {self.n} ({self.n_pos} toxic); identities: {len(self.rows)} scored, "
            f"{len(self.skipped)} skipped",
            "",
            "| metric | value |",
            "|---|---|",
            f"| overall AUC | {self.overall_auc:.4f} |",
            f"| power mean (p = {self.p:g}) subgroup AUC | {self.subgroup_power_mean:.4f} |",
            f"| power mean (p = {self.p:g}) BPSN AUC | {self.bpsn_power_mean:.4f} |",
            f"| power mean (p = {self.p:g}) BNSP AUC | {self.bnsp_power_mean:.4f} |",
            f"| **final metric** | **{self.final_metric:.4f}** |",
            f"| worst BPSN | {self.worst_bpsn} |",
            "",
            "| identity | n | toxic | subgroup AUC | BPSN AUC | BNSP AUC |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for r in sorted(self.rows, key=lambda r: (r.bpsn_auc, r.identity)):
            lines.append(
                f"| {r.identity} | {r.n} | {r.n_pos} | {r.subgroup_auc:.4f} | "
                f"{r.bpsn_auc:.4f} | {r.bnsp_auc:.4f} |"
            )
        if self.skipped:
            lines += ["", "| skipped identity | n | toxic | reason |", "|---|---:|---:|---|"]
            lines += [f"| {s.identity} | {s.n} | {s.n_pos} | {s.reason} |" for s in self.skipped]
        return "\n".join(lines) + "\n"


def _skip_reason(y: NDArray[np.bool_], g: NDArray[np.bool_]) -> str | None:
    """Why one of the three AUCs is undefined for mask g, or None when all are defined."""
    if not g.any():
        return "no example mentions it"
    if not (g & y).any():
        return "no toxic example mentions it (subgroup and BNSP AUC undefined)"
    if not (g & ~y).any():
        return "no non-toxic example mentions it (subgroup and BPSN AUC undefined)"
    if not (~g & y).any():
        return "every toxic example mentions it (no background positives: BPSN AUC undefined)"
    if not (~g & ~y).any():
        return "every non-toxic example mentions it (no background negatives: BNSP undefined)"
    return None


def bias_report(
    labels: ArrayLike,
    scores: ArrayLike,
    identities: Mapping[str, ArrayLike],
    p: float = POWER_P,
) -> BiasReport:
    """Overall AUC, per-identity subgroup / BPSN / BNSP AUCs and the final metric.

    `identities` maps a name to a boolean mask "mentions g" over the examples. Identities whose
    AUCs are undefined are listed in `skipped` with the reason; a ValueError is raised only when
    the overall AUC is undefined or no identity can be scored at all.
    """
    y = _labels(labels)
    s = _scores(scores, y.size)
    overall = roc_auc(y, s)
    rows: list[IdentityRow] = []
    skipped: list[SkippedIdentity] = []
    for name, mask in identities.items():
        g = _mask(mask, y.size)
        n_g, n_pos = int(g.sum()), int((g & y).sum())
        reason = _skip_reason(y, g)
        if reason is not None:
            skipped.append(SkippedIdentity(name, n_g, n_pos, reason))
            continue
        rows.append(
            IdentityRow(
                name, n_g, n_pos, subgroup_auc(y, s, g), bpsn_auc(y, s, g), bnsp_auc(y, s, g)
            )
        )
    if not rows:
        raise ValueError(f"no identity could be scored: {len(skipped)} skipped, none defined")
    sub = power_mean([r.subgroup_auc for r in rows], p)
    bpsn = power_mean([r.bpsn_auc for r in rows], p)
    bnsp = power_mean([r.bnsp_auc for r in rows], p)
    # ties (within float noise) go to the identity given first, so the name is reproducible
    lowest = min(r.bpsn_auc for r in rows)
    worst = next(r.identity for r in rows if r.bpsn_auc <= lowest + 1e-12)
    return BiasReport(
        n=int(y.size),
        n_pos=int(y.sum()),
        overall_auc=overall,
        rows=tuple(rows),
        skipped=tuple(skipped),
        subgroup_power_mean=sub,
        bpsn_power_mean=bpsn,
        bnsp_power_mean=bnsp,
        final_metric=WEIGHT * overall + WEIGHT * (sub + bpsn + bnsp),
        worst_bpsn=worst,
        p=p,
    )


# --- identity terms ----------------------------------------------------------------------------


def _term_pattern(term: str) -> re.Pattern[str]:
    words = term.split()
    if not words:
        raise ValueError("identity terms must not be empty")
    # Word boundaries that also work for terms starting or ending in a non-word character;
    # the words of a multi-word term may be split by any whitespace or a hyphen.
    body = r"[\s\-]+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def identity_masks(texts: Sequence[str], terms: Iterable[str]) -> dict[str, NDArray[np.bool_]]:
    """For each term, which texts mention it: whole words, case-insensitive.

    Whole words, as in the Conversation AI bias-analysis code: "gay" matches "Gay," and
    "gay-friendly" but not "Gayle" or "gayness"; "trans" does not match "transgender". Terms
    nest as words do: "african american" also counts as "african" and as "american".
    "middle aged" matches "Middle  aged" and "middle-aged".
    """
    out: dict[str, NDArray[np.bool_]] = {}
    for term in terms:
        search = _term_pattern(term).search
        out[term] = np.fromiter((search(t) is not None for t in texts), bool, len(texts))
    return out


def read_madlibs(path: Path) -> tuple[list[str], NDArray[np.bool_]]:
    """bias_madlibs_77k.csv (Dixon et al. 2018): texts and labels, BAD = toxic = True."""
    texts: list[str] = []
    labels: list[bool] = []
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            label = row["Label"]
            if label not in {"BAD", "NOT_BAD"}:
                raise ValueError(f"{path}: unexpected Label {label!r}")
            texts.append(row["Text"])
            labels.append(label == "BAD")
    return texts, np.array(labels, dtype=bool)
