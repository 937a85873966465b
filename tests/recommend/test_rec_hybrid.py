"""BPR, DLAE, the MiniLM content model, the hybrid blend and validation tuning.

The content tests use the real all-MiniLM-L6-v2 weights from the `content` extra.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from soundstage.recommend.hybrid import Hybrid, standardise
from soundstage.recommend.metrics import evaluate
from soundstage.recommend.models import EASE, RecommendError, load, make, model_names
from soundstage.recommend.tune import grid_points, tune, tuned, validation_split

pytest.importorskip("implicit")


def blocks(n_users: int = 60, seed: int = 0) -> sp.csr_matrix:
    """Two disjoint tastes: the first half of users takes items 0-5, the rest items 6-11."""
    rng = np.random.default_rng(seed)
    M = sp.lil_matrix((n_users, 12))
    for u in range(n_users):
        base = 0 if u < n_users // 2 else 6
        for i in rng.choice(6, size=4, replace=False):
            M[u, base + i] = 1.0
    return sp.csr_matrix(M)


def own_block_share(model, X: sp.csr_matrix) -> float:  # type: ignore[no-untyped-def]
    S = model.scores(np.arange(X.shape[0]), X)
    S[X.nonzero()] = -np.inf
    top = S.argmax(axis=1)
    own = np.where(np.arange(X.shape[0]) < X.shape[0] // 2, top < 6, top >= 6)
    return float(own.mean())


def test_registry_lists_every_model_and_refuses_unknown() -> None:
    assert {"bpr", "content", "hybrid", "spark-als", "ease"} <= set(model_names())
    with pytest.raises(RecommendError, match="unknown model 'svd'"):
        make("svd")


def test_bpr_learns_blocks_and_folds_in_new_users(tmp_path: Path) -> None:
    X = blocks()
    model = make("bpr", factors=8, learning_rate=0.05, iterations=100).fit(X)
    assert own_block_share(model, X) >= 0.9
    # A user beyond the fitted rows is placed at the mean of their items' factors.
    newcomer = sp.vstack([X, sp.csr_matrix(([1.0, 1.0], ([0, 0], [7, 8])), shape=(1, 12))])
    scores = model.scores(np.array([X.shape[0]]), sp.csr_matrix(newcomer))[0]
    assert scores[6:].mean() > scores[:6].mean()
    model.save(tmp_path)
    again = load(tmp_path)
    assert np.allclose(again.scores(np.arange(5), X), model.scores(np.arange(5), X))


def test_dlae_penalises_popular_items_more_than_ease() -> None:
    X = blocks()
    plain, dlae = EASE(lam=10.0).fit(X), EASE(lam=10.0, dropout=0.5).fit(X)
    assert np.all(np.diag(dlae.B) == 0) and np.all(np.diag(plain.B) == 0)
    assert np.abs(dlae.B).sum() < np.abs(plain.B).sum()  # a stronger penalty shrinks weights
    assert own_block_share(dlae, X) == 1.0
    with pytest.raises(RecommendError, match="dropout"):
        EASE(dropout=1.0)


def test_standardise_makes_rows_comparable_and_constant_rows_zero() -> None:
    z = standardise(np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]]))
    assert np.allclose(z[0], [-1.2247449, 0.0, 1.2247449]) and np.all(z[1] == 0)


def test_hybrid_from_fitted_equals_weighted_z_scores() -> None:
    X = blocks()
    a, b = make("ease", lam=5.0).fit(X), make("popular").fit(X)
    hybrid = Hybrid.from_fitted([a, b], [1.0, 0.5])
    users = np.arange(4)
    expected = standardise(a.scores(users, X)) + 0.5 * standardise(b.scores(users, X))
    assert np.allclose(hybrid.scores(users, X), expected)
    with pytest.raises(RecommendError, match="one weight per model"):
        Hybrid.from_fitted([a], [1.0, 2.0])


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    from soundstage.recommend.content import ItemEmbedder

    texts = [f"space opera with starships and aliens, part {i}" for i in range(6)] + [
        f"home cooking show: baking bread and pastry, episode {i}" for i in range(6)
    ]
    return ItemEmbedder().encode(texts)


def test_content_model_follows_text_and_takes_new_items(vectors: np.ndarray) -> None:
    from soundstage.recommend.content import ContentModel, ItemEmbedder

    X = blocks()
    model = ContentModel(vectors=vectors).fit(X)
    assert own_block_share(model, X) == 1.0
    fresh = ItemEmbedder().encode(["a starship crew fights an alien armada", "sourdough bread"])
    added = model.add_items(fresh)
    assert list(added) == [12, 13] and model.n_items == 14
    wide = sp.hstack([X, sp.csr_matrix((X.shape[0], 2))], format="csr")
    scores = model.scores(np.array([0, X.shape[0] - 1]), wide)
    assert scores[0, 12] > scores[0, 13]  # a space fan gets the new space title first
    assert scores[1, 13] > scores[1, 12]  # a baking fan gets the new bread title first
    with pytest.raises(RecommendError, match="needs item vectors"):
        ContentModel().fit(X)
    with pytest.raises(RecommendError, match="12 items"):
        ContentModel(vectors=vectors[:5]).fit(X)


def test_hybrid_ranks_a_new_title_by_content_and_round_trips(
    vectors: np.ndarray, tmp_path: Path
) -> None:
    X = blocks()
    members = [
        {"name": "ease", "params": {"lam": 5.0}, "weight": 1.0},
        {"name": "content", "params": {}, "weight": 0.5},
    ]
    hybrid = Hybrid(members, item_vectors=vectors).fit(X)
    assert own_block_share(hybrid, X) == 1.0
    hybrid.add_items(vectors[[0]] + 0.01)  # a new title that reads like the space titles
    wide = sp.hstack([X, sp.csr_matrix((X.shape[0], 1))], format="csr")
    space_fan, baker = 0, X.shape[0] - 1
    scores = hybrid.scores(np.array([space_fan, baker]), wide)
    assert scores[0, 12] > np.median(scores[0, :12]) and scores[1, 12] < np.median(scores[1, :12])
    hybrid.save(tmp_path)
    again = load(tmp_path)
    assert isinstance(again, Hybrid) and again.n_items == 13
    assert np.allclose(again.scores(np.array([0, 1]), wide), hybrid.scores(np.array([0, 1]), wide))


def test_validation_split_holds_out_a_fifth_per_user_and_is_seeded() -> None:
    X = blocks()
    train, val = validation_split(X, seed=3)
    assert (train + val - X).nnz == 0 and train.multiply(val).nnz == 0
    assert np.all(np.diff(val.indptr) == 1)  # 4 items each → round(0.8) = 1 held out
    again, _ = validation_split(X, seed=3)
    assert (again != train).nnz == 0


def test_tune_scores_every_grid_point_and_refits_the_best() -> None:
    X = blocks(n_users=80)
    grid = {"lam": [0.5, 5.0, 5000.0]}
    result = tune("ease", X, grid)
    assert [t.params for t in result.trials] == grid_points(grid)
    assert result.best_score == max(t.score for t in result.trials)
    assert result.best_params == max(result.trials, key=lambda t: t.score).params
    model, _ = tuned("ease", X, grid=grid)
    assert model.params["lam"] == result.best_params["lam"]
    assert evaluate(model, X, X, k=3)["users"] == 80
    with pytest.raises(RecommendError, match="too few interactions"):
        tune("ease", sp.csr_matrix(np.eye(4)), grid)
