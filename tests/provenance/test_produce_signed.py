"""A whole `produce` package, signed as it is written: every file verifies Trusted, and the
manifests say what made each file (drama-lm writes; the music model scores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from soundstage.backends import load_backend
from soundstage.produce import produce
from soundstage.provenance.credentials import verify_path
from soundstage.provenance.signing import credentials
from soundstage.script.types import Controls
from soundstage.settings import Settings

pytest.importorskip("c2pa")


@pytest.mark.slow
def test_every_file_of_a_produce_package_verifies(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "package"
    with load_backend("embedded", settings) as backend:
        result = produce(
            "A lighthouse keeper must save a stranded whale.",
            out,
            backend,
            Controls(minutes=1.0),
            settings=settings,
        )
    found = credentials(settings, create=False)
    assert found is not None
    checks = verify_path(found, out)
    assert len(checks) >= 15
    assert [c for c in checks if not c.ok] == []
    sources = {Path(c.path).relative_to(out).as_posix(): c.source for c in checks}
    assert sources["screenplay.fountain"] == "trainedAlgorithmicMedia"  # nobody edited it
    assert sources["score/score.wav"] == "trainedAlgorithmicMedia"
    assert sources["report.md"] == "algorithmicMedia"
    # The sidecars are listed in the package manifest with the files they sign.
    listed = {a["path"] for a in json.loads((out / "manifest.json").read_text())["assets"]}
    assert {"screenplay.fountain.c2pa", "score/score.mid.c2pa"} <= listed
    assert not [n for n in result.notes if "not signed" in n]
    # disclosure.json says the same, file by file, without a C2PA reader.
    told = json.loads((out / "disclosure.json").read_text())
    kinds = {f["path"]: f["digital_source_type"].rsplit("/", 1)[-1] for f in told["files"]}
    assert kinds["score/score.wav"] == "trainedAlgorithmicMedia"
    assert kinds["report.md"] == "algorithmicMedia"
    assert told["models"]["text"] == "drama-lm" and told["moderation"]["policy"]
    assert "score/score.wav" in kinds and "manifest.json" not in kinds
