"""NDCG@10 by user gender and age group on ML-100k (notes/recommend.md §4, Ekstrand et al. 2018).

Why: a model that wins on the mean can still serve some users worse. Same protocol as
rec_ml100k.py (ratings ≥ 4, per-user 20% holdout, seed 0, full ranking), whose loader and
split it reuses; matrix rows are the sorted ids of users with a positive, which is how
`load_positives` indexes them, so row r is u.user's user `user_ids[r]`. Prints markdown.

    .venv/bin/python benchmarks/rec_fairness_ml100k.py [path/to/ml-100k]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from rec_ml100k import holdout, load_positives

from soundstage.recommend.fairness import AGE_BUCKETS, age_group, group_metrics, user_groups
from soundstage.recommend.models import make

DEFAULT = Path("/work/shared/data/rec/ml-100k")
MODELS: list[tuple[str, str, dict[str, float]]] = [
    ("most-popular", "popular", {}),
    ("RP3β", "rp3beta", {"alpha": 0.5, "beta": 0.5, "k": 200}),
    ("EASE λ=500", "ease", {"lam": 500.0}),
    ("ALS", "als", {}),
]


def user_attributes(folder: Path) -> dict[str, dict[str, str]]:
    """u.user: id | age | gender | occupation | zip."""
    out = {}
    for line in (folder / "u.user").read_text(encoding="latin-1").splitlines():
        uid, age, gender, occupation, _ = line.split("|")
        out[uid] = {"age": age, "gender": gender, "occupation": occupation}
    return out


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    t0 = time.perf_counter()
    X = load_positives(folder / "u.data")
    raw = np.loadtxt(folder / "u.data", dtype=np.int64, usecols=(0, 2))
    user_ids = tuple(str(u) for u in np.unique(raw[raw[:, 1] >= 4, 0]))  # = load_positives rows
    assert len(user_ids) == X.shape[0]
    attrs = user_attributes(folder)
    by = {
        "gender": user_groups(user_ids, attrs, "gender"),
        "age": user_groups(user_ids, attrs, "age", bucket=age_group),
    }
    train, test = holdout(X, 0)
    labels = {"gender": ["F", "M"], "age": [label for _, label in AGE_BUCKETS]}
    head = ["model", "all"] + [f"{g}" for g in labels["gender"]] + ["gap (max−min)", "min/max"]
    head += labels["age"] + ["gap (max−min)", "min/max"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    counts: dict[str, dict[str, int]] = {}
    for label, name, params in MODELS:
        model = make(name, **params).fit(train)
        cells = [label]
        for attr in ("gender", "age"):
            res = group_metrics(model, train, test, by[attr], k=10)
            if attr == "gender":
                cells.append(f"{res.overall['ndcg@10']:.4f}")
            cells += [f"{res.by_group[g]['ndcg@10']:.4f}" for g in labels[attr]]
            cells += [f"{res.difference['ndcg@10']:.4f}", f"{res.ratio['ndcg@10']:.3f}"]
            counts[attr] = {g: int(res.by_group[g]["users"]) for g in labels[attr]}
        lines.append("| " + " | ".join(cells) + " |")
    print("NDCG@10 by user group, ML-100k holdout seed 0 (ratings ≥ 4, full ranking)\n")
    print("\n".join(lines))
    users = ", ".join(f"{g} {n}" for attr in ("gender", "age") for g, n in counts[attr].items())
    print(f"\nusers per group: {users}; total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
