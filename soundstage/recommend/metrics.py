"""Offline evaluation of top-N recommenders: full ranking, accuracy and beyond-accuracy.

Why full ranking: sampled metrics (rank the test item among 100 random negatives) can reverse
model orderings (Krichene & Rendle, KDD 2020), so every user is ranked against the whole
catalogue, minus the items already in their training row. Definitions follow
notes/recommend.md §3.1 and §4 so the numbers are comparable with the table there:

- NDCG@k: binary gains, log2 discount, IDCG over min(k, |T_u|).
- Recall@k = hits / |T_u| (not normalised by k); Precision@k = hits / k; HR@k = any hit.
- MAP@k: mean over users of Σ_r P@r · rel_r / min(k, |T_u|).
- Coverage: distinct recommended items / items with ≥ 1 training interaction.
- Gini: exposure Gini of recommendation counts over those training items (0 equal, 1 one item).
- ARP: mean over users of the mean training popularity of the list.
- APLT: mean share of long-tail items per list; short head = the most popular items holding 80%
  of training interactions, long tail = the rest.
- Novelty: mean −log2(pop_i / |U|), |U| = users with ≥ 1 training interaction (pop clipped ≥ 1).
- ILD: mean pairwise (1 − cosine) of item feature vectors in a list (only if features given).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import scipy.sparse as sp

SHORT_HEAD_SHARE = 0.8


class Scorer(Protocol):
    def scores(self, users: np.ndarray, X: sp.csr_matrix) -> np.ndarray: ...


def top_lists(
    model: Scorer, train: sp.csr_matrix, users: np.ndarray, k: int, batch: int = 256
) -> np.ndarray:
    """(len(users), k) top item indices excluding train items; -1 pads users with < k candidates.

    Ties are broken towards the lower item index so the result is deterministic.
    """
    return top_scored(model, train, users, k, batch)[0]


def top_scored(
    model: Scorer, train: sp.csr_matrix, users: np.ndarray, k: int, batch: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """`top_lists` and the model's score of each listed item (-inf where padded)."""
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    train = sp.csr_matrix(train)
    n_items = train.shape[1]
    out = np.full((len(users), min(k, n_items)), -1, dtype=np.int64)
    scores = np.full(out.shape, -np.inf)
    for start in range(0, len(users), batch):
        ub = users[start : start + batch]
        s = np.array(model.scores(ub, train), dtype=np.float64)
        seen = train[ub]
        s[np.repeat(np.arange(len(ub)), np.diff(seen.indptr)), seen.indices] = -np.inf
        ranked = _rank_rows(s, out.shape[1])
        out[start : start + len(ub)] = ranked
        scores[start : start + len(ub)] = np.take_along_axis(s, np.maximum(ranked, 0), axis=1)
    scores[out < 0] = -np.inf
    return out, scores


def _rank_rows(s: np.ndarray, k: int) -> np.ndarray:
    """Top-k columns per row by (score desc, index asc); -inf entries become -1."""
    cols = np.arange(s.shape[1])
    # lexsort's last key is primary: score descending, then column ascending.
    order = np.lexsort((np.broadcast_to(cols, s.shape), -s), axis=1)[:, :k]
    picked = np.take_along_axis(s, order, axis=1)
    return np.where(np.isneginf(picked), -1, order)


def relevance(lists: np.ndarray, test: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
    """Boolean (users, k): is the item at each rank one of the user's test items."""
    rel = np.zeros(lists.shape, dtype=bool)
    for row, u in enumerate(users):
        truth = test.indices[test.indptr[u] : test.indptr[u + 1]]
        rel[row] = np.isin(lists[row], truth) & (lists[row] >= 0)
    return rel


def eval_users(test: sp.csr_matrix) -> np.ndarray:
    return np.flatnonzero(np.diff(sp.csr_matrix(test).indptr) > 0)


def ndcg_at(rel: np.ndarray, n_true: np.ndarray, k: int) -> np.ndarray:
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (rel[:, :k] * disc[: rel[:, :k].shape[1]]).sum(axis=1)
    ideal = np.cumsum(disc)[np.minimum(n_true, k) - 1]
    return np.asarray(dcg / ideal)


def _map(rel: np.ndarray, n_true: np.ndarray, k: int) -> np.ndarray:
    r = rel[:, :k].astype(np.float64)
    prec_at = np.cumsum(r, axis=1) / np.arange(1, r.shape[1] + 1)
    return np.asarray((prec_at * r).sum(axis=1) / np.minimum(n_true, k))


def per_user_ndcg(
    model: Scorer, train: sp.csr_matrix, test: sp.csr_matrix, *, k: int = 10, batch: int = 256
) -> np.ndarray:
    """NDCG@k per user (length n_users); NaN for users with no test items."""
    test = sp.csr_matrix(test)
    users = eval_users(test)
    lists = top_lists(model, train, users, k, batch)
    rel = relevance(lists, test, users)
    out = np.full(test.shape[0], np.nan)
    out[users] = ndcg_at(rel, np.diff(test.indptr)[users], k)
    return out


def evaluate(
    model: Scorer,
    train: sp.csr_matrix,
    test: sp.csr_matrix,
    *,
    k: int = 10,
    item_features: np.ndarray | None = None,
    batch: int = 256,
) -> dict[str, float]:
    """Accuracy at k and 2k plus beyond-accuracy metrics of the top-k lists (see module doc)."""
    train, test = sp.csr_matrix(train), sp.csr_matrix(test)
    if train.shape != test.shape:
        raise ValueError(f"train {train.shape} and test {test.shape} shapes differ")
    users = eval_users(test)
    if len(users) == 0:
        raise ValueError("no user has a test item; nothing to evaluate")
    lists = top_lists(model, train, users, 2 * k, batch)
    rel = relevance(lists, test, users)
    n_true = np.diff(test.indptr)[users]
    hits = rel[:, :k].sum(axis=1)
    result = {
        f"ndcg@{k}": float(ndcg_at(rel, n_true, k).mean()),
        f"recall@{k}": float((hits / n_true).mean()),
        f"recall@{2 * k}": float((rel.sum(axis=1) / n_true).mean()),
        f"precision@{k}": float((hits / k).mean()),
        f"map@{k}": float(_map(rel, n_true, k).mean()),
        f"hr@{k}": float((hits > 0).mean()),
    }
    result.update(beyond_accuracy(lists[:, :k], train, k=k, item_features=item_features))
    result["users"] = float(len(users))
    return result


def beyond_accuracy(
    lists: np.ndarray, train: sp.csr_matrix, *, k: int = 10, item_features: np.ndarray | None = None
) -> dict[str, float]:
    """Coverage, Gini, ARP, APLT, novelty (and ILD) of top-k lists (-1 = empty slot)."""
    train = sp.csr_matrix(train)
    pop = np.diff(sp.csc_matrix(train).indptr).astype(np.float64)
    train_items = pop > 0
    valid = lists >= 0
    flat = lists[valid]
    counts = np.bincount(flat, minlength=train.shape[1]).astype(np.float64)
    n_users = max(int((np.diff(train.indptr) > 0).sum()), 1)
    safe = np.where(valid, lists, 0)
    length = np.maximum(valid.sum(axis=1), 1)
    out = {
        f"coverage@{k}": float(np.unique(flat).size / max(int(train_items.sum()), 1)),
        f"gini@{k}": gini(counts[train_items]),
        f"arp@{k}": _list_mean(pop[safe], valid, length),
        f"aplt@{k}": _list_mean(long_tail_mask(pop)[safe].astype(float), valid, length),
        f"novelty@{k}": _list_mean(-np.log2(np.maximum(pop, 1.0) / n_users)[safe], valid, length),
    }
    if item_features is not None:
        out[f"ild@{k}"] = intra_list_distance(lists, item_features)
    return out


def _list_mean(values: np.ndarray, valid: np.ndarray, length: np.ndarray) -> float:
    """Mean over lists of the per-list mean of `values` over valid slots."""
    return float(((values * valid).sum(axis=1) / length).mean())


def gini(counts: np.ndarray) -> float:
    """Gini index of non-negative counts: 0 = perfectly equal, → 1 = all on one item."""
    x = np.sort(np.asarray(counts, dtype=np.float64))
    n, total = x.size, x.sum()
    if n == 0 or total == 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float(((2 * ranks - n - 1) * x).sum() / (n * total))


def long_tail_mask(pop: np.ndarray, share: float = SHORT_HEAD_SHARE) -> np.ndarray:
    """True for long-tail items: outside the most popular items holding `share` of interactions."""
    order = np.argsort(-pop, kind="stable")
    cum = np.cumsum(pop[order])
    n_head = int(np.searchsorted(cum, share * cum[-1], side="left")) + 1 if cum[-1] > 0 else 0
    tail = np.ones(pop.shape[0], dtype=bool)
    tail[order[:n_head]] = False
    return tail


def intra_list_distance(lists: np.ndarray, features: np.ndarray) -> float:
    """Mean over lists (≥ 2 items) of mean pairwise 1 − cosine(feature_i, feature_j)."""
    F = np.asarray(features, dtype=np.float64)
    norms = np.linalg.norm(F, axis=1, keepdims=True)
    F = np.divide(F, norms, out=np.zeros_like(F), where=norms > 0)
    values = []
    for row in lists:
        items = row[row >= 0]
        m = items.size
        if m < 2:
            continue
        sim = F[items] @ F[items].T
        values.append(1.0 - (sim.sum() - np.trace(sim)) / (m * (m - 1)))
    return float(np.mean(values)) if values else 0.0
