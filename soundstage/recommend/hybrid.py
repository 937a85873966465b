"""A weighted blend of recommenders: collaborative accuracy plus content for new items.

Why a blend of standardised scores: each model's scores live on its own scale (EASE weights,
ALS dot products, cosines), so each row is z-scored per user before the weighted sum, and the
weights mean "how much this model's opinion counts". Items a collaborative member has never
seen (titles added after it was fitted) get a neutral z-score of 0 from that member, so the
content member alone decides where a new title lands: that is how new titles enter.

Weights are chosen on a validation split (tune.py); the saved form is one model.npz with each
member's arrays under a `m{i}.` prefix and the members' names, params and weights in model.json.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from soundstage.recommend.models import Recommender, RecommendError, make

DEFAULT_MEMBERS: tuple[dict[str, Any], ...] = (
    # DLAE and ALS as tuned on ML-100K validation (docs/benchmarks.md); tune.py re-tunes both.
    {"name": "ease", "params": {"lam": 300.0, "dropout": 0.5}, "weight": 1.0},
    {"name": "als", "params": {"factors": 64, "regularization": 30.0, "alpha": 5.0}, "weight": 1.0},
    {"name": "content", "params": {}, "weight": 0.1},
)


class Hybrid(Recommender):
    """Σ_m w_m · z(scores_m) over member models; members are fitted on the same matrix."""

    name = "hybrid"

    def __init__(
        self,
        members: Sequence[dict[str, Any]] = DEFAULT_MEMBERS,
        item_vectors: np.ndarray | None = None,
        stand_in: float = 0.5,
    ) -> None:
        super().__init__()
        if not members:
            raise RecommendError("hybrid needs at least one member model")
        if not 0.0 <= stand_in <= 1.0:
            raise RecommendError(f"hybrid stand_in must be between 0 and 1, got {stand_in}")
        self.stand_in = float(stand_in)
        self.cold = np.zeros(0, dtype=np.int64)
        self.members: list[dict[str, Any]] = []
        self.models: list[Recommender] = []
        for spec in members:
            if set(spec) - {"name", "params", "weight"} or "name" not in spec:
                raise RecommendError(f"hybrid member must be {{name, params, weight}}, got {spec}")
            name, params = str(spec["name"]), dict(spec.get("params", {}))
            if name == "hybrid":
                raise RecommendError("a hybrid cannot contain another hybrid")
            weight = float(spec.get("weight", 1.0))
            if name == "content":
                from soundstage.recommend.content import ContentModel

                model: Recommender = ContentModel(vectors=item_vectors)
            else:
                model = make(name, **params)
            self.members.append({"name": name, "params": model.params, "weight": weight})
            self.models.append(model)

    @classmethod
    def from_fitted(cls, models: Sequence[Recommender], weights: Sequence[float]) -> Hybrid:
        """Blend already-fitted models (e.g. while tuning weights) without refitting them."""
        if len(models) != len(weights) or not models:
            raise RecommendError("hybrid needs one weight per model")
        sizes = {m._require_fitted() for m in models}
        if len(sizes) != 1:
            raise RecommendError(f"hybrid members disagree on the item count: {sorted(sizes)}")
        hybrid = cls.__new__(cls)
        Recommender.__init__(hybrid)
        hybrid.models = list(models)
        hybrid.members = [
            {"name": m.name, "params": m.params, "weight": float(w)}
            for m, w in zip(models, weights, strict=True)
        ]
        hybrid.n_items = sizes.pop()
        hybrid.stand_in = 0.5
        hybrid.cold = np.zeros(0, dtype=np.int64)
        return hybrid

    @property
    def params(self) -> dict[str, Any]:
        return {"members": self.members, "stand_in": self.stand_in}

    @property
    def weights(self) -> list[float]:
        return [float(m["weight"]) for m in self.members]

    def _fit(self, X: sp.csr_matrix) -> None:
        for model in self.models:
            model.fit(X)
        self.cold = np.flatnonzero(np.diff(sp.csc_matrix(X).indptr) == 0).astype(np.int64)

    def add_items(self, vectors: np.ndarray) -> range:
        """Append new items through the content member (collaborative members score them 0)."""
        content = [m for m in self.models if m.name == "content"]
        if not content:
            raise RecommendError("new items need a content member in the hybrid")
        added = content[0].add_items(vectors)  # type: ignore[attr-defined]
        self.n_items = content[0].n_items
        return added

    def _user_scores(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        """Weighted z-scores; where a collaborative member has no evidence for an item (no
        training events, or added after fitting) the content z-score, times `stand_in`, takes
        its place, so a new title competes on how well its text matches the user's taste."""
        n = self._require_fitted()
        content = next((i for i, m in enumerate(self.models) if m.name == "content"), None)
        content_z = None
        if content is not None:
            content_z = standardise(self.models[content]._user_scores(users, rows))
        total = np.zeros((rows.shape[0], n))
        for i, (model, weight) in enumerate(zip(self.models, self.weights, strict=True)):
            if weight == 0:
                continue
            if i == content and content_z is not None:
                total += weight * content_z
                continue
            width = model._require_fitted()
            z = np.zeros((rows.shape[0], n))
            z[:, :width] = standardise(model._user_scores(users, sp.csr_matrix(rows[:, :width])))
            if content_z is not None:
                unknown = np.concatenate([self.cold, np.arange(width, n)])
                z[:, unknown] = self.stand_in * content_z[:, unknown]
            total += weight * z
        return total

    def _arrays(self) -> dict[str, np.ndarray]:
        members = {
            f"m{i}.{key}": value
            for i, model in enumerate(self.models)
            for key, value in model._arrays().items()
        }
        widths = np.array([m._require_fitted() for m in self.models], dtype=np.int64)
        return {**members, "cold": self.cold, "widths": widths}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.cold = np.asarray(arrays["cold"], dtype=np.int64)
        for i, (model, width) in enumerate(zip(self.models, arrays["widths"], strict=True)):
            prefix = f"m{i}."
            model._set_arrays(
                {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            )
            model.n_items = int(width)  # content may know more items than the others


def standardise(scores: np.ndarray) -> np.ndarray:
    """Per-row z-scores; a constant row becomes all zeros."""
    s = np.asarray(scores, dtype=np.float64)
    centred = s - s.mean(axis=1, keepdims=True)
    std = centred.std(axis=1, keepdims=True)
    return np.divide(centred, std, out=np.zeros_like(centred), where=std > 0)
