"""Answering "what should this user see next?" from a loaded model version.

One function, `recommend_for`, serves the CLI and the web API, so both give the same answer:

- Known user: the model's top-n over the catalogue (optionally one `kind`), seen items removed
  unless asked otherwise, re-ranked for `diversity` with maximal marginal relevance (MMR:
  relevance minus similarity to what is already on the list, Carbonell & Goldstein 1998) or
  for `calibration` (genres in the proportions of the user's history, Steck 2018), each
  with the seen item most similar to it as the explanation ("because you watched X").
- Unknown user (cold start): the most popular items, interleaved with onboarding picks (the
  most popular title of each of the catalogue's biggest genres) so a first screen is not ten
  titles of one genre. They are labelled as such instead of pretending to be personal.
- New titles (no interactions yet) come in through `add_items` when the model has a content
  member: their vectors extend the model and they compete on content similarity.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from soundstage.recommend.calibrate import (
    calibrated_rerank,
    item_genre_weights,
    user_genre_target,
)
from soundstage.recommend.data import Item, genre_matrix
from soundstage.recommend.events import SYNC_SECONDS, EventLog
from soundstage.recommend.models import RecommendError
from soundstage.recommend.registry import Bundle, Registry

MAX_N = 1000
VERBS = {"movie": "watched", "show": "watched", "episode": "watched", "song": "listened to"}


@dataclass(frozen=True)
class Because:
    item_id: str
    title: str


@dataclass(frozen=True)
class Pick:
    item_id: str
    title: str
    kind: str
    score: float
    reason: str  # "personal", "popular" or "onboarding"
    explanation: str
    because: list[Because] = field(default_factory=list)


@dataclass(frozen=True)
class Answer:
    user_id: str
    version: str
    model: str
    cold_start: bool
    items: list[Pick]

    def as_dict(self) -> dict[str, Any]:
        # By hand: dataclasses.asdict deep-copies every field, a third of a request's time.
        return {
            "user_id": self.user_id,
            "version": self.version,
            "model": self.model,
            "cold_start": self.cold_start,
            "items": [
                {
                    "item_id": p.item_id,
                    "title": p.title,
                    "kind": p.kind,
                    "score": p.score,
                    "reason": p.reason,
                    "explanation": p.explanation,
                    "because": [{"item_id": b.item_id, "title": b.title} for b in p.because],
                }
                for p in self.items
            ],
        }


def check_n(n: int) -> int:
    if n <= 0 or n > MAX_N:
        raise RecommendError(f"n must be between 1 and {MAX_N}, got {n}")
    return n


def recommend_for(
    bundle: Bundle,
    user_id: str,
    n: int = 10,
    *,
    kind: str | None = None,
    exclude_seen: bool = True,
    diversity: float = 0.0,
    calibration: float = 0.0,
) -> Answer:
    """Top-n picks with explanations for `user_id` (see the module docstring)."""
    check_n(n)
    for name, value in (("diversity", diversity), ("calibration", calibration)):
        if not 0.0 <= value <= 1.0:
            raise RecommendError(f"{name} must be between 0 and 1, got {value}")
    if diversity and calibration:
        raise RecommendError("diversity and calibration re-rank the same list: choose one")
    allowed = _kind_mask(bundle, kind)
    row = bundle.user_index.get(user_id)
    if row is None or bundle.history[row].nnz == 0:
        return Answer(
            user_id, bundle.version, bundle.model.name, True, _cold(bundle, n, kind, allowed)
        )
    scores = bundle.model.scores(np.array([row]), bundle.history)[0]
    seen = bundle.history[row].indices
    if exclude_seen:
        allowed = allowed.copy()
        allowed[seen] = False
    candidates = np.flatnonzero(allowed)
    pool = candidates[np.argsort(-scores[candidates], kind="stable")[: max(n * 5, 50)]]
    chosen: list[int]
    if diversity:
        chosen = _mmr(bundle.similar, pool, scores[pool], n, diversity)
    elif calibration:
        chosen = _calibrated(bundle, row, pool, scores[pool], n, calibration)
    else:
        chosen = [int(i) for i in pool[:n]]
    # sims[r, s]: similarity of seen item s to chosen item r, from rows of the transpose.
    inside = [int(i) for i in chosen if i < bundle.similar_to.shape[0]]
    block = bundle.similar_to[inside].toarray()[:, seen] if inside else np.zeros((0, len(seen)))
    sims = dict(zip(inside, block, strict=True))
    picks = [_personal(bundle, int(i), float(scores[i]), seen, sims.get(int(i))) for i in chosen]
    return Answer(user_id, bundle.version, bundle.model.name, False, picks)


def _calibrated(
    bundle: Bundle, row: int, pool: np.ndarray, rel: np.ndarray, n: int, lam: float
) -> list[int]:
    """Steck's calibrated re-ranking of the pool (recommend.calibrate), genres from the
    catalogue; a catalogue without genres leaves the model's order."""
    if ("genres", None) not in bundle.cache:  # items × genres, once per version
        genres = genre_matrix(bundle.catalog.values(), bundle.item_ids)
        bundle.cache[("genres", None)] = item_genre_weights(genres)
    per_item = bundle.cache[("genres", None)]
    # the user's history now (events may have come in since the version was trained)
    target = user_genre_target(bundle.history[row], per_item)
    keep = pool < per_item.shape[0]  # titles added after training have no genre row here
    if per_item.shape[1] == 0 or not keep.any():
        return [int(i) for i in pool[:n]]
    order = calibrated_rerank(pool[keep][None, :], rel[keep][None, :], target, per_item, n, lam)[0]
    return [int(i) for i in order if i >= 0]


def _kind_mask(bundle: Bundle, kind: str | None) -> np.ndarray:
    key = ("kind", kind)
    if key not in bundle.cache:
        bundle.cache[key] = _build_kind_mask(bundle, kind)
    return bundle.cache[key]


def _build_kind_mask(bundle: Bundle, kind: str | None) -> np.ndarray:
    mask = np.ones(len(bundle.item_ids), dtype=bool)
    if kind:
        mask = np.array([_item(bundle, i).kind == kind for i in bundle.item_ids])
        if not mask.any():
            kinds = sorted({_item(bundle, i).kind for i in bundle.item_ids})
            raise RecommendError(f"no items of kind {kind!r} (kinds: {', '.join(kinds)})")
    return mask


def _item(bundle: Bundle, item_id: str) -> Item:
    return bundle.catalog.get(item_id) or Item(id=item_id, title=item_id)


def _personal(
    bundle: Bundle, item: int, score: float, seen: np.ndarray, sims: np.ndarray | None
) -> Pick:
    meta = _item(bundle, bundle.item_ids[item])
    because = []
    if sims is not None and len(seen):
        for j in np.argsort(-sims, kind="stable")[:2]:
            if sims[j] > 0:
                other = _item(bundle, bundle.item_ids[seen[j]])
                because.append(Because(other.id, other.title))
    if because:
        verb = VERBS.get(meta.kind, "liked")
        explanation = f"Because you {verb} {because[0].title}"
    elif item >= bundle.history.shape[1] or bundle.popularity[item] == 0:
        explanation = "New title that matches your taste"
    else:
        explanation = "Recommended for you"
    return Pick(meta.id, meta.title, meta.kind, score, "personal", explanation, because)


def _mmr(
    similar: sp.csr_matrix, pool: np.ndarray, rel: np.ndarray, n: int, diversity: float
) -> list[int]:
    """Greedy MMR: argmax (1−d)·relevance − d·max similarity to the items already chosen."""
    span = rel.max() - rel.min()
    rel = (rel - rel.min()) / span if span > 0 else np.zeros_like(rel)
    size = similar.shape[0]
    inside = pool[pool < size]
    sim = np.zeros((len(pool), len(pool)))
    if len(inside):
        block = similar[inside][:, inside].toarray()
        where = np.flatnonzero(pool < size)
        sim[np.ix_(where, where)] = np.maximum(block, block.T)
    chosen: list[int] = []
    closest = np.zeros(len(pool))
    available = np.ones(len(pool), dtype=bool)
    for _ in range(min(n, len(pool))):
        value = (1 - diversity) * rel - diversity * closest
        value[~available] = -np.inf
        best = int(np.argmax(value))
        chosen.append(best)
        available[best] = False
        closest = np.maximum(closest, sim[best])
    return [int(pool[i]) for i in chosen]


def _cold(bundle: Bundle, n: int, kind: str | None, allowed: np.ndarray) -> list[Pick]:
    """The first n of the cold-start list, built once per version and kind."""
    key = ("cold", kind)
    if key not in bundle.cache:
        bundle.cache[key] = _cold_list(bundle, allowed)
    return bundle.cache[key][:n]


def _cold_list(bundle: Bundle, allowed: np.ndarray) -> list[Pick]:
    """Popular titles interleaved with the top title of each big genre (onboarding)."""
    order = [int(i) for i in np.argsort(-bundle.popularity, kind="stable") if allowed[i]]
    genre_counts: Counter[str] = Counter()
    for i in order:
        genre_counts.update(_item(bundle, bundle.item_ids[i]).genres)
    onboarding: list[tuple[int, str]] = []
    for big, _ in genre_counts.most_common():
        top = next((i for i in order if big in _item(bundle, bundle.item_ids[i]).genres), None)
        if top is not None and top not in (i for i, _ in onboarding):
            onboarding.append((top, big))
    picks: list[Pick] = []
    used: set[int] = set()
    popular = iter(order)
    boarding = iter(onboarding)
    while len(picks) < min(MAX_N, len(order)):
        genre: str | None = None
        if len(picks) % 2:
            genre_pick = next(((i, g) for i, g in boarding if i not in used), None)
            if genre_pick is not None:
                nxt, genre = genre_pick
        if genre is None:
            nxt = next(i for i in popular if i not in used)
        used.add(nxt)
        meta = _item(bundle, bundle.item_ids[nxt])
        if genre is not None:
            reason, text = "onboarding", f"Popular in {genre}: tell us if you like it"
        else:
            reason, text = "popular", "Popular with everyone right now"
        picks.append(
            Pick(meta.id, meta.title, meta.kind, float(bundle.popularity[nxt]), reason, text)
        )
    return picks


def add_items(bundle: Bundle, items: list[Item], vectors: np.ndarray) -> list[str]:
    """Add brand-new titles to a loaded bundle through its content member."""
    fresh = [it for it in items if it.id not in bundle.item_index]
    if not fresh:
        return []
    if not hasattr(bundle.model, "add_items"):
        raise RecommendError(
            f"model {bundle.model.name} cannot take new items; train a hybrid or content model"
        )
    keep = [k for k, it in enumerate(items) if it.id not in bundle.item_index]
    bundle.model.add_items(vectors[keep])
    width = bundle.model.n_items or 0
    extra = width - bundle.history.shape[1]
    bundle.history = sp.hstack(
        [bundle.history, sp.csr_matrix((bundle.history.shape[0], extra))], format="csr"
    )
    for it in fresh:
        bundle.item_index[it.id] = len(bundle.item_ids)
        bundle.item_ids.append(it.id)
        bundle.catalog[it.id] = it
    bundle.popularity = np.concatenate([bundle.popularity, np.zeros(extra)])
    bundle.cache.clear()
    return [it.id for it in fresh]


def record_events(bundle: Bundle, user_id: str, item_ids: list[str]) -> int:
    """Add a user's new positive events to the served history; answers use them at once.

    EASE, ItemKNN, RP3β, ALS (fold-in) and content score from the history row, so a new user
    who has just picked a few onboarding titles gets personal picks on the next request,
    without a refit. Kept in memory for this version: log the events for the next `train`.
    Returns the user's history length.
    """
    if not item_ids:
        raise RecommendError("no items given")
    unknown = [i for i in item_ids if i not in bundle.item_index]
    if unknown:
        raise RecommendError(f"unknown item {unknown[0]!r} (not in the served catalog)")
    row = bundle.user_index.get(user_id)
    if row is None:
        row = len(bundle.user_ids)
        bundle.history = sp.vstack(
            [bundle.history, sp.csr_matrix((1, bundle.history.shape[1]))], format="csr"
        )
        bundle.user_ids.append(user_id)
        bundle.user_index[user_id] = row
    cols = sorted({bundle.item_index[i] for i in item_ids} | set(bundle.history[row].indices))
    new_row = sp.csr_matrix(
        (np.ones(len(cols)), ([0] * len(cols), cols)), shape=(1, bundle.history.shape[1])
    )
    bundle.history = sp.vstack(
        [bundle.history[:row], new_row, bundle.history[row + 1 :]], format="csr"
    )
    return len(cols)


def fold_in(bundle: Bundle, events: dict[str, list[str]]) -> int:
    """Add many users' events to the served history in one rebuild (not one per event);
    items the served catalogue does not know are skipped. How many events were new."""
    new_rows: list[int] = []
    new_cols: list[int] = []
    for user_id, items in events.items():
        cols = {bundle.item_index[i] for i in items if i in bundle.item_index}
        if not cols:
            continue
        row = bundle.user_index.get(user_id)
        if row is None:
            row = len(bundle.user_ids)
            bundle.user_ids.append(user_id)
            bundle.user_index[user_id] = row
        old = set(bundle.history[row].indices) if row < bundle.history.shape[0] else set()
        fresh = sorted(cols - old)  # one entry per user: `events` is keyed by user
        new_rows += [row] * len(fresh)
        new_cols += fresh
    if not new_rows and len(bundle.user_ids) == bundle.history.shape[0]:
        return 0
    base = bundle.history.tocoo()
    bundle.history = sp.csr_matrix(
        (
            np.concatenate([base.data, np.ones(len(new_rows), dtype=base.data.dtype)]),
            (np.concatenate([base.row, new_rows]), np.concatenate([base.col, new_cols])),
        ),
        shape=(len(bundle.user_ids), bundle.history.shape[1]),
    )
    return len(new_rows)


class Served:
    """The active bundle, reloaded when the registry's ACTIVE file changes (thread-safe).

    With an `EventLog`, events posted to any server process are folded into the bundle by
    `sync()` when `sync_due()` (all of them again after a reload: a history is a set)."""

    def __init__(self, registry: Registry, events: EventLog | None = None) -> None:
        self.registry = registry
        self.events = events
        self._lock = threading.Lock()
        self._stamp: tuple[float, int] | None = None
        self._bundle: Bundle | None = None
        self._seen = 0  # the newest event row folded into the bundle
        self._synced = 0.0

    def get(self) -> Bundle:
        try:
            st = self.registry.active_file.stat()
            stamp: tuple[float, int] | None = (st.st_mtime, st.st_size)
        except FileNotFoundError:
            stamp = None
        if self._bundle is None or stamp != self._stamp:
            with self._lock:
                if self._bundle is None or stamp != self._stamp:
                    self._bundle = self.registry.load()
                    self._stamp = stamp
                    self._seen, self._synced = 0, 0.0
        return self._bundle

    def sync_due(self) -> bool:
        """Whether events may be waiting: the last sync is SYNC_SECONDS old (or never ran).
        The caller runs `sync()`, off the event loop: it reads the database."""
        return self.events is not None and time.monotonic() - self._synced > SYNC_SECONDS

    def sync(self) -> int:
        """Fold in the events written since the last sync (by any process); how many."""
        bundle = self._bundle
        if self.events is None or bundle is None:
            return 0
        with self._lock:
            newest, found = self.events.since(self._seen)
            self._seen, self._synced = newest, time.monotonic()
            return fold_in(bundle, found) if found else 0

    def record(self, user_id: str, item_ids: list[str]) -> int:
        """Store a user's events and fold them in now; the user's history length."""
        bundle = self.get()
        unknown = [i for i in item_ids if i not in bundle.item_index]
        if not item_ids:
            raise RecommendError("no items given")
        if unknown:
            raise RecommendError(f"unknown item {unknown[0]!r} (not in the served catalog)")
        if self.events is None:
            return record_events(bundle, user_id, item_ids)
        self.events.append(user_id, item_ids)
        self.sync()
        return int(bundle.history[bundle.user_index[user_id]].nnz)

    def switch(self, version: str) -> Bundle:
        """Make `version` active for every server reading this registry."""
        self.registry.activate(version)
        return self.get()
