"""User-group fairness: is the recommender as accurate for one group of users as for another?

Ekstrand et al. (FAT* 2018) found NDCG differing by user age and gender on MovieLens; a model
that wins on the mean can still serve a group worse (notes/recommend.md §4). `group_metrics`
computes NDCG@k, Recall@k and HR@k per group with the definitions of `metrics.evaluate`, through
Fairlearn's `MetricFrame`, so its `difference`/`ratio` conventions and any further Fairlearn
analysis apply to the same numbers: y_true is each user's number of test items, y_pred the
relevance row of their top-k list, and the metrics are means over the users of a group.

Users without a group label are dropped (and counted in `missing_users`) unless `missing`
names a group for them: a silent "unknown" group would mix unlike users into one number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from soundstage.recommend.data import UserAttributes
from soundstage.recommend.metrics import Scorer, eval_users, ndcg_at, relevance, top_lists
from soundstage.recommend.models import RecommendError

# Upper bounds (exclusive) and labels. Chosen to match MovieLens-1M's coded age groups
# (1 = under 18, 18, 25, 35, 45, 50, 56) so both datasets bucket alike; ML-100K has ages.
AGE_BUCKETS: tuple[tuple[int | None, str], ...] = (
    (25, "<25"),
    (35, "25-34"),
    (45, "35-44"),
    (None, "45+"),
)

Groups = Mapping[int, str] | Sequence[str | None] | np.ndarray


@dataclass(frozen=True)
class GroupMetrics:
    """Per-group accuracy and the gaps between groups.

    `by_group[label]` holds `users` and each metric; `difference` is max − min over groups and
    `ratio` min / max (1 = parity; NaN when every group scores 0). `overall` is over the grouped
    users only, so it equals `evaluate` when nobody is missing.
    """

    k: int
    by_group: dict[str, dict[str, float]]
    overall: dict[str, float]
    difference: dict[str, float]
    ratio: dict[str, float]
    missing_users: int
    frame: Any = field(repr=False, compare=False)  # the fairlearn MetricFrame

    @property
    def metrics(self) -> tuple[str, ...]:
        return (f"ndcg@{self.k}", f"recall@{self.k}", f"hr@{self.k}")

    def table(self) -> str:
        """Markdown: one row per group, then overall, max − min and min / max."""
        names = self.metrics
        lines = [
            "| group | users | " + " | ".join(names) + " |",
            "|---|---|" + "---|" * len(names),
        ]
        for label, row in self.by_group.items():
            cells = " | ".join(f"{row[m]:.4f}" for m in names)
            lines.append(f"| {label} | {int(row['users'])} | {cells} |")
        n = sum(int(row["users"]) for row in self.by_group.values())
        lines.append(f"| all | {n} | " + " | ".join(f"{self.overall[m]:.4f}" for m in names) + " |")
        lines.append(
            "| max − min | | " + " | ".join(f"{self.difference[m]:.4f}" for m in names) + " |"
        )
        lines.append("| min / max | | " + " | ".join(f"{self.ratio[m]:.3f}" for m in names) + " |")
        return "\n".join(lines)


def group_metrics(
    model_or_lists: Scorer | np.ndarray,
    train: sp.csr_matrix,
    test: sp.csr_matrix,
    groups: Groups,
    *,
    k: int = 10,
    missing: str | None = None,
    batch: int = 256,
) -> GroupMetrics:
    """NDCG@k, Recall@k and HR@k per user group, with max − min and min / max across groups.

    `model_or_lists` is a fitted model (ranked like `evaluate`: full ranking, train items
    excluded) or precomputed top lists, one row per user index, -1 for empty slots.
    `groups` maps a user index to a label (a mapping, or a sequence with None for unknown).
    Only users with test items are evaluated.
    """
    try:
        from fairlearn.metrics import MetricFrame, count
    except ImportError:
        raise RecommendError(
            "group metrics need fairlearn: pip install 'soundstage[recommend]'"
        ) from None

    train, test = sp.csr_matrix(train), sp.csr_matrix(test)
    if train.shape != test.shape:
        raise RecommendError(f"train {train.shape} and test {test.shape} shapes differ")
    if k <= 0:
        raise RecommendError(f"k must be positive, got {k}")
    users = eval_users(test)
    labels = _labels(groups, users, test.shape[0], missing)
    known = np.array([label is not None for label in labels], dtype=bool)
    n_missing = int((~known).sum())
    users, labels = users[known], labels[known].astype(str)
    if len(users) == 0:
        raise RecommendError("no user with test items has a group; nothing to compare")
    lists = _lists(model_or_lists, train, users, k, batch)
    rel = relevance(lists, test, users)
    n_true = np.diff(test.indptr)[users]

    def ndcg(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float(
            ndcg_at(np.asarray(y_pred, dtype=bool), np.asarray(y_true, dtype=np.int64), k).mean()
        )

    def recall(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float((np.asarray(y_pred).sum(axis=1) / np.asarray(y_true)).mean())

    def hit_rate(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float((np.asarray(y_pred).sum(axis=1) > 0).mean())

    funcs: dict[str, Callable[..., float]] = {
        f"ndcg@{k}": ndcg,
        f"recall@{k}": recall,
        f"hr@{k}": hit_rate,
    }
    frame = MetricFrame(
        metrics={**funcs, "users": count},
        y_true=n_true,
        y_pred=rel,
        sensitive_features={"group": labels},
    )
    by_group_df = frame.by_group
    by_group = {
        str(label): {name: float(by_group_df.loc[label, name]) for name in ("users", *funcs)}
        for label in sorted(by_group_df.index)
    }
    difference = frame.difference(method="between_groups")
    ratio = frame.ratio(method="between_groups")
    return GroupMetrics(
        k=k,
        by_group=by_group,
        overall={name: float(frame.overall[name]) for name in ("users", *funcs)},
        difference={name: float(difference[name]) for name in funcs},
        ratio={name: float(ratio[name]) for name in funcs},
        missing_users=n_missing,
        frame=frame,
    )


def age_group(age: int | str) -> str:
    """Bucket an age (years, or an ML-1M age code) into `AGE_BUCKETS`: <25, 25-34, 35-44, 45+."""
    try:
        years = int(str(age).strip())
    except ValueError:
        raise RecommendError(f"age {age!r} is not a whole number of years") from None
    if years < 0:
        raise RecommendError(f"age {age!r} is negative")
    for upper, label in AGE_BUCKETS:
        if upper is None or years < upper:
            return label
    raise AssertionError("the last bucket is open")  # pragma: no cover


def user_groups(
    user_ids: Sequence[str],
    users: UserAttributes,
    attribute: str,
    *,
    bucket: Callable[[str], str] | None = None,
) -> dict[int, str]:
    """User index → group label from user attributes (e.g. ML-100K's `u.user`).

    `user_ids` is the interactions' id space (`Interactions.user_ids`), so indices line up
    with the matrix rows. Users without the attribute are left out; `bucket` maps a raw
    value to a label (e.g. `age_group`).
    """
    out: dict[int, str] = {}
    for index, user_id in enumerate(user_ids):
        value = users.get(user_id, {}).get(attribute)
        if value is None or value == "":
            continue
        out[index] = bucket(value) if bucket else value
    return out


def _labels(groups: Groups, users: np.ndarray, n_users: int, missing: str | None) -> np.ndarray:
    """Object array of labels (None = missing) for `users`."""
    if isinstance(groups, Mapping):
        raw = [groups.get(int(u)) for u in users]
    else:
        seq = list(groups)
        if len(seq) != n_users:
            raise RecommendError(f"groups has {len(seq)} labels for {n_users} users")
        raw = [seq[int(u)] for u in users]
    out = np.empty(len(users), dtype=object)
    for pos, label in enumerate(raw):
        is_missing = label is None or (isinstance(label, float) and np.isnan(label))
        out[pos] = missing if is_missing else str(label)
    return out


def _lists(
    model_or_lists: Scorer | np.ndarray, train: sp.csr_matrix, users: np.ndarray, k: int, batch: int
) -> np.ndarray:
    if not isinstance(model_or_lists, np.ndarray):
        return top_lists(model_or_lists, train, users, k, batch)
    lists = model_or_lists
    if lists.ndim != 2 or lists.shape[0] != train.shape[0]:
        raise RecommendError(
            f"top lists must have one row per user ({train.shape[0]}), got shape {lists.shape}"
        )
    if lists.shape[1] < min(k, train.shape[1]):
        raise RecommendError(f"top lists have {lists.shape[1]} columns, fewer than k = {k}")
    return np.asarray(lists[users, :k], dtype=np.int64)


__all__ = ["AGE_BUCKETS", "GroupMetrics", "age_group", "group_metrics", "user_groups"]
