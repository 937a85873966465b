"""Train/test splits for offline evaluation (notes/recommend.md §3.1).

Both splits work per user, so every evaluated user has history to learn from and something to
predict; users with a single event stay in train only (nothing could be held out without
leaving them cold). Train and test share the input's id space, so a model's item indices and
the test items line up without re-indexing. Vectorised: a sort groups events by user, and the
rank within the group decides which side an event goes to.
"""

from __future__ import annotations

import numpy as np

from soundstage.recommend.data import Interactions


def holdout(
    inter: Interactions, *, fraction: float = 0.2, seed: int = 0
) -> tuple[Interactions, Interactions]:
    """Per user, a seeded random `fraction` of events (rounded, at least 1) goes to test.

    At least one event always stays in train; users with one event are train only.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    shuffle = np.random.default_rng(seed).random(len(inter))
    order, rank, counts = _ranked(inter, shuffle)
    n_test = np.clip(np.rint(counts * fraction), 1, counts - 1)
    test = np.zeros(len(inter), dtype=bool)
    test[order] = rank < n_test[inter.users[order]]
    return inter.subset(~test), inter.subset(test)


def leave_last_out(inter: Interactions) -> tuple[Interactions, Interactions]:
    """Each user's latest event (ties: the highest item index) is test; the rest is train."""
    order, rank, counts = _ranked(inter, inter.timestamps, inter.items)
    users = inter.users[order]
    last = (rank == counts[users] - 1) & (counts[users] >= 2)
    test = np.zeros(len(inter), dtype=bool)
    test[order] = last
    return inter.subset(~test), inter.subset(test)


def _ranked(inter: Interactions, *keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Event order grouped by user and sorted by `keys` (first key primary), each event's rank
    within its user, and the event count per user index."""
    order = np.lexsort((*reversed(keys), inter.users))
    users = inter.users[order]
    counts = np.bincount(inter.users, minlength=inter.n_users)
    starts = np.cumsum(counts) - counts
    rank = np.arange(len(order)) - starts[users]
    return order, rank, counts
