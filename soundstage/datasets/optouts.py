"""Opt-out records of one installation: `DATA_DIR/datasets/optouts.json`.

    {"version": 1,
     "optouts": {"olid": {"by": "alice", "at": "2026-12-07T10:00:00+00:00", "reason": "…"}},
     "history": [{"action": "optout", "dataset": "olid", "by": …, "at": …, "reason": …}, …]}

`optouts` is the current state that training checks; `history` keeps every opt-out and
withdrawal, so a withdrawn opt-out stays on record. Writes take an exclusive lock on a lock
file beside it (two shells recording at once both land) and replace the file atomically, so a
crash leaves the old file, never half of one.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from soundstage.datasets.registry import DatasetError, get_entry
from soundstage.fileio import write_bytes_atomic
from soundstage.settings import Settings, ensure_data_dir

FILE = "optouts.json"


@dataclass(frozen=True)
class OptOut:
    """Who opted a dataset out, when (ISO 8601, UTC) and why."""

    dataset: str
    by: str
    at: str
    reason: str

    @property
    def day(self) -> str:
        return self.at[:10]


def optouts_path(settings: Settings) -> Path:
    return settings.data_dir / "datasets" / FILE


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"version": 1, "optouts": {}, "history": []}
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read opt-outs {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("optouts"), dict):
        raise DatasetError(f"cannot read opt-outs {path}: no 'optouts' object")
    data.setdefault("history", [])
    return data


def read_optouts(settings: Settings) -> dict[str, OptOut]:
    """The datasets opted out in this installation, by registry id."""
    raw = _load(optouts_path(settings))["optouts"]
    try:
        return {k: OptOut(dataset=k, **v) for k, v in raw.items()}
    except TypeError:
        raise DatasetError(f"cannot read opt-outs {optouts_path(settings)}: bad record") from None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the file's contents under an exclusive lock; write them back when the block ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(FILE + ".lock"), "a") as lock:
        try:
            import fcntl

            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        except ImportError:  # Windows: no advisory lock; the write is still atomic
            pass
        data = _load(path)
        yield data
        text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
        write_bytes_atomic(path, text.encode("utf-8"))


def _who(by: str | None) -> str:
    if by and by.strip():
        return by.strip()
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return os.environ.get("USER", "unknown")


def record_optout(
    settings: Settings,
    name: str,
    reason: str,
    *,
    by: str | None = None,
    now: datetime | None = None,
) -> OptOut:
    """Opt a registry entry out of training in this installation (replaces an earlier record)."""
    entry = get_entry(name)
    if not reason.strip():
        raise DatasetError("an opt-out needs a reason (--reason TEXT)")
    ensure_data_dir(settings)
    at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    record = OptOut(dataset=entry.id, by=_who(by), at=at, reason=reason.strip())
    with _locked(optouts_path(settings)) as data:
        fields = {k: v for k, v in asdict(record).items() if k != "dataset"}
        data["optouts"][entry.id] = fields
        data["history"].append({"action": "optout", "dataset": entry.id, **fields})
    return record


def withdraw_optout(settings: Settings, name: str, *, by: str | None = None) -> OptOut:
    """Remove this installation's opt-out of an entry; returns the record that was removed."""
    entry = get_entry(name)
    current = read_optouts(settings).get(entry.id)
    if current is None:
        raise DatasetError(f"dataset {entry.id!r} is not opted out in {optouts_path(settings)}")
    at = datetime.now(UTC).isoformat(timespec="seconds")
    with _locked(optouts_path(settings)) as data:
        data["optouts"].pop(entry.id, None)
        data["history"].append(
            {"action": "withdraw", "dataset": entry.id, "by": _who(by), "at": at, "reason": ""}
        )
    return current
