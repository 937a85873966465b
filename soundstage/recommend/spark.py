"""Spark MLlib ALS: the implicit-feedback recommender for logs that outgrow one machine.

Why Spark: `implicit` ALS is 8–30× faster per iteration on one machine (notes/recommend.md
§2.3), but a log on HDFS/S3, or one that does not fit in the driver's memory, needs a cluster.
`SparkALS` trains `pyspark.ml.recommendation.ALS(implicitPrefs=True)` there, pulls back only the
item factors and scores in numpy exactly like `ALS`: a user — new or old — is folded in from
their row with the closed form of one Spark user update, so serving needs no Spark and no refit,
and a saved model is the usual `model.npz` + `model.json` (no pickle).

Spark's implicit user update (ALS.scala `computeFactors`: Hu et al. 2008, with ALS-WR's
regularisation scaled by the user's event count n_u) for binary positives, confidence
c = 1 + alpha:  x_u = (YᵀY + alpha·Σ_i y_i y_iᵀ + reg_param·n_u·I)⁻¹ (1 + alpha)·Σ_i y_i.
Spark's last half-iteration is exactly this update, so folding in a training user reproduces
the user factors Spark learned.

`fit(X)` ships a scipy matrix to Spark without pandas: a temporary Parquet file written by
pyarrow for local masters, rows inside the query plan for a cluster. `fit_path(path)` lets
Spark read a `user_id,item_id[,value][,timestamp]` CSV or Parquet log itself, so the events
never pass through numpy; only the distinct item ids and the item factors reach the driver.

pyspark is optional (`pip install 'soundstage[spark]'`, Java 17+) and imported only inside
functions. The master is `local[*]` unless given or set in SOUNDSTAGE_SPARK_MASTER; a cluster
is a master URL (`spark://host:7077`, `yarn`, `k8s://…`).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import scipy.sparse as sp

from soundstage.recommend.data import sort_key
from soundstage.recommend.models import (
    Recommender,
    RecommendError,
    factor_gram,
    fold_in_users,
)

if TYPE_CHECKING:
    from pyspark.ml.recommendation import ALSModel
    from pyspark.sql import Column, DataFrame, SparkSession

APP_NAME = "soundstage"
DEFAULT_MASTER = "local[*]"
DEFAULT_DRIVER_MEMORY = "2g"
INSTALL_HINT = "pip install 'soundstage[spark]'; pyspark 4 needs Java 17+"
INT32_MAX = int(np.iinfo(np.int32).max)

_session: SparkSession | None = None


# -- the session ------------------------------------------------------------------------------


def _require_spark() -> None:
    """Fail with one line, not a py4j traceback, when pyspark or Java is absent."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise RecommendError("the spark-als model needs pyspark", hint=INSTALL_HINT) from None
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and Path(java_home, "bin", "java").is_file()) and not shutil.which("java"):
        raise RecommendError(
            "the spark-als model needs Java: none on PATH or in JAVA_HOME", hint=INSTALL_HINT
        )


@contextmanager
def quiet_pandas_check() -> Iterator[None]:
    """Hide pyspark's "pandas >= 3 not fully supported" FutureWarning.

    pyspark imports its pandas check while converting any py4j argument, even though this module
    never uses pandas; the warning is about code paths we do not take.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
        )
        yield


def _is_local(master: str) -> bool:
    return master == "local" or master.startswith(("local[", "local-cluster["))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def default_master() -> str:
    """SOUNDSTAGE_SPARK_MASTER, else local[*] (every core of this machine)."""
    return os.environ.get("SOUNDSTAGE_SPARK_MASTER") or DEFAULT_MASTER


def spark_session(master: str | None = None) -> SparkSession:
    """The process's SparkSession: started on first use, then reused.

    Why reuse: starting the JVM costs ~10 s. A session that is already running — ours or the
    caller's — is returned as is, whatever its master. A new one gets the UI off (no port to
    bind), WARN logs, SOUNDSTAGE_SPARK_DRIVER_MEMORY (default 2g) and, for local masters,
    SPARK_LOCAL_IP=127.0.0.1 (no loopback-hostname warning), PYSPARK_PYTHON = this interpreter
    and few shuffle partitions.
    """
    global _session
    _require_spark()
    from pyspark.sql import SparkSession

    with quiet_pandas_check():
        active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if _session is not None and getattr(_session.sparkContext, "_jsc", None) is not None:
        return _session
    master = master or default_master()
    if _is_local(master):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # Python workers (pandas UDFs, e.g. moderation) must run in this interpreter, with
        # its packages, not whatever `python3` is first on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    memory = os.environ.get("SOUNDSTAGE_SPARK_DRIVER_MEMORY") or DEFAULT_DRIVER_MEMORY
    builder = (
        SparkSession.builder.master(master)
        .appName(APP_NAME)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", memory)
    )
    if _is_local(master):
        # 200 shuffle partitions suit a cluster; on one machine they are pure task overhead.
        builder = builder.config("spark.sql.shuffle.partitions", "8")
    try:
        with quiet_pandas_check():
            session = builder.getOrCreate()
    except Exception as exc:  # the JVM failed to start: py4j and pyspark raise many types
        raise RecommendError(
            f"cannot start Spark ({master}): {_first_line(exc)}", hint=INSTALL_HINT
        ) from exc
    session.sparkContext.setLogLevel("WARN")
    _session = session
    return session


# -- the model --------------------------------------------------------------------------------


class SparkALS(Recommender):
    """Implicit ALS trained by Spark MLlib; item factors only, users folded in when scoring.

    Defaults are the note's tuned ML-100K values for Spark (rank 32, reg_param 1.0, alpha 10,
    15 iterations). Spark scales reg_param by each user's and item's event count, so its values
    are not interchangeable with `ALS`'s `regularization`. `item_ids` holds the external item
    ids after `fit_path` (None after `fit`, whose columns are already indices).
    """

    name = "spark-als"

    def __init__(
        self,
        rank: int = 32,
        reg_param: float = 1.0,
        alpha: float = 10.0,
        max_iter: int = 15,
        seed: int = 0,
        master: str | None = None,
    ) -> None:
        super().__init__()
        if rank < 1 or max_iter < 1 or reg_param < 0 or alpha <= 0:
            raise RecommendError(
                "spark-als needs rank ≥ 1, max_iter ≥ 1, reg_param ≥ 0 and alpha > 0"
            )
        self.rank, self.reg_param, self.alpha = int(rank), float(reg_param), float(alpha)
        self.max_iter, self.seed = int(max_iter), int(seed)
        self.master = master or default_master()
        self.item_ids: tuple[str, ...] | None = None

    @property
    def params(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "reg_param": self.reg_param,
            "alpha": self.alpha,
            "max_iter": self.max_iter,
            "seed": self.seed,
            "master": self.master,
        }

    # -- training ------------------------------------------------------------------------
    def fit(self, X: sp.csr_matrix) -> SparkALS:
        """Learn from a users × items matrix shipped to Spark; returns self (typed as SparkALS)."""
        super().fit(X)
        return self

    def _fit(self, X: sp.csr_matrix) -> None:
        n_users, n_items = X.shape
        if max(n_users, n_items) > INT32_MAX:
            raise RecommendError(
                "spark-als needs fewer than 2³¹ users and items (Spark ids are int32)"
            )
        spark = spark_session(self.master)
        coo = X.tocoo()
        users, items = coo.row.astype(np.int32), coo.col.astype(np.int32)
        # A local master shares this disk: the temp Parquet file lives until the fit is done.
        local = _is_local(spark.sparkContext.master or "")
        with tempfile.TemporaryDirectory(prefix="soundstage-spark-") as tmp:
            ratings = _ratings_frame(spark, users, items, Path(tmp) if local else None)
            self.Y = _item_factors(self._train(ratings), n_items, self.rank)
        self.item_ids = None

    def fit_path(
        self,
        path: str | Path,
        *,
        fmt: Literal["csv", "parquet"] | None = None,
        user: str = "user_id",
        item: str = "item_id",
        value: str = "value",
        delimiter: str | None = None,
        min_value: float | None = None,
    ) -> SparkALS:
        """Fit from an interaction log that Spark reads itself (CSV with a header, or Parquet).

        Any path Spark understands works (hdfs://, s3a://, a folder of part files); the format
        follows a .parquet/.pq suffix unless `fmt` says. Events whose `value` is below
        `min_value` are dropped when both are given, rows with an empty id are skipped, and a
        repeated (user, item) pair counts once, as in `fit`. Item indices follow `read_csv`'s
        order (numeric when every id is an integer, else lexicographic) and the ids are kept
        in `item_ids`, so a matrix built by `read_csv` from the same log scores unchanged.
        """
        spark = spark_session(self.master)
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException

        try:
            item_ids, ratings, cached = _indexed_log(
                spark, str(path), fmt, user, item, value, delimiter, min_value
            )
            try:
                self.Y = _item_factors(self._train(ratings), len(item_ids), self.rank)
            finally:
                cached.unpersist()
        except (PySparkException, Py4JJavaError) as exc:
            raise RecommendError(
                f"{path}: Spark could not use the log: {_first_line(exc)}"
            ) from exc
        self.n_items = len(item_ids)
        self.item_ids = item_ids
        return self

    def _train(self, ratings: DataFrame) -> ALSModel:
        """Fit Spark's implicit ALS on (user int, item int, rating float) rows."""
        from pyspark.ml.recommendation import ALS as SparkMLALS

        als = SparkMLALS(
            rank=self.rank,
            maxIter=self.max_iter,
            regParam=self.reg_param,
            alpha=self.alpha,
            implicitPrefs=True,
            seed=self.seed,
            userCol="user",
            itemCol="item",
            ratingCol="rating",
        )
        with quiet_pandas_check():
            return als.fit(ratings)

    # -- scoring and persistence -------------------------------------------------------------
    def _scores(self, rows: sp.csr_matrix) -> np.ndarray:
        """Fold each user in with Spark's implicit update (see the module docstring)."""
        return self.fold_in(rows) @ factor_gram(self, self.Y)[0].T

    def fold_in(self, rows: sp.csr_matrix) -> np.ndarray:
        """User factors (len(rows), rank) for binary item rows; zeros for an empty row."""
        self._require_fitted()
        Y, gram = factor_gram(self, self.Y)
        return fold_in_users(
            Y,
            gram,
            sp.csr_matrix(rows),
            extra=self.alpha,
            target=1.0 + self.alpha,
            reg_per_event=self.reg_param,
        )

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays = {"item_factors": self.Y}
        if self.item_ids is not None:
            arrays["item_ids"] = np.array(self.item_ids, dtype=np.str_)
        return arrays

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.Y = arrays["item_factors"]
        ids = arrays.get("item_ids")
        self.item_ids = None if ids is None else tuple(str(x) for x in ids.tolist())


def _item_factors(model: ALSModel, n_items: int, rank: int) -> np.ndarray:
    """Dense float32 (n_items, rank) factors; items Spark never saw keep zero vectors."""
    Y = np.zeros((n_items, rank), dtype=np.float32)
    with quiet_pandas_check():
        for row in model.itemFactors.toLocalIterator():
            Y[int(row["id"])] = row["features"]
    return Y


# -- getting rows into Spark ------------------------------------------------------------------


def _ratings_frame(
    spark: SparkSession, users: np.ndarray, items: np.ndarray, folder: Path | None = None
) -> DataFrame:
    """(user int, item int, rating float 1.0) rows as a DataFrame, without pandas.

    With a `folder` on a disk the executors share (local masters) the rows go to a Parquet file
    written by pyarrow, which Spark scans in parallel. Otherwise they travel inside the query
    plan (a pyarrow table, or Python tuples without pyarrow): fine for moderate matrices on any
    master, while logs too big for the driver belong in `fit_path`.
    """
    ones = np.ones(len(users), dtype=np.float32)
    with quiet_pandas_check():
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            rows = list(zip(users.tolist(), items.tolist(), ones.tolist(), strict=True))
            return spark.createDataFrame(rows, "user int, item int, rating float")
        table = pa.table(
            {
                "user": pa.array(users, pa.int32()),
                "item": pa.array(items, pa.int32()),
                "rating": pa.array(ones, pa.float32()),
            }
        )
        if folder is None:
            return spark.createDataFrame(table)
        target = folder / "ratings.parquet"
        pq.write_table(table, target)
        return spark.read.parquet(str(target))


def _indexed_log(
    spark: SparkSession,
    path: str,
    fmt: Literal["csv", "parquet"] | None,
    user: str,
    item: str,
    value: str,
    delimiter: str | None,
    min_value: float | None,
) -> tuple[tuple[str, ...], DataFrame, DataFrame]:
    """Item ids in index order, (user, item, rating) rows, and the cached frame to unpersist."""
    from pyspark.ml.feature import StringIndexer
    from pyspark.sql import functions as F
    from pyspark.storagelevel import StorageLevel

    raw = _read_log(spark, path, fmt, delimiter)
    for required in (user, item):
        if required not in raw.columns:
            raise RecommendError(
                f"{path}: missing column {required!r} (columns: {','.join(raw.columns)})"
            )
    if min_value is not None and value in raw.columns:
        raw = raw.where(F.col(value).cast("double") >= min_value)
    pairs = (
        raw.select(_clean_id(F.col(user)).alias("user_id"), _clean_id(F.col(item)).alias("item_id"))
        .where((F.length("user_id") > 0) & (F.length("item_id") > 0))
        .distinct()
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    # The catalogue (not the log) comes to the driver, to fix read_csv's item order.
    with quiet_pandas_check():
        found = [str(r[0]) for r in pairs.select("item_id").distinct().collect()]
    if not found:
        pairs.unpersist()
        raise RecommendError(f"{path}: no interactions (no data rows left)")
    if len(found) > INT32_MAX:
        pairs.unpersist()
        raise RecommendError(f"{path}: spark-als needs fewer than 2³¹ items")
    item_ids = tuple(sort_key(found))
    with quiet_pandas_check():
        index = spark.createDataFrame(
            list(zip(item_ids, range(len(item_ids)), strict=True)), "item_id string, item int"
        )
        # Users never leave Spark: StringIndexer numbers them; their order does not matter.
        indexer = StringIndexer(
            inputCol="user_id", outputCol="user_ix", stringOrderType="alphabetAsc"
        )
        indexed = indexer.fit(pairs).transform(pairs)
    ratings = indexed.join(F.broadcast(index), on="item_id").select(
        F.col("user_ix").cast("int").alias("user"),
        F.col("item"),
        F.lit(1.0).cast("float").alias("rating"),
    )
    return item_ids, ratings, pairs


def _sniff_delimiter(path: str) -> str:
    """Tab when a local file's first line has one (as `read_csv` decides), else comma."""
    local = Path(path)
    if local.is_file():
        with open(local, encoding="utf-8", errors="replace", newline="") as handle:
            return "\t" if "\t" in handle.readline() else ","
    return ","


def _read_log(
    spark: SparkSession, path: str, fmt: Literal["csv", "parquet"] | None, delimiter: str | None
) -> DataFrame:
    """The log as a DataFrame of strings (CSV) or its own types (Parquet); headers cleaned."""
    if fmt is None:
        fmt = "parquet" if re.search(r"\.(parquet|pq)/?$", path) else "csv"
    if fmt not in ("csv", "parquet"):
        raise RecommendError(f"unknown log format {fmt!r}; use csv or parquet")
    if "://" not in path and not Path(path).exists():
        raise RecommendError(f"{path}: no such file")
    reader = spark.read
    if fmt == "parquet":
        df = reader.parquet(path)
    else:
        sep = delimiter or _sniff_delimiter(path)
        df = reader.options(header=True, sep=sep, inferSchema=False, mode="FAILFAST").csv(path)
    # read_csv strips a UTF-8 byte-order mark and spaces from header names; so do we.
    return df.toDF(*[c.strip().lstrip("\ufeff") for c in df.columns])


def _clean_id(col: Column) -> Column:
    """Ids as strings without surrounding whitespace, as `read_csv`'s str.strip() leaves them."""
    from pyspark.sql import functions as F

    return F.regexp_replace(col.cast("string"), r"^\s+|\s+$", "")
