"""Reproduce notes/recommend.md §3.2 (ML-100k holdout) for the built-in recommenders.

Why a standalone script: it reads u.data with numpy and splits it itself, so it checks the
models and metrics independently of the data-loading module. Protocol: ratings ≥ 4 are
positives; per user a seeded random 20% of positives (rounded, at least 1) is test; full
ranking excluding train items; seeds 0, 1, 2; mean ± std. Prints a markdown table.

    .venv/bin/python benchmarks/rec_ml100k.py [path/to/u.data]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from soundstage.recommend.metrics import evaluate
from soundstage.recommend.models import make

DEFAULT = Path("/work/shared/data/rec/ml-100k/u.data")
CONFIGS: list[tuple[str, str, dict[str, float]]] = [
    ("most-popular", "popular", {}),
    ("ItemKNN (cosine, K = 400)", "itemknn", {"k": 400}),
    ("RP3β (α 0.5, β 0.5, top-200)", "rp3beta", {"alpha": 0.5, "beta": 0.5, "k": 200}),
    ("EASE (λ = 500)", "ease", {"lam": 500.0}),
    ("implicit ALS (32 f, reg 10, α 1, 15 it.)", "als", {}),
]
COLUMNS = ["ndcg@10", "recall@10", "recall@20", "coverage@10", "arp@10", "fit_s"]


def load_positives(path: Path) -> sp.csr_matrix:
    """Users × items binary matrix of ratings ≥ 4, ids re-indexed densely."""
    raw = np.loadtxt(path, dtype=np.int64, usecols=(0, 1, 2))
    pos = raw[raw[:, 2] >= 4]
    _, users = np.unique(pos[:, 0], return_inverse=True)
    _, items = np.unique(pos[:, 1], return_inverse=True)
    data = np.ones(len(pos))
    return sp.csr_matrix((data, (users, items)), shape=(users.max() + 1, items.max() + 1))


def holdout(X: sp.csr_matrix, seed: int, share: float = 0.2) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Per user: a random `share` of positives (≥ 1) to test, the rest to train."""
    rng = np.random.default_rng(seed)
    test_mask = np.zeros(X.nnz, dtype=bool)
    for u in range(X.shape[0]):
        lo, hi = X.indptr[u], X.indptr[u + 1]
        n_test = max(1, int(np.round(share * (hi - lo)))) if hi > lo else 0
        test_mask[lo + rng.permutation(hi - lo)[:n_test]] = True
    coo = X.tocoo()
    return _subset(coo, ~test_mask), _subset(coo, test_mask)


def _subset(coo: sp.coo_matrix, mask: np.ndarray) -> sp.csr_matrix:
    return sp.csr_matrix((coo.data[mask], (coo.row[mask], coo.col[mask])), shape=coo.shape)


def run(path: Path, seeds: tuple[int, ...] = (0, 1, 2)) -> dict[str, list[dict[str, float]]]:
    X = load_positives(path)
    rows: dict[str, list[dict[str, float]]] = {label: [] for label, _, _ in CONFIGS}
    for seed in seeds:
        train, test = holdout(X, seed)
        for label, name, params in CONFIGS:
            t0 = time.perf_counter()
            model = make(name, **params).fit(train)
            fit_s = time.perf_counter() - t0
            res = evaluate(model, train, test, k=10)
            res["fit_s"] = fit_s
            rows[label].append(res)
    return rows


def markdown(rows: dict[str, list[dict[str, float]]]) -> str:
    head = "| model | NDCG@10 | R@10 | R@20 | Cov@10 | ARP@10 | fit s |"
    lines = [head, "|---|---|---|---|---|---|---|"]
    for label, results in rows.items():
        cells = []
        for col in COLUMNS:
            vals = np.array([r[col] for r in results])
            digits = 1 if col == "arp@10" else 2 if col == "fit_s" else 4
            cells.append(f"{vals.mean():.{digits}f} ± {vals.std():.{digits}f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    t0 = time.perf_counter()
    print(markdown(run(path)))
    print(f"\n3 seeds, total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
