"""The recommender audit: exposure deciles and the calibrated re-ranker on hand-made inputs,
then the whole audit on ML-100K checked against `recommend eval`'s own numbers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from cli_runner import run_soundstage

from soundstage.audit.recs import exposure_deciles, group_means, lorenz, miscalibration
from soundstage.recommend.calibrate import calibrated_rerank, genre_distributions, kl_divergence


def test_exposure_deciles_count_slots_and_interactions() -> None:
    # 20 items; item i has i + 1 interactions, so items 18 and 19 are the top decile.
    rows, cols = [], []
    for item in range(20):
        rows += list(range(item + 1))
        cols += [item] * (item + 1)
    train = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(20, 20))
    lists = np.array([[19, 18, 0], [19, 1, -1]])
    slots, interactions = exposure_deciles(lists, train)
    assert slots[9] == 0.6 and slots[0] == 0.4 and sum(slots) == pytest.approx(1.0)
    assert interactions[9] == round((19 + 20) / 210, 4) and interactions[0] == round(3 / 210, 4)


def test_calibrated_rerank_follows_the_history_as_lambda_grows() -> None:
    # Genres: drama, comedy. The user's history is 70% drama, 30% comedy; the model ranks
    # six dramas above four comedies.
    genres = np.array([[1, 0]] * 6 + [[0, 1]] * 4)
    per_item, _ = genre_distributions(sp.csr_matrix((1, 10)), genres)
    p = np.array([[0.7, 0.3]])
    items = np.arange(10)[None, :]
    scores = np.linspace(1.0, 0.1, 10)[None, :]
    plain = calibrated_rerank(items, scores, p, per_item, 10, 0.0)[0]
    assert plain.tolist() == list(range(10))
    full = calibrated_rerank(items, scores, p, per_item, 10, 0.99)[0]
    assert sorted(full.tolist()) == list(range(10))  # ten slots, ten items: only the order moves
    short = {lam: calibrated_rerank(items, scores, p, per_item, 5, lam)[0] for lam in (0, 0.99)}
    assert (short[0] >= 6).sum() == 0 and (short[0.99] >= 6).sum() in (1, 2)  # ≈ 30% of 5
    kl = [miscalibration(short[lam][None, :], per_item, p) for lam in (0, 0.99)]
    assert kl[1] < kl[0]
    assert kl_divergence(p, p)[0] == pytest.approx(0.0)


@pytest.mark.slow
def test_audit_on_ml100k_agrees_with_recommend_eval(
    settings: object, tmp_path: Path, shared: Callable[..., Path]
) -> None:
    source = shared("rec", "ml-100k")
    ml, split = tmp_path / "ml", tmp_path / "split"
    assert run_soundstage("recommend", "import", str(source), "--out", str(ml)).returncode == 0
    done = run_soundstage("recommend", "split", str(ml / "log.csv"), "--out", str(split),
                          "--min-value", "4")  # fmt: skip
    assert done.returncode == 0, done.stderr
    common = ["--train", str(split / "train.csv"), "--test", str(split / "test.csv")]
    done = run_soundstage("recommend", "eval", *common, "--model", "ease", "--json")
    assert done.returncode == 0, done.stderr
    expected = json.loads(done.stdout)
    out = tmp_path / "audit"
    done = run_soundstage(
        "audit", "recs", *common, "--items", str(ml / "items.csv"), "--users",
        str(ml / "users.csv"), "--lambdas", "0,0.3,0.9", "--out", str(out), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    plain, mild, strong = data["tradeoff"]
    assert plain["ndcg"] == pytest.approx(expected["ndcg@10"], abs=1e-4)
    assert plain["coverage"] == pytest.approx(expected["coverage@10"], abs=1e-4)
    assert sum(data["exposure_deciles"]) == pytest.approx(1.0, abs=1e-3)
    assert data["exposure_deciles"][-1] > 0.5  # popularity bias, as recommend.md reports
    assert set(plain["group_ndcg"]) == {"F", "M"} and data["group_sizes"]["F"] > 200
    assert strong["miscalibration"] < mild["miscalibration"] < plain["miscalibration"]
    assert strong["ndcg"] < plain["ndcg"]  # calibration is paid for in accuracy
    low, high = plain["group_ci"]["F"]
    assert low < plain["group_ndcg"]["F"] < high and plain["gap_ci"][0] < plain["gap"]
    assert plain["lorenz"][0] == 0.0 and plain["lorenz"][-1] == 1.0
    page = (out / "audit.html").read_text(encoding="utf-8")
    assert "Calibrated re-ranking at λ = 0.3" in page and "Exposure Lorenz curve" in page
    done = run_soundstage("audit", "recs", *common, "--items", str(ml / "items.csv"),
                          "--lambdas", "0.5,1")  # fmt: skip
    assert done.returncode != 0 and "starting with 0" in done.stderr


def test_miscalibration_pairs_each_list_with_its_own_user() -> None:
    # Found on ml-latest-small: targets were indexed twice (by user id, then again).
    per_item = np.array([[1.0, 0.0], [0.0, 1.0]])
    lists = np.array([[0], [1]])
    matched = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert miscalibration(lists, per_item, matched) == pytest.approx(0.0)
    assert miscalibration(lists, per_item, matched[::-1]) > 1.0


def test_group_means_with_bootstrap_intervals() -> None:
    rng = np.random.default_rng(1)
    per_user = np.concatenate([rng.normal(0.3, 0.1, 400), rng.normal(0.2, 0.1, 100), [9.0]])
    labels = np.array(["a"] * 400 + ["b"] * 100 + [""], dtype=object)  # "": no group, left out
    means, ci, gap, gap_ci = group_means(per_user, labels)
    assert means == {"a": round(per_user[:400].mean(), 4), "b": round(per_user[400:500].mean(), 4)}
    assert gap == round(means["a"] - means["b"], 4)
    # b has a quarter of a's users, so about twice a's interval width
    width = {g: hi - lo for g, (lo, hi) in ci.items()}
    assert 1.6 < width["b"] / width["a"] < 2.4
    assert gap_ci[0] < gap < gap_ci[1] and gap_ci[0] > 0.05
    assert group_means(per_user, np.array([""] * per_user.size, dtype=object)) == ({}, {}, 0.0, [])


def test_lorenz_curve_of_exposure() -> None:
    even = np.array([[0, 1], [2, 3]])
    assert lorenz(even, 4, steps=4) == [0.0, 0.25, 0.5, 0.75, 1.0]
    # one item gets every slot out of four: the curve stays at 0 until the last item
    assert lorenz(np.array([[2, -1], [2, -1]]), 4, steps=4) == [0.0, 0.0, 0.0, 0.0, 1.0]
