"""May we train on this source? The rule of `soundstage.datasets` (see its docstring), as code.

`verdict` is the pure decision for one entry, its opt-out record and a purpose; the `check_*`
functions are what trainers call and raise `TrainingRefused` naming the dataset and the reason.
Trainers check at the start of a run, so a refused run writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from soundstage.datasets.optouts import OptOut, optouts_path, read_optouts
from soundstage.datasets.registry import (
    UNKNOWN_LICENCE,
    DatasetError,
    Entry,
    dataset_for_path,
    get_entry,
)
from soundstage.settings import Settings, load_settings

Purpose = Literal["research", "ship"]
PURPOSES: tuple[Purpose, ...] = ("research", "ship")
WHAT = {"research": "research training", "ship": "weights that ship"}


class TrainingRefused(DatasetError):
    """A trainer asked for a source that is opted out or whose licence forbids the use."""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str


def verdict(entry: Entry, optout: OptOut | None, purpose: Purpose) -> Verdict:
    """Whether `entry` may train weights for `purpose`, and why (or why not)."""
    if optout is not None:
        return Verdict(False, f"opted out on {optout.day} by {optout.by}: {optout.reason}")
    if entry.optout_status == "opted-out":
        return Verdict(False, f"opted out in its registry file: {entry.optout_upstream}")
    perms, licence = entry.permissions, entry.licence
    if licence == UNKNOWN_LICENCE:
        return Verdict(False, "licence unknown: not allowed until it is known")
    if not perms.training:
        return Verdict(False, f"licence {licence} does not allow training")
    if purpose == "research":
        return Verdict(True, f"licence {licence} allows research training")
    if not perms.commercial:
        return Verdict(
            False,
            f"licence {licence} does not allow commercial use, and shipped weights are "
            "Apache-2.0 (research training only)",
        )
    if perms.share_alike:
        return Verdict(
            False,
            f"licence {licence} is share-alike/copyleft: weights trained on it cannot ship "
            "under Apache-2.0 (research training only)",
        )
    cite = " with attribution in the model card" if perms.attribution else ""
    return Verdict(True, f"licence {licence} allows shipped weights{cite}")


def check_training_use(dataset_id: str, settings: Settings, *, purpose: Purpose = "ship") -> None:
    """Raise `TrainingRefused` unless `dataset_id` (an id or alias) may train for `purpose`.

    An unregistered name is refused too (`UnknownDataset`): its licence is unknown.
    """
    entry = get_entry(dataset_id)
    result = verdict(entry, read_optouts(settings).get(entry.id), purpose)
    if not result.allowed:
        where = f" (opt-outs: {optouts_path(settings)})" if "opted out on" in result.reason else ""
        raise TrainingRefused(
            f"cannot use dataset {entry.id!r} for {WHAT[purpose]}: {result.reason}{where}"
        )


def check_sources(
    names: Iterable[str], settings: Settings | None = None, *, purpose: Purpose = "ship"
) -> None:
    """`check_training_use` for each of a trainer's sources (settings: the environment's)."""
    settings = settings or load_settings()
    for name in dict.fromkeys(names):
        check_training_use(name, settings, purpose=purpose)


def check_path_use(
    path: Path, settings: Settings | None = None, *, purpose: Purpose = "research"
) -> Entry | None:
    """Check a data path that may be a registered dataset (a MovieLens folder); unregistered
    paths (a studio's own logs) pass. Returns the entry matched, if any."""
    entry = dataset_for_path(path)
    if entry is not None:
        check_training_use(entry.id, settings or load_settings(), purpose=purpose)
    return entry
