"""Hyper-parameter search on a validation split, the way the reproducibility papers do it.

Why: untuned ALS loses 28% NDCG and untuned BPR falls below popularity on ML-100K
(notes/recommend.md §3.2), so a fair comparison tunes every model the same way: split the
*training* matrix again per user (80/20, seeded), score each grid point on that validation
part with full ranking, keep the best, and refit on the whole training matrix. The test split
is never looked at. Grids are small and centred on the note's optima so a search finishes in
seconds to a few minutes on a laptop.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from soundstage.recommend.metrics import evaluate
from soundstage.recommend.models import Recommender, RecommendError, make

GRIDS: dict[str, dict[str, list[Any]]] = {
    "popular": {},
    "itemknn": {"k": [50, 100, 200, 400], "shrink": [0.0, 10.0, 50.0]},
    "rp3beta": {"alpha": [0.5, 0.8, 1.0], "beta": [0.3, 0.5, 0.7], "k": [100, 200]},
    "ease": {"lam": [100.0, 200.0, 300.0, 500.0, 1000.0], "dropout": [0.0, 0.25, 0.33, 0.5]},
    "als": {
        "factors": [32, 64],
        "regularization": [3.0, 10.0, 30.0, 100.0],
        "alpha": [1.0, 2.0, 5.0, 10.0],
    },
    "bpr": {"factors": [64], "learning_rate": [0.001, 0.003, 0.01], "regularization": [0.01]},
}


@dataclass(frozen=True)
class Trial:
    params: dict[str, Any]
    score: float


@dataclass(frozen=True)
class TuneResult:
    """The best grid point and every trial, in grid order, scored on validation."""

    name: str
    metric: str
    best_params: dict[str, Any]
    best_score: float
    trials: tuple[Trial, ...]


def validation_split(
    X: sp.csr_matrix, fraction: float = 0.2, seed: int = 0
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Per user, a seeded `fraction` of their items (≥ 1 when they have ≥ 2) → validation."""
    X = sp.csr_matrix(X)
    rng = np.random.default_rng(seed)
    held = np.zeros(X.nnz, dtype=bool)
    for u in range(X.shape[0]):
        lo, hi = X.indptr[u], X.indptr[u + 1]
        if hi - lo < 2:
            continue
        n_val = max(1, int(round(fraction * (hi - lo))))
        held[lo + rng.choice(hi - lo, size=n_val, replace=False)] = True
    coo = X.tocoo()
    train = sp.csr_matrix((coo.data[~held], (coo.row[~held], coo.col[~held])), shape=X.shape)
    val = sp.csr_matrix((coo.data[held], (coo.row[held], coo.col[held])), shape=X.shape)
    return train, val


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def tune(
    name: str,
    X: sp.csr_matrix,
    grid: Mapping[str, Sequence[Any]] | None = None,
    *,
    k: int = 10,
    metric: str = "ndcg",
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> TuneResult:
    """Score every grid point of model `name` on a validation split of X; best first wins ties."""
    grid = GRIDS.get(name, {}) if grid is None else grid
    points = grid_points(grid) or [{}]
    train, val = validation_split(X, seed=seed)
    if val.nnz == 0:
        raise RecommendError("too few interactions to tune: no user has two or more events")
    key = f"{metric}@{k}"
    trials = []
    for i, params in enumerate(points):
        model = make(name, **params).fit(train)
        result = evaluate(model, train, val, k=k)
        if key not in result:
            raise RecommendError(f"unknown metric {metric!r}")
        trials.append(Trial(params, float(result[key])))
        if progress is not None:
            progress(i + 1, len(points))
    best = max(trials, key=lambda t: t.score)  # max keeps the first of equal scores
    return TuneResult(name, key, best.params, best.score, tuple(trials))


def tuned(name: str, X: sp.csr_matrix, **kwargs: Any) -> tuple[Recommender, TuneResult]:
    """Tune on a validation split of X, then refit the best configuration on all of X."""
    result = tune(name, X, **kwargs)
    return make(name, **result.best_params).fit(X), result
