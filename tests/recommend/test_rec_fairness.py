"""User-group fairness: per-group NDCG/Recall/HR through Fairlearn, checked against hand values."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from soundstage.errors import SoundstageError
from soundstage.recommend.data import read_movielens, to_implicit
from soundstage.recommend.fairness import age_group, group_metrics, user_groups
from soundstage.recommend.metrics import evaluate, per_user_ndcg
from soundstage.recommend.models import make
from soundstage.recommend.split import holdout

N_ITEMS = 6
# Test items per user; user 5 has none and is never evaluated.
TEST = {0: [0], 1: [1, 2], 2: [3], 3: [4], 4: [0], 5: []}
# Top-2 lists: group "a" (users 0, 1) is served perfectly, group "b" (2, 3) badly.
LISTS = np.array([[0, 3], [2, 1], [0, 1], [1, 4], [0, 5], [0, 1]])
INV_LOG3 = 1 / math.log2(3)  # the discount of rank 2


def _matrix(rows: dict[int, list[int]]) -> sp.csr_matrix:
    users = [u for u, items in rows.items() for _ in items]
    items = [i for its in rows.values() for i in its]
    return sp.csr_matrix((np.ones(len(users)), (users, items)), shape=(len(TEST), N_ITEMS))


TRAIN = _matrix({u: [5] for u in range(5)})


def test_hand_computed_gap_between_a_perfect_and_a_poor_group() -> None:
    groups = {0: "a", 1: "a", 2: "b", 3: "b", 5: "b"}  # user 4 has no group
    res = group_metrics(LISTS, TRAIN, _matrix(TEST), groups, k=2)
    a, b = res.by_group["a"], res.by_group["b"]
    assert a == {"users": 2, "ndcg@2": 1.0, "recall@2": 1.0, "hr@2": 1.0}
    # user 2 misses everything; user 3 hits its only item at rank 2.
    assert b["users"] == 2
    assert b["ndcg@2"] == pytest.approx(INV_LOG3 / 2)
    assert b["recall@2"] == b["hr@2"] == 0.5
    assert res.difference["ndcg@2"] == pytest.approx(1 - INV_LOG3 / 2)
    assert res.ratio["ndcg@2"] == pytest.approx(INV_LOG3 / 2)
    assert res.difference["recall@2"] == 0.5 and res.ratio["hr@2"] == 0.5
    assert res.overall["ndcg@2"] == pytest.approx((2 + INV_LOG3) / 4)
    assert res.missing_users == 1  # user 4; user 5 has no test items and does not count
    table = res.table()
    assert "| a | 2 | 1.0000 | 1.0000 | 1.0000 |" in table and "| max − min |" in table


def test_missing_users_can_form_their_own_group() -> None:
    groups = ["a", "a", "b", "b", None, "b"]  # a sequence works as well as a mapping
    res = group_metrics(LISTS, TRAIN, _matrix(TEST), groups, k=2, missing="unknown")
    assert res.missing_users == 0
    assert res.by_group["unknown"] == {"users": 1, "ndcg@2": 1.0, "recall@2": 1.0, "hr@2": 1.0}
    assert list(res.by_group) == ["a", "b", "unknown"]


def test_model_path_matches_evaluate_when_nobody_is_missing() -> None:
    rng = np.random.default_rng(0)
    X = sp.csr_matrix((rng.random((60, 40)) < 0.2).astype(float))
    train = sp.csr_matrix(X.multiply(rng.random(X.shape) < 0.8))
    train.eliminate_zeros()
    test = X - train
    model = make("popular").fit(train)
    groups = {u: "even" if u % 2 == 0 else "odd" for u in range(60)}
    res = group_metrics(model, train, test, groups, k=5)
    want = evaluate(model, train, test, k=5)
    for name in ("ndcg@5", "recall@5", "hr@5", "users"):
        assert res.overall[name] == pytest.approx(want[name]), name
    ndcg = per_user_ndcg(model, train, test, k=5)
    for label, parity in (("even", 0), ("odd", 1)):
        values = ndcg[parity::2]
        assert res.by_group[label]["ndcg@5"] == pytest.approx(np.nanmean(values))
        assert res.by_group[label]["users"] == np.isfinite(values).sum()


def test_all_zero_groups_give_nan_ratio_without_warnings() -> None:
    lists = np.array([[5, 5]] * len(TEST))  # never a test item
    res = group_metrics(lists, TRAIN, _matrix(TEST), [str(u % 2) for u in range(6)], k=2)
    assert res.difference["hr@2"] == 0.0 and math.isnan(res.ratio["hr@2"])


def test_mistakes_are_soundstage_errors() -> None:
    test = _matrix(TEST)
    with pytest.raises(SoundstageError, match="no user with test items has a group"):
        group_metrics(LISTS, TRAIN, test, {5: "a"}, k=2)
    with pytest.raises(SoundstageError, match="groups has 2 labels for 6 users"):
        group_metrics(LISTS, TRAIN, test, ["a", "b"], k=2)
    with pytest.raises(SoundstageError, match="one row per user"):
        group_metrics(LISTS[:3], TRAIN, test, {0: "a"}, k=2)
    with pytest.raises(SoundstageError, match="2 columns, fewer than k = 3"):
        group_metrics(LISTS, TRAIN, test, {0: "a"}, k=3)
    with pytest.raises(SoundstageError, match="k must be positive"):
        group_metrics(LISTS, TRAIN, test, {0: "a"}, k=0)


def test_age_buckets() -> None:
    ages = [0, 7, 24, 25, 34, 35, 44, 45, 73]
    assert [age_group(a) for a in ages] == [
        "<25", "<25", "<25", "25-34", "25-34", "35-44", "35-44", "45+", "45+",
    ]  # fmt: skip
    # MovieLens-1M codes: 1 (under 18), 18, 25, 35, 45, 50, 56.
    assert [age_group(str(c)) for c in (1, 18, 25, 35, 45, 50, 56)] == [
        "<25", "<25", "25-34", "35-44", "45+", "45+", "45+",
    ]  # fmt: skip
    with pytest.raises(SoundstageError, match="age 'old' is not a whole number"):
        age_group("old")


def test_user_groups_follow_the_interaction_id_space() -> None:
    users = {"10": {"age": "30", "gender": "F"}, "2": {"age": "19"}, "7": {"gender": "M"}}
    ids = ("2", "7", "10", "99")
    assert user_groups(ids, users, "gender") == {1: "M", 2: "F"}
    assert user_groups(ids, users, "age", bucket=age_group) == {0: "<25", 2: "25-34"}


def test_ml100k_gender_gap_for_ease(shared: Callable[..., Path]) -> None:
    inter, _, users = read_movielens(shared("rec", "ml-100k"))
    train, test = holdout(to_implicit(inter), seed=0)
    X, T = train.matrix(), test.matrix()
    model = make("ease").fit(X)
    groups = user_groups(inter.user_ids, users, "gender")
    res = group_metrics(model, X, T, groups, k=10)
    assert set(res.by_group) == {"F", "M"} and res.missing_users == 0
    ndcg = per_user_ndcg(model, X, T, k=10)
    by_hand = {g: np.nanmean([ndcg[u] for u, lab in groups.items() if lab == g]) for g in "FM"}
    assert res.by_group["F"]["ndcg@10"] == pytest.approx(by_hand["F"])
    assert res.difference["ndcg@10"] == pytest.approx(abs(by_hand["F"] - by_hand["M"]))
    assert res.overall["users"] == evaluate(model, X, T)["users"] == 942
    assert 0.25 < res.overall["ndcg@10"] < 0.40
