"""Calibrated recommendations (Steck, "Calibrated Recommendations", RecSys 2018).

A list is calibrated when its genres come in the proportions of the user's history: someone
who watches 70% dramas and 30% comedies should not get ten dramas. Miscalibration is
KL(p ‖ q̃): p(g|u) the history over genres (each item's weight split evenly over its genres),
q(g|u) the list's, q̃ = (1 − α)q + αp with α = 0.01 so the divergence stays finite.

`calibrated_rerank` is Steck's greedy re-ranking: over a user's candidates, best first, pick
the item that maximises (1 − λ)·Σ relevance − λ·KL(p ‖ q̃(list with it)), relevance being
the model's scores min–max scaled per user. λ = 0 keeps the model's order. Serving takes it
as `calibration=λ` (`recommend_for`); `soundstage audit recs` measures what each λ costs.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = [
    "ALPHA",
    "calibrated_rerank",
    "genre_distributions",
    "item_genre_weights",
    "kl_divergence",
    "user_genre_target",
]

ALPHA = 0.01


def item_genre_weights(genres: np.ndarray) -> np.ndarray:
    """(items × genres) each item's weight split evenly over its genres (0 rows: no genre)."""
    G = np.asarray(genres, dtype=np.float64)
    return G / np.maximum(G.sum(axis=1, keepdims=True), 1.0)


def user_genre_target(history_row: sp.spmatrix, per_item: np.ndarray) -> np.ndarray:
    """(1 × genres) one user's history as a distribution over genres."""
    row = sp.csr_matrix(history_row)
    weights = np.asarray(row @ per_item[: row.shape[1]]).reshape(1, -1)
    return weights / max(float(weights.sum()), 1e-12)


def genre_distributions(train: sp.csr_matrix, genres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(items × genres) each item's weight split over its genres, and (users × genres) each
    user's history as a distribution over genres (rows sum to 1; 0 rows without genres)."""
    per_item = item_genre_weights(genres)
    history = np.asarray(sp.csr_matrix(train, dtype=np.float64) @ per_item)
    return per_item, history / np.maximum(history.sum(axis=1, keepdims=True), 1e-12)


def kl_divergence(p: np.ndarray, q: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """KL(p ‖ (1 − α)q + αp) over the last axis; terms with p = 0 count 0."""
    q_tilde = (1 - alpha) * q + alpha * p
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / np.maximum(q_tilde, 1e-12)), 0.0)
    return np.asarray(terms.sum(axis=-1))


def calibrated_rerank(
    items: np.ndarray, scores: np.ndarray, p: np.ndarray, per_item: np.ndarray, k: int, lam: float
) -> np.ndarray:
    """Steck's greedy calibrated re-ranking of each row's candidates (see the module doc).
    `items`/`scores`: (users, n) candidates best first; `p`: (users, genres) targets."""
    if lam <= 0:
        return items[:, :k].copy()
    out = np.full((items.shape[0], k), -1, dtype=np.int64)
    finite = np.isfinite(scores)
    low = np.where(finite, scores, np.inf).min(axis=1, keepdims=True)
    high = np.where(finite, scores, -np.inf).max(axis=1, keepdims=True)
    rel = np.where(finite, (scores - low) / np.maximum(high - low, 1e-12), -np.inf)
    for row in range(items.shape[0]):
        dist = per_item[items[row]]  # (n, genres)
        taken = np.zeros(items.shape[1], dtype=bool)
        total_rel, q_sum = 0.0, np.zeros(per_item.shape[1])
        for slot in range(k):
            q = (q_sum + dist) / (slot + 1)
            gain = (1 - lam) * (total_rel + rel[row]) - lam * kl_divergence(p[row], q)
            gain[taken | ~finite[row]] = -np.inf
            best = int(np.argmax(gain))
            if not np.isfinite(gain[best]):
                break
            taken[best] = True
            out[row, slot] = items[row, best]
            total_rel += rel[row, best]
            q_sum += dist[best]
    return out
