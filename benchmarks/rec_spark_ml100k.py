"""Spark MLlib ALS on the ML-100k holdout of notes/recommend.md §3 (NDCG@10 0.3022 ± 0.0046).

Why a separate script: Spark needs Java and a ~10 s JVM start, so it stays out of
rec_ml100k.py; the split and the metrics are the same (`load_positives`/`holdout` imported from
there, `evaluate` from soundstage). The SparkSession is started once, before the clock, and
reused for every seed; "fit s" covers shipping the matrix to Spark, the ALS fit and collecting
the item factors, like the note's column. Scoring folds users in with numpy.

    .venv/bin/python benchmarks/rec_spark_ml100k.py [path/to/u.data] [--seeds 0,1,2]
        [--master local[2]]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rec_ml100k import DEFAULT, holdout, load_positives  # noqa: E402

from soundstage.recommend.metrics import evaluate  # noqa: E402
from soundstage.recommend.spark import SparkALS, spark_session  # noqa: E402

COLUMNS = ["ndcg@10", "recall@10", "recall@20", "coverage@10", "arp@10", "fit_s", "score_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated split/ALS seeds")
    parser.add_argument("--master", default="local[2]", help="Spark master (the note: local[2])")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]

    t0 = time.perf_counter()
    spark_session(args.master)
    start_s = time.perf_counter() - t0
    X = load_positives(args.path)
    results = []
    for seed in seeds:
        train, test = holdout(X, seed)
        model = SparkALS(
            rank=32, reg_param=1.0, alpha=10.0, max_iter=15, seed=seed, master=args.master
        )
        t = time.perf_counter()
        model.fit(train)
        fit_s = time.perf_counter() - t
        t = time.perf_counter()
        res = evaluate(model, train, test, k=10)
        res["score_s"] = time.perf_counter() - t
        res["fit_s"] = fit_s
        results.append(res)
        print(
            f"seed {seed}: NDCG@10 {res['ndcg@10']:.4f}  R@20 {res['recall@20']:.4f}  "
            f"Cov@10 {res['coverage@10']:.3f}  fit {fit_s:.1f} s",
            flush=True,
        )
    print("\n| model | NDCG@10 | R@10 | R@20 | Cov@10 | ARP@10 | fit s | eval s |")
    print("|---|---|---|---|---|---|---|---|")
    cells = []
    for col in COLUMNS:
        vals = np.array([r[col] for r in results])
        digits = 1 if col in ("arp@10", "fit_s", "score_s") else 4
        cells.append(f"{vals.mean():.{digits}f} ± {vals.std():.{digits}f}")
    label = f"Spark ALS (rank 32, reg 1.0, α 10, 15 it., {args.master})"
    print(f"| {label} | " + " | ".join(cells) + " |")
    total_s = time.perf_counter() - t0
    print(f"\nseeds {seeds}; SparkSession start {start_s:.1f} s; total {total_s:.1f} s")


if __name__ == "__main__":
    main()
