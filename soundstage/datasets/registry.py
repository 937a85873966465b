"""Read and check the registry files (`registry/*.toml`), one per dataset or pretrained model.

A file is validated when it is read: every required field present with the right type, `id`
equal to the file name, and a licence of `unknown` never marked as allowing training. A broken
file is a `RegistryError` naming the file and the field, so a bad edit fails the tests (which
read every file) rather than a training run.

Names resolve by id or by an entry's `aliases` (the names trainers use for their sources, e.g.
music21's `oneills1850` → `music21_corpus`), so a trainer can pass its own source names.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from soundstage.errors import SoundstageError

REGISTRY_DIR = Path(__file__).resolve().parent / "registry"
MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
KINDS = ("dataset", "model")
OPTOUT_STATUSES = ("none", "opted-out")
UNKNOWN_LICENCE = "unknown"

# field → type; every one is required (an empty string or list says "none").
FIELDS: dict[str, type] = {
    "id": str,
    "kind": str,
    "title": str,
    "domain": str,
    "folder": str,
    "source": str,
    "source_paths": list,
    "commit": str,
    "retrieved": str,
    "licence": str,
    "licence_url": str,
    "licence_note": str,
    "rows": int,
    "unit": str,
    "uses": list,
    "use_note": str,
    "models": list,
    "citation": str,
    "permissions": dict,
    "optout": dict,
}
OPTIONAL: dict[str, type] = {"aliases": list, "version": str}
PERMISSIONS = ("training", "commercial", "redistribution", "attribution", "share_alike")
OPTOUT_FIELDS = ("status", "upstream")


class DatasetError(SoundstageError):
    """A dataset name, registry file or opt-out record is wrong."""


class RegistryError(DatasetError):
    """A registry file is malformed."""


class UnknownDataset(DatasetError):
    """No registry entry has this id or alias."""


@dataclass(frozen=True)
class Permissions:
    """What the licence allows. `training` false also means "licence unknown"."""

    training: bool
    commercial: bool
    redistribution: bool
    attribution: bool
    share_alike: bool


@dataclass(frozen=True)
class Entry:
    """One registry file."""

    id: str
    kind: str
    title: str
    domain: str
    folder: str  # under ../shared/data; "" when the data does not live there
    source: str
    source_paths: tuple[str, ...]
    commit: str
    version: str
    retrieved: str
    licence: str
    licence_url: str
    licence_note: str
    rows: int
    unit: str
    uses: tuple[str, ...]
    use_note: str
    models: tuple[str, ...]
    citation: str
    aliases: tuple[str, ...]
    permissions: Permissions
    optout_status: str
    optout_upstream: str
    file: Path

    def to_dict(self) -> dict[str, Any]:
        data = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        data["file"] = f"soundstage/datasets/registry/{self.file.name}"
        data["optout"] = {
            "status": data.pop("optout_status"),
            "upstream": data.pop("optout_upstream"),
        }
        return data


def _fail(path: Path, what: str) -> RegistryError:
    return RegistryError(f"{path.name}: {what}")


def _typed(path: Path, raw: dict[str, Any], name: str, kind: type, where: str = "") -> Any:
    value: Any = raw[name]
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        raise _fail(path, f"{where}{name} must be {kind.__name__}, not {type(value).__name__}")
    if isinstance(value, list) and not all(isinstance(v, str) for v in value):
        raise _fail(path, f"{where}{name} must be a list of strings")
    return value


def _section(path: Path, raw: dict[str, Any], name: str, keys: tuple[str, ...], kind: type) -> Any:
    section = raw[name]
    missing = [k for k in keys if k not in section]
    if missing:
        raise _fail(path, f"[{name}] lacks {', '.join(missing)}")
    return {k: _typed(path, section, k, kind, f"{name}.") for k in keys}


def parse_entry(path: Path) -> Entry:
    """Read and validate one registry file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _fail(path, f"cannot read: {exc}") from None
    missing = [name for name in FIELDS if name not in raw]
    if missing:
        raise _fail(path, f"missing field(s) {', '.join(missing)}")
    v = {name: _typed(path, raw, name, kind) for name, kind in FIELDS.items()}
    v |= {name: _typed(path, raw, name, kind) for name, kind in OPTIONAL.items() if name in raw}
    perms = Permissions(**_section(path, raw, "permissions", PERMISSIONS, bool))
    optout = _section(path, raw, "optout", OPTOUT_FIELDS, str)
    if v["id"] != path.stem:
        raise _fail(path, f"id {v['id']!r} differs from the file name")
    if v["kind"] not in KINDS:
        raise _fail(path, f"kind must be one of {', '.join(KINDS)}")
    if optout["status"] not in OPTOUT_STATUSES:
        raise _fail(path, f"optout.status must be one of {', '.join(OPTOUT_STATUSES)}")
    if not v["licence"].strip():
        raise _fail(path, f'licence is empty (write "{UNKNOWN_LICENCE}" when it is not known)')
    if v["licence"] == UNKNOWN_LICENCE and perms.training:
        raise _fail(path, "an unknown licence cannot allow training (permissions.training)")
    return Entry(
        **{k: v[k] for k in FIELDS if k not in ("permissions", "optout")}
        | {k: tuple(v[k]) for k in ("source_paths", "uses", "models")},
        version=v.get("version", ""),
        aliases=tuple(v.get("aliases", [])),
        permissions=perms,
        optout_status=optout["status"],
        optout_upstream=optout["upstream"],
        file=path,
    )


@functools.cache
def load_registry() -> dict[str, Entry]:
    """Every entry by id, sorted by domain then id."""
    entries = [parse_entry(p) for p in sorted(REGISTRY_DIR.glob("*.toml"))]
    names: dict[str, str] = {}
    for entry in entries:
        for name in (entry.id, *entry.aliases):
            if name in names:
                raise _fail(entry.file, f"name {name!r} is also used by {names[name]}")
            names[name] = entry.id
    return {e.id: e for e in sorted(entries, key=lambda e: (e.domain, e.id))}


def get_entry(name: str) -> Entry:
    """The entry with this id or alias; `UnknownDataset` (one line) otherwise."""
    registry = load_registry()
    if name in registry:
        return registry[name]
    for entry in registry.values():
        if name in entry.aliases:
            return entry
    close = difflib.get_close_matches(name, list(registry), n=1)
    maybe = f"; did you mean {close[0]!r}?" if close else ""
    raise UnknownDataset(
        f"unknown dataset {name!r}{maybe} (`soundstage data list` shows all {len(registry)})"
    )


def dataset_for_path(path: Path) -> Entry | None:
    """The entry whose shared-data folder this path is in or names (`…/rec/ml-100k/u.data`).

    Matched on folder names (the last part of an entry's `folder`), so a copy of MovieLens 100K
    in `~/data/ml-100k/` is recognised too. `None` when no part of the path matches.
    """
    by_name = {Path(e.folder).name: e for e in load_registry().values() if e.folder}
    for part in reversed(Path(path).parts):
        if part in by_name:
            return by_name[part]
    return None


def cards_citing(dataset_id: str, models_dir: Path = MODELS_DIR) -> list[str]:
    """Model directories whose MODEL_CARD.md links to this entry (`soundstage data show ID`)."""
    pattern = re.compile(rf"soundstage data show {re.escape(dataset_id)}(?![\w-])")
    return sorted(
        card.parent.name
        for card in models_dir.glob("*/MODEL_CARD.md")
        if pattern.search(card.read_text(encoding="utf-8"))
    )
