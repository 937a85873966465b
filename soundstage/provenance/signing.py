"""Wiring content credentials into an export: which keys, which provenance, or why none.

`sealer(settings, provenance)` gives the `seal` an `Exporter` takes, or None with a note
when files will go out unsigned (c2pa-python is not installed). Keys are made on
first use (a private chain in the data dir, as `soundstage keys init` would), so the README
commands sign out of the box; an organisation installs its own with `keys init --cert`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from soundstage.export import Seal
from soundstage.provenance.credentials import Credentials, Provenance
from soundstage.provenance.keys import ANCHORS_FILE, KEY_FILE, init_chain, keys_dir, load_keys
from soundstage.script.history import InterventionLog, authorship, is_human
from soundstage.script.types import Screenplay
from soundstage.settings import Settings

__all__ = [
    "MUSIC_MODEL",
    "UNSIGNED_NOTE",
    "credentials",
    "music_provenance",
    "screenplay_provenance",
    "sealer",
]

UNSIGNED_NOTE = "files are not signed: install soundstage[provenance] (c2pa-python)"
MUSIC_MODEL = "soundstage music LM (melody) with rule-based arrangement"


def credentials(settings: Settings, create: bool = True) -> Credentials | None:
    """This installation's credentials; None without c2pa. With no keys yet, `create`
    makes a chain (signing), else the answer only verifies, trusting the anchors file if
    there is one."""
    if importlib.util.find_spec("c2pa") is None:
        return None
    folder = keys_dir(settings)
    if not (folder / KEY_FILE).exists():
        if create:
            return Credentials(init_chain(settings))
        anchors = folder / ANCHORS_FILE
        return Credentials(None, anchors.read_bytes() if anchors.exists() else b"")
    return Credentials(load_keys(settings))


def sealer(
    settings: Settings, provenance: Provenance | Callable[[], Provenance]
) -> tuple[Seal | None, str]:
    """The exporter's `seal`, or None and a one-line note saying why files go unsigned.
    `provenance` may be a function, asked at each file (a production learns as it goes:
    the moderation verdict comes after the script is written)."""
    found = credentials(settings)
    if found is None:
        return None, UNSIGNED_NOTE

    def seal(path: Path, name: str) -> bytes | None:
        about = provenance() if callable(provenance) else provenance
        return found.seal(path, name, about)

    return seal, ""


def screenplay_provenance(
    sp: Screenplay, log: InterventionLog, package: str, **models: str
) -> Provenance:
    """What a script package's manifests say: the models, who edited, each level's share."""
    humans = sorted({e.actor for e in log.entries if is_human(e.actor)})
    edited = any(is_human(e.actor) and e.level != "logline" for e in log.entries)
    shares = {level: row["human_share"] for level, row in authorship(log, sp).items()}
    return Provenance(
        package=package,
        models={"text": sp.model, **models},
        authors=humans,
        human_share=shares,
        edited=edited,
    )


def music_provenance(package: str) -> Provenance:
    """What a score's manifests say: the music model made it (no human edits yet)."""
    return Provenance(package=package, models={"music": MUSIC_MODEL})
