"""The recommender results table (docs/benchmarks.md): every model, both protocols, two datasets.

Protocol (notes/recommend.md §3.1): ratings ≥ 4 are positives; `holdout` keeps a seeded 20% of
each user's positives for test (seeds 0, 1, 2; mean ± std of NDCG@10), `loo` holds out each
user's last positive by time. Full ranking over every item, training items excluded. Models are
built by the same `pipeline.build` as `soundstage recommend train|eval`; "tuned" rows search the
tune.py grid on a validation split of the training part only.

`--cold` adds the cold-start check: 10% of items are removed from training entirely, appear as
empty columns, and each user's held-out events on them are ranked among the cold items only.

    .venv/bin/python benchmarks/rec_results.py ml-100k [--protocol holdout|loo] [--seeds 3]
    .venv/bin/python benchmarks/rec_results.py ml-latest-small --seeds 1 --models ease,als
    .venv/bin/python benchmarks/rec_results.py ml-100k --cold
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from soundstage.recommend.data import genre_matrix, read_movielens, to_implicit
from soundstage.recommend.metrics import evaluate
from soundstage.recommend.pipeline import build, item_vectors
from soundstage.recommend.split import holdout, leave_last_out

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "rec"
ROWS: dict[str, tuple[str, dict[str, Any], bool]] = {
    # label: (model, params, tune)
    "most-popular": ("popular", {}, False),
    "ItemKNN (K 400)": ("itemknn", {}, False),
    "RP3β (α .5, β .5)": ("rp3beta", {}, False),
    "EASE (λ 500)": ("ease", {}, False),
    "ALS (32 f, reg 10)": ("als", {}, False),
    "BPR (64 f, lr .003)": ("bpr", {}, False),
    "content (MiniLM)": ("content", {}, False),
    "EASE tuned (λ, dropout)": ("ease", {}, True),
    "ALS tuned": ("als", {}, True),
    "hybrid (default members)": ("hybrid", {}, False),
    "hybrid (tuned DLAE + tuned ALS + content)": ("hybrid", {}, True),
}
COLUMNS = [
    "ndcg@10", "recall@10", "recall@20", "precision@10", "map@10", "hr@10",
    "coverage@10", "gini@10", "arp@10", "aplt@10", "novelty@10", "ild@10",
]  # fmt: skip


def run(dataset: str, protocol: str, seeds: int, labels: list[str]) -> None:
    log, items, _ = read_movielens(DATA / dataset)
    positives = to_implicit(log, min_value=4)
    results: dict[str, list[dict[str, float]]] = {label: [] for label in labels}
    for seed in range(seeds if protocol == "holdout" else 1):
        train, test = (
            holdout(positives, seed=seed) if protocol == "holdout" else (leave_last_out(positives))
        )
        aligned = test.with_index(train.user_ids, train.item_ids).inter
        X, T = train.matrix(), aligned.matrix()
        features = genre_matrix(items, train.item_ids)
        vectors = None
        for label in labels:
            name, params, tune = ROWS[label]
            if name in ("content", "hybrid") and vectors is None:
                began = time.perf_counter()
                vectors = item_vectors(items, train.item_ids)
                print(
                    f"  embedded {len(train.item_ids)} items in {time.perf_counter() - began:.1f} s"
                )
            built = build(name, X, train.item_ids, items, params=params, tune=tune, vectors=vectors)
            metrics = evaluate(built.model, X, T, k=10, item_features=features)
            metrics["fit_s"] = built.fit_s
            results[label].append(metrics)
            extra = "".join(f" {t}: {r['best_params']}" for t, r in built.tuning.items())
            print(f"  seed {seed} {label}: ndcg@10 {metrics['ndcg@10']:.4f}{extra}", flush=True)
    print(f"\n{dataset}, {protocol}, {len(next(iter(results.values())))} seed(s)\n")
    print("| model | " + " | ".join(c.replace("@10", "") for c in COLUMNS) + " | fit s |")
    print("|---|" + "---|" * (len(COLUMNS) + 1))
    for label, runs in results.items():
        cells = []
        for c in [*COLUMNS, "fit_s"]:
            values = np.array([r[c] for r in runs])
            text = f"{values.mean():.4f}" if values.mean() < 10 else f"{values.mean():.1f}"
            if c == "ndcg@10" and len(values) > 1:
                text += f" ± {values.std():.4f}"
            cells.append(text)
        print(f"| {label} | " + " | ".join(cells) + " |")


def cold_start(dataset: str, seed: int = 0, share: float = 0.1) -> None:
    """Rank held-out *new* items (no training events) for each user: content vs chance."""
    log, items, _ = read_movielens(DATA / dataset)
    pos = to_implicit(log, min_value=4)
    X = pos.matrix()
    rng = np.random.default_rng(seed)
    n_items = X.shape[1]
    cold = np.sort(rng.choice(n_items, size=int(share * n_items), replace=False))
    warm_mask = np.ones(n_items, dtype=bool)
    warm_mask[cold] = False
    train = sp.csr_matrix(X.multiply(warm_mask[None, :]))
    test = sp.csr_matrix(X.multiply(~warm_mask[None, :]))
    vectors = item_vectors(items, pos.item_ids)
    scores: dict[str, float] = {}
    for label, name in [("content (MiniLM)", "content"), ("hybrid", "hybrid")]:
        model = build(name, train, pos.item_ids, items, vectors=vectors).model
        scores[label] = _cold_ndcg(model.scores, train, test, cold)
    from soundstage.recommend.content import ContentModel

    genres = ContentModel(vectors=genre_matrix(items, pos.item_ids)).fit(train)
    scores["genre one-hot profile"] = _cold_ndcg(genres.scores, train, test, cold)
    rng2 = np.random.default_rng(seed + 1)
    scores["random"] = _cold_ndcg(lambda u, M: rng2.random((len(u), n_items)), train, test, cold)
    users = int((np.diff(test.indptr) > 0).sum())
    print(
        f"\ncold-start items ({len(cold)} of {n_items} items never seen in training, "
        f"{users} users with events on them): NDCG@10 among cold items"
    )
    for label, value in scores.items():
        print(f"| {label} | {value:.4f} |")


def _cold_ndcg(score_fn: Any, train: sp.csr_matrix, test: sp.csr_matrix, cold: np.ndarray) -> float:
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    users = users[np.diff(train.indptr)[users] > 0]
    total = []
    for start in range(0, len(users), 256):
        batch = users[start : start + 256]
        S = np.asarray(score_fn(batch, train))[:, cold]
        top = np.argsort(-S, axis=1, kind="stable")[:, :10]
        for row, u in enumerate(batch):
            truth = set(test[u].indices)
            gains = [1.0 if cold[j] in truth else 0.0 for j in top[row]]
            dcg = sum(g / np.log2(r + 2) for r, g in enumerate(gains))
            idcg = sum(1 / np.log2(r + 2) for r in range(min(10, len(truth))))
            total.append(dcg / idcg)
    return float(np.mean(total))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=["ml-100k", "ml-latest-small"])
    parser.add_argument("--protocol", choices=["holdout", "loo"], default="holdout")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--models", default="", help="comma-separated model names; NAME-tuned for tuned rows"
    )
    parser.add_argument("--cold", action="store_true", help="only the cold-start item check")
    args = parser.parse_args()
    if args.cold:
        cold_start(args.dataset)
        return
    wanted = set(filter(None, args.models.split(",")))
    labels = [
        label
        for label, (name, _, tune) in ROWS.items()
        if not wanted or (f"{name}-tuned" if tune else name) in wanted
    ]
    run(args.dataset, args.protocol, args.seeds, labels)


if __name__ == "__main__":
    main()
