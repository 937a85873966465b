"""The recommender audit: who gets exposure, whose taste is served, for whom it works — and a
re-ranker that trades some accuracy for calibration, with the trade-off measured.

    model + train/test matrices (+ item genres, user groups)
        → candidates (top 100 per test user) → top-k lists, plain and re-ranked at each λ
        → exposure, calibration, accuracy per user group → RecsAudit

Definitions (../shared/notes/audit.md §2):

- **exposure by popularity decile**: items with training interactions, sorted by how many, cut
  into ten equal groups (decile 10 = the most popular tenth); each decile's share of all
  recommendation slots (a fair share by count would be 10% each). Gini of item exposure,
  APLT (share of long-tail items per list, the head being the items holding 80% of
  interactions), catalogue coverage — `recommend.metrics.beyond_accuracy`.
- **by kind**: when the catalogue has kinds (e.g. new generated titles vs catalogue), each
  kind's share of slots beside its share of items.
- **calibration** (Steck 2018): p(g|u) is the user's history spread over genres (each item's
  weight split evenly over its genres), q(g|u) the same over the list; miscalibration is
  KL(p ‖ q̃) with q̃ = (1 − α)q + αp, α = 0.01, averaged over users.
- **accuracy per group**: NDCG@k per user, averaged per group (`--group-by gender`) through
  Fairlearn's MetricFrame; the gap is the largest group mean minus the smallest. Each group
  mean and the gap carry a 95% bootstrap interval (1,000 resamples of users within each
  group, seed 0).
- **Lorenz curve of exposure**: items sorted by how many slots they get, least first; the
  cumulative share of slots against the cumulative share of items (the diagonal is equal
  exposure; Gini is twice the area between them).
- **the re-ranker** (`calibrated_rerank`): Steck's greedy calibrated re-ranking over each
  user's 100 best candidates, maximising (1 − λ)·Σ relevance − λ·KL(p ‖ q̃(list)), relevance
  being the model's scores min–max scaled per user. λ = 0 is the model's own list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from soundstage.recommend.calibrate import calibrated_rerank, genre_distributions, kl_divergence
from soundstage.recommend.metrics import (
    Scorer,
    beyond_accuracy,
    eval_users,
    ndcg_at,
    relevance,
    top_scored,
)

__all__ = [
    "RecsAudit",
    "Tradeoff",
    "audit_recs",
    "exposure_deciles",
    "group_means",
    "lorenz",
    "miscalibration",
]

CANDIDATES = 100
BOOTSTRAP = 1000
LORENZ_STEPS = 50


@dataclass
class Tradeoff:
    """The figures of one λ of the re-ranker (λ = 0: the model as it is)."""

    lam: float
    ndcg: float
    group_ndcg: dict[str, float]
    gap: float  # max − min of the group means
    group_ci: dict[str, list[float]]  # group → [low, high], 95% bootstrap
    gap_ci: list[float]  # [low, high] of the gap, 95% bootstrap ([] without groups)
    lorenz: list[float]  # cumulative share of slots at 0%, 2%, … 100% of items
    miscalibration: float
    aplt: float
    coverage: float
    gini: float


@dataclass
class RecsAudit:
    model: str
    k: int
    users: int
    items: int
    exposure_deciles: list[float]  # share of slots, decile 1 (least popular) … 10
    interaction_deciles: list[float]  # share of training interactions, same deciles
    kinds: dict[str, dict[str, float]]  # kind → {"slots": share, "items": share}
    tradeoff: list[Tradeoff] = field(default_factory=list)
    group_sizes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def plain(self) -> Tradeoff:
        return self.tradeoff[0]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def miscalibration(lists: np.ndarray, per_item: np.ndarray, p: np.ndarray) -> float:
    """Mean over lists of KL(p(g|u) ‖ q̃(g|list)); row r of `p` is the target of list r."""
    valid = lists >= 0
    q = (per_item[np.where(valid, lists, 0)] * valid[..., None]).sum(axis=1)
    q = q / np.maximum(q.sum(axis=1, keepdims=True), 1e-12)
    return float(kl_divergence(p, q).mean())


def exposure_deciles(lists: np.ndarray, train: sp.csr_matrix) -> tuple[list[float], list[float]]:
    """Shares of recommendation slots and of training interactions per popularity decile."""
    pop = np.diff(sp.csc_matrix(train).indptr).astype(np.float64)
    known = np.flatnonzero(pop > 0)
    order = known[np.argsort(pop[known], kind="stable")]
    decile = np.full(pop.size, -1)
    decile[order] = np.arange(order.size) * 10 // max(order.size, 1)
    flat = lists[lists >= 0]
    slots = np.bincount(decile[flat][decile[flat] >= 0], minlength=10)
    interactions = np.bincount(decile[known], weights=pop[known], minlength=10)
    return (
        [round(float(x), 4) for x in slots / max(slots.sum(), 1)],
        [round(float(x), 4) for x in interactions / max(interactions.sum(), 1)],
    )


def _kinds(lists: np.ndarray, kinds: Sequence[str]) -> dict[str, dict[str, float]]:
    labels = np.asarray(kinds)
    flat = lists[lists >= 0]
    out = {}
    for kind in sorted(set(kinds)):
        out[kind] = {
            "slots": round(float((labels[flat] == kind).mean()) if flat.size else 0.0, 4),
            "items": round(float((labels == kind).mean()), 4),
        }
    return out


def group_means(
    per_user: np.ndarray, labels: np.ndarray, seed: int = 0
) -> tuple[dict[str, float], dict[str, list[float]], float, list[float]]:
    """Each group's mean (Fairlearn MetricFrame), its 95% bootstrap interval, the gap
    (max − min) and the gap's interval, resampling users within each group."""
    from fairlearn.metrics import MetricFrame

    keep = labels != ""
    if not keep.any():
        return {}, {}, 0.0, []
    frame = MetricFrame(
        metrics=lambda y_true, y_pred: float(np.mean(y_true)),
        y_true=per_user[keep],
        y_pred=per_user[keep],
        sensitive_features=labels[keep].astype(str),
    )
    means = {str(g): round(float(v), 4) for g, v in frame.by_group.items()}
    rng = np.random.default_rng(seed)
    draws = {}
    for group in means:
        values = per_user[labels == group]
        picks = rng.integers(0, values.size, size=(BOOTSTRAP, values.size))
        draws[group] = values[picks].mean(axis=1)
    ci = {g: [round(float(x), 4) for x in np.percentile(d, [2.5, 97.5])] for g, d in draws.items()}
    stacked = np.stack(list(draws.values()))
    gaps = stacked.max(axis=0) - stacked.min(axis=0)
    gap = round(float(frame.difference(method="between_groups")), 4)
    return means, ci, gap, [round(float(x), 4) for x in np.percentile(gaps, [2.5, 97.5])]


def lorenz(lists: np.ndarray, n_items: int, steps: int = LORENZ_STEPS) -> list[float]:
    """Cumulative share of slots held by the least-exposed 0, 1/steps, … of all items."""
    flat = lists[lists >= 0]
    counts = np.sort(np.bincount(flat, minlength=n_items)).astype(np.float64)
    cum = np.concatenate([[0.0], np.cumsum(counts)]) / max(counts.sum(), 1.0)
    at = np.round(np.linspace(0, n_items, steps + 1)).astype(int)
    return [round(float(cum[i]), 4) for i in at]


def _tradeoff(
    lam: float,
    lists: np.ndarray,
    data: _Data,
) -> Tradeoff:
    rel = relevance(lists, data.test, data.users)
    per_user = ndcg_at(rel, np.diff(data.test.indptr)[data.users], lists.shape[1])
    by_group, ci, gap, gap_ci = group_means(per_user, data.labels)
    extra = beyond_accuracy(lists, data.train, k=lists.shape[1])
    k = lists.shape[1]
    return Tradeoff(
        lam=lam,
        ndcg=round(float(per_user.mean()), 4),
        group_ndcg=by_group,
        gap=gap,
        group_ci=ci,
        gap_ci=gap_ci,
        lorenz=lorenz(lists, data.train.shape[1]),
        miscalibration=round(miscalibration(lists, data.per_item, data.p), 4),
        aplt=round(extra[f"aplt@{k}"], 4),
        coverage=round(extra[f"coverage@{k}"], 4),
        gini=round(extra[f"gini@{k}"], 4),
    )


@dataclass
class _Data:
    train: sp.csr_matrix
    test: sp.csr_matrix
    users: np.ndarray
    labels: np.ndarray  # group label per evaluated user ("" when none)
    per_item: np.ndarray
    p: np.ndarray


def audit_recs(
    model: Scorer,
    train: sp.csr_matrix,
    test: sp.csr_matrix,
    genres: np.ndarray,
    *,
    name: str = "",
    groups: Mapping[int, str] | None = None,
    kinds: Sequence[str] | None = None,
    k: int = 10,
    lambdas: Sequence[float] = (0.0, 0.3, 0.5, 0.7, 0.9),
) -> RecsAudit:
    """The audit (see the module docstring); `lambdas` must start with 0 (the plain model)."""
    import time

    started = time.perf_counter()
    train, test = sp.csr_matrix(train), sp.csr_matrix(test)
    users = eval_users(test)
    per_item, p_all = genre_distributions(train, genres)
    labels = np.array([(groups or {}).get(int(u), "") for u in users], dtype=object)
    data = _Data(train, test, users, labels, per_item, p_all[users])
    items, scores = top_scored(model, train, users, CANDIDATES)
    plain = items[:, :k]
    slots, interactions = exposure_deciles(plain, train)
    audit = RecsAudit(
        model=name,
        k=k,
        users=int(len(users)),
        items=int(train.shape[1]),
        exposure_deciles=slots,
        interaction_deciles=interactions,
        kinds=_kinds(plain, kinds) if kinds is not None else {},
        group_sizes={g: int((labels == g).sum()) for g in sorted(set(labels.tolist())) if g},
    )
    for lam in lambdas:
        lists = calibrated_rerank(items, scores, data.p, per_item, k, lam)
        audit.tradeoff.append(_tradeoff(lam, lists, data))
    audit.seconds = round(time.perf_counter() - started, 2)
    return audit
