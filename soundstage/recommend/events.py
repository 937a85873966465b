"""Viewing events posted to a running recommender, kept in the store.

`POST /recommendations/{user}/events` used to change one process's memory only: lost on
restart, invisible to the other workers. Now each event is a row of `rec_interactions`
(dataset `served-events`, event `like`, value 1) written before the request answers, and
every server process folds in the rows it has not seen, at most every `SYNC_SECONDS`, in
one batch (`fold_in`): a user's next answer from any worker is personal within that time.

The rows are an ordinary interaction log: `recommend train --from-db served-events` style
retraining can read them with the rest (see docs/recommend.md).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Engine, insert, select

from soundstage.store.db import translate_errors
from soundstage.store.schema import RecInteraction

__all__ = ["DATASET", "SYNC_SECONDS", "EventLog"]

DATASET = "served-events"
SYNC_SECONDS = 0.5


class EventLog:
    """Appends events and reads those after a given row id."""

    def __init__(self, engine: Engine, dataset: str = DATASET) -> None:
        self.engine = engine
        self.dataset = dataset

    def append(self, user_id: str, item_ids: Iterable[str]) -> int:
        """Write the events in one transaction; the id of the last row."""
        now = int(time.time())
        rows = [
            {
                "dataset": self.dataset,
                "user_id": user_id,
                "item_id": item,
                "event": "like",
                "value": 1.0,
                "timestamp": now,
            }
            for item in dict.fromkeys(item_ids)
        ]
        with translate_errors(self.engine, "cannot record events in"), self.engine.begin() as c:
            result = c.execute(insert(RecInteraction).returning(RecInteraction.id), rows)
            return max(int(r) for r in result.scalars())

    def since(self, last_id: int) -> tuple[int, dict[str, list[str]]]:
        """Events after row `last_id`, by user, and the newest row id (`last_id` if none)."""
        query = (
            select(RecInteraction.id, RecInteraction.user_id, RecInteraction.item_id)
            .where(RecInteraction.id > last_id, RecInteraction.dataset == self.dataset)
            .order_by(RecInteraction.id)
        )
        found: dict[str, list[str]] = defaultdict(list)
        newest = last_id
        with translate_errors(self.engine, "cannot read events from"), self.engine.connect() as c:
            for row_id, user, item in c.execute(query):
                found[user].append(item)
                newest = max(newest, int(row_id))
        return newest, dict(found)
