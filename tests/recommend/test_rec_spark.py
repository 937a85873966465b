"""Spark MLlib ALS backend: planted block structure, Spark-exact fold-in, persistence, fit_path.

One `local[2]` SparkSession serves the module (JVM start ≈ 10 s); tests that need it skip when
pyspark or Java is missing. The missing-dependency tests simulate the absence and always run.
"""

from __future__ import annotations

import csv
import shutil
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from soundstage.recommend.data import read_csv
from soundstage.recommend.metrics import evaluate
from soundstage.recommend.models import RecommendError, load
from soundstage.recommend.spark import SparkALS, _item_factors, _ratings_frame, spark_session

N_BLOCKS, BLOCK_ITEMS, BLOCK_USERS, TRAIN_PER_USER = 4, 5, 10, 3
PARAMS: dict[str, Any] = {"rank": 4, "reg_param": 0.05, "alpha": 10.0, "max_iter": 6, "seed": 0}


def checkerboard(seed: int = 0) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Users of block b consume only block b's items: 3 of 5 in train, the other 2 held out."""
    rng = np.random.default_rng(seed)
    n_users, n_items = N_BLOCKS * BLOCK_USERS, N_BLOCKS * BLOCK_ITEMS
    train, test = sp.lil_matrix((n_users, n_items)), sp.lil_matrix((n_users, n_items))
    for u in range(n_users):
        own = (u // BLOCK_USERS) * BLOCK_ITEMS + rng.permutation(BLOCK_ITEMS)
        train[u, own[:TRAIN_PER_USER]] = 1.0
        test[u, own[TRAIN_PER_USER:]] = 1.0
    return sp.csr_matrix(train), sp.csr_matrix(test)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark", reason="pyspark not installed (the spark extra)")
    if shutil.which("java") is None:
        pytest.skip("no java on PATH (pyspark 4 needs Java 17+)")
    from pyspark.sql import SparkSession

    already = SparkSession.getActiveSession()
    session = spark_session("local[2]")
    yield session
    if already is None:  # stop only what this module started
        session.stop()


@pytest.fixture(scope="module")
def fitted(spark: Any) -> SparkALS:
    train, _ = checkerboard()
    return SparkALS(master="local[2]", **PARAMS).fit(train)


def test_ranks_own_block_items_first(fitted: SparkALS) -> None:
    train, test = checkerboard()
    res = evaluate(fitted, train, test, k=2)
    # The only unseen own-block items are the 2 held out: recall@2 = 1 means own block first.
    assert res["recall@2"] >= 0.95
    assert res["ndcg@2"] >= 0.95
    assert fitted.Y.dtype == np.float32 and fitted.Y.shape == (train.shape[1], PARAMS["rank"])


def test_fold_in_reproduces_spark_user_factors(spark: Any, fitted: SparkALS) -> None:
    train, _ = checkerboard()
    coo = train.tocoo()
    frame = _ratings_frame(spark, coo.row.astype(np.int32), coo.col.astype(np.int32))
    model = fitted._train(frame)  # same data and seed as `fitted`
    np.testing.assert_allclose(_item_factors(model, train.shape[1], 4), fitted.Y, atol=1e-5)
    spark_users = np.zeros((train.shape[0], PARAMS["rank"]))
    for row in model.userFactors.collect():
        spark_users[row["id"]] = row["features"]
    # Spark's final half-iteration is the user update: ALS-WR reg × n_u, confidence 1 + alpha.
    np.testing.assert_allclose(fitted.fold_in(train), spark_users, atol=1e-4)


def test_new_user_is_folded_in_without_refit(fitted: SparkALS) -> None:
    block = 2
    own = np.arange(block * BLOCK_ITEMS, (block + 1) * BLOCK_ITEMS)
    n_items = N_BLOCKS * BLOCK_ITEMS
    rows = sp.csr_matrix(([1.0, 1.0], ([0, 0], own[:2])), shape=(2, n_items))  # row 1 is empty
    items, scores = fitted.recommend(0, rows, n=3)
    assert set(items.tolist()) == set(own[2:].tolist())
    assert np.all(np.diff(scores) <= 0)
    assert not fitted.scores(np.array([1]), rows).any()  # no history → no preference


def test_save_load_round_trip_gives_identical_scores(fitted: SparkALS, tmp_path: Path) -> None:
    train, _ = checkerboard()
    fitted.save(tmp_path / "m")
    with np.load(tmp_path / "m" / "model.npz", allow_pickle=False) as npz:
        assert npz.files == ["item_factors"]  # item factors only: users fold in at scoring
    again = load(tmp_path / "m")
    assert isinstance(again, SparkALS)
    assert again.params == fitted.params and again.item_ids is None
    users = np.arange(train.shape[0])
    np.testing.assert_array_equal(again.scores(users, train), fitted.scores(users, train))


def _write_log(path: Path) -> None:
    """The checkerboard as a CSV log with string user ids, numeric item ids out of order,
    a repeated event and a low-value event (dropped by min_value)."""
    train, _ = checkerboard()
    coo = train.tocoo()
    order = np.random.default_rng(1).permutation(coo.nnz)
    with open(path, "w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["user_id", "item_id", "value", "timestamp"])
        for k in order:
            w.writerow([f"u{coo.row[k]}", str(5 + 7 * int(coo.col[k])), "5", "1"])
        w.writerow([f"u{coo.row[order[0]]}", str(5 + 7 * int(coo.col[order[0]])), "4", "2"])
        w.writerow(["u0", str(5 + 7 * 19), "1", "3"])  # cross-block noise, value 1


def test_fit_path_reads_the_log_in_spark_with_read_csvs_item_order(
    spark: Any, tmp_path: Path
) -> None:
    log = tmp_path / "log.csv"
    _write_log(log)
    model = SparkALS(master="local[2]", **PARAMS).fit_path(log, min_value=4)
    inter = read_csv(log)
    assert model.item_ids == inter.item_ids  # numeric order: "5" < "12" < … < "138"
    assert model.n_items == inter.n_items == N_BLOCKS * BLOCK_ITEMS
    X = inter.matrix()
    rows = X[[inter.user_ids.index(f"u{u}") for u in range(N_BLOCKS * BLOCK_USERS)]]
    _, test = checkerboard()
    assert evaluate(model, rows, test, k=2)["recall@2"] >= 0.95

    again = load(model.save(tmp_path / "m"))
    assert isinstance(again, SparkALS) and again.item_ids == inter.item_ids


def test_fit_path_errors_are_one_line(spark: Any, tmp_path: Path) -> None:
    model = SparkALS(master="local[2]")
    with pytest.raises(RecommendError, match="no such file"):
        model.fit_path(tmp_path / "absent.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("user,item\n1,2\n")
    with pytest.raises(RecommendError, match="missing column 'user_id'"):
        model.fit_path(bad)


# -- missing dependencies and bad input: no Spark needed ------------------------------------


def test_missing_pyspark_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # makes `import pyspark` fail
    with pytest.raises(RecommendError, match="needs pyspark") as err:
        SparkALS().fit(sp.csr_matrix(np.eye(3)))
    assert "pip install 'soundstage[spark]'" in str(err.value)


def test_missing_java_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", types.ModuleType("pyspark"))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(RecommendError, match="needs Java") as err:
        spark_session("local[1]")
    assert "Java 17+" in str(err.value)


def test_bad_params_and_unfitted_model_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RecommendError, match="rank ≥ 1"):
        SparkALS(rank=0)
    with pytest.raises(RecommendError, match="not fitted"):
        SparkALS().scores(np.array([0]), sp.csr_matrix((1, 3)))
    monkeypatch.setenv("SOUNDSTAGE_SPARK_MASTER", "spark://cluster:7077")
    assert SparkALS().master == "spark://cluster:7077"
    assert SparkALS(master="local[3]").params["master"] == "local[3]"
