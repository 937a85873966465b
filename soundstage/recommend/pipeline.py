"""From a log (and optional catalog) to a fitted model: the one path `train` and `eval` share.

Why one function: the CLI's `train`, `eval` and the benchmarks must build a model the same way
(same item order, same embeddings, same tuning), or a number measured by `eval` would not
describe what `train` ships. Content and hybrid models get item vectors from the catalog;
`tune=True` runs the validation grid search (tune.py) first and refits the winner.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from soundstage.recommend.data import Interactions, Item
from soundstage.recommend.models import MODELS, Recommender, RecommendError, make

Step = Callable[[str, int, int], None]
"""progress(label, done, total): called as work advances (a Rich bar in the CLI)."""


@dataclass
class Built:
    model: Recommender
    fit_s: float
    tuning: dict[str, Any] = field(default_factory=dict)


def with_catalog(log: Interactions, items: Sequence[Item]) -> tuple[sp.csr_matrix, list[str]]:
    """The users × items matrix over log items *plus* catalog items nobody has touched yet.

    Untouched catalog items become empty columns, so content-aware models can recommend them
    from day one; collaborative models simply never rank them high.
    """
    known = set(log.item_ids)
    fresh = sorted({it.id for it in items} - known)
    X = log.matrix()
    if fresh:
        X = sp.hstack([X, sp.csr_matrix((X.shape[0], len(fresh)))], format="csr")
    return X, [*log.item_ids, *fresh]


def needs_items(name: str) -> bool:
    return name in ("content", "hybrid")


def item_vectors(
    items: Sequence[Item], item_ids: Sequence[str], progress: Step | None = None
) -> np.ndarray:
    from soundstage.recommend.content import embed_items, shared_embedder

    report = None if progress is None else (lambda d, t: progress("embedding items", d, t))
    return embed_items(items, item_ids, shared_embedder(), report)


def build(
    name: str,
    X: sp.csr_matrix,
    item_ids: Sequence[str],
    items: Sequence[Item] = (),
    *,
    params: dict[str, Any] | None = None,
    tune: bool = False,
    vectors: np.ndarray | None = None,
    progress: Step | None = None,
) -> Built:
    """Fit model `name` on X (columns = item_ids); tune first when asked."""
    params = dict(params or {})
    if needs_items(name) and vectors is None:
        if not items:
            raise RecommendError(f"the {name} model needs a catalog: give --items FILE")
        vectors = item_vectors(items, item_ids, progress)
    tuning: dict[str, Any] = {}
    if tune:
        from soundstage.recommend.tune import tune as run_tune

        targets = _hybrid_tunables(params) if name == "hybrid" else [name]
        for target in [t for t in targets if t in MODELS]:
            label = f"tuning {target}"
            report = None if progress is None else (lambda d, t, x=label: progress(x, d, t))
            result = run_tune(target, X, progress=report)
            tuning[target] = {
                "metric": result.metric,
                "best_params": result.best_params,
                "validation": round(result.best_score, 4),
                "trials": len(result.trials),
            }
            if name == "hybrid":
                params = _hybrid_with(params, target, result.best_params)
            else:
                params = {**result.best_params, **params}
    if name == "content":
        from soundstage.recommend.content import ContentModel

        model: Recommender = ContentModel(vectors=vectors)
    elif name == "hybrid":
        from soundstage.recommend.hybrid import Hybrid

        model = Hybrid(item_vectors=vectors, **params)
    else:
        model = make(name, **params)
    if progress is not None:
        progress(f"fitting {name}", 0, 1)
    began = time.perf_counter()
    model.fit(X)
    fit_s = time.perf_counter() - began
    if progress is not None:
        progress(f"fitting {name}", 1, 1)
    return Built(model, fit_s, tuning)


def _hybrid_members(params: dict[str, Any]) -> list[dict[str, Any]]:
    from soundstage.recommend.hybrid import DEFAULT_MEMBERS

    return [dict(m) for m in params.get("members", DEFAULT_MEMBERS)]


def _hybrid_tunables(params: dict[str, Any]) -> list[str]:
    return [m["name"] for m in _hybrid_members(params) if m["name"] != "content"]


def _hybrid_with(params: dict[str, Any], target: str, best: dict[str, Any]) -> dict[str, Any]:
    members = _hybrid_members(params)
    for member in members:
        if member["name"] == target:
            member["params"] = dict(best)
    return {**params, "members": members}


@dataclass(frozen=True)
class Published:
    version: str
    model: str
    events: int
    users: int
    items: int
    fit_s: float
    tuning: dict[str, Any]


def train_and_publish(
    log: Interactions,
    catalog: Sequence[Item],
    registry: Any,
    *,
    model: str = "ease",
    min_value: float | None = None,
    tune: bool = False,
    version: str | None = None,
    activate: bool = True,
    source: str = "",
    progress: Step | None = None,
) -> Published:
    """Fit `model` on `log` (+ untouched catalog items) and publish it to `registry`.

    The one training path behind `soundstage recommend train` and the `recommend-train` job.
    """
    from soundstage.recommend.data import to_implicit

    if min_value is not None:
        log = to_implicit(log, min_value=min_value)
    if len(log) == 0:
        raise RecommendError(f"{source or 'log'}: no events to train on (after min_value)")
    X, item_ids = with_catalog(log, catalog)
    built = build(model, X, item_ids, catalog, tune=tune, progress=progress)
    card: dict[str, Any] = {"fit_s": round(built.fit_s, 3), "source": source}
    if min_value is not None:
        card["min_value"] = min_value
    if built.tuning:
        card["tuning"] = built.tuning
    if progress is not None:
        progress("saving", 0, 1)
    name = registry.publish(
        built.model,
        X,
        list(log.user_ids),
        item_ids,
        list(catalog),
        card=card,
        version=version,
        activate=activate,
    )
    if progress is not None:
        progress("saving", 1, 1)
    return Published(name, model, len(log), X.shape[0], X.shape[1], built.fit_s, built.tuning)
