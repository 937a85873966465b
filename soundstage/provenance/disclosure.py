"""`disclosure.json`: what in a package is AI-generated, in one file a person or a platform
can read without a C2PA reader (EU AI Act Art. 50: outputs marked as artificially generated
in a machine-readable format, and deep-fake-like content disclosed).

One entry per file: its IPTC digital source type (the same as in its content credentials),
the models that made it, and the human share of the script per level.
"""

from __future__ import annotations

from typing import Any

from soundstage import __version__
from soundstage.export import Asset
from soundstage.provenance.credentials import Provenance
from soundstage.provenance.signing import SOURCE_TYPES

__all__ = ["DISCLOSURE", "disclosure"]

DISCLOSURE = "disclosure.json"
NOTICE = (
    "This package was made with an AI system (soundstage). Files marked "
    "trainedAlgorithmicMedia are model output; compositeWithTrainedAlgorithmicMedia, model "
    "output a person edited; algorithmicMedia, reports and data computed from them. Each "
    "file carries signed content credentials (C2PA): check them with `soundstage verify`."
)


def disclosure(assets: list[Asset], about: Provenance) -> dict[str, Any]:
    files = [
        {
            "path": a.path,
            "media_type": a.media_type,
            "digital_source_type": SOURCE_TYPES[about.source_of(a.path)],
            "ai_generated": about.source_of(a.path) != "computed",
        }
        for a in assets
        if not a.path.endswith(".c2pa") and a.path not in ("manifest.json", DISCLOSURE)
    ]
    return {
        "notice": NOTICE,
        "generator": f"soundstage {__version__}",
        "package": about.package,
        "ai_generated": True,
        "models": {k: v for k, v in about.models.items() if v},
        "human_authors": [a.split(":", 1)[-1] for a in about.authors],
        "human_share_per_level": about.human_share,
        "moderation": about.moderation,
        "files": files,
    }
