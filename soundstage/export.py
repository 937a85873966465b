"""The one path every file soundstage produces goes through.

`Exporter` writes each asset atomically (a temp file in the same folder, then rename), so
a crash never leaves a half-written file, and records it in `manifest.json` (path, media
type, size, SHA-256, what made it). Content credentials hook in here: with `seal` set
(see `soundstage.provenance.credentials.Credentials.seal`), each file is signed before it
is moved into place, either in place (formats that embed a manifest) or with a sidecar
`NAME.c2pa` written beside it; a file that cannot be signed is not written at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from soundstage import __version__
from soundstage.errors import SoundstageError
from soundstage.fileio import replacing

MANIFEST = "manifest.json"
MEDIA_TYPES = {
    ".fountain": "text/vnd.fountain",
    ".fdx": "application/xml",
    ".pdf": "application/pdf",
    ".json": "application/json",
    ".jsonl": "application/jsonl",
    ".md": "text/markdown",
    ".txt": "text/plain",
    ".mid": "audio/midi",
    ".wav": "audio/wav",
    ".csv": "text/csv",
    ".musicxml": "application/vnd.recordare.musicxml+xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".zip": "application/zip",
    ".c2pa": "application/c2pa",
}
# Signs the temp file of asset NAME in place, or returns a sidecar's bytes.
Seal = Callable[[Path, str], "bytes | None"]


@dataclass(frozen=True)
class Asset:
    path: str  # relative to the export folder
    media_type: str
    bytes: int
    sha256: str
    generator: str  # what produced it, e.g. "soundstage 0.1.0 / drama-lm"


@dataclass
class Exporter:
    out_dir: Path
    generator: str = f"soundstage {__version__}"
    assets: list[Asset] = field(default_factory=list)
    seal: Seal | None = None

    def __post_init__(self) -> None:
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SoundstageError(
                f"cannot create output folder {self.out_dir}: {exc.strerror or exc}",
                hint="choose a writable --out folder",
            ) from None

    def write_bytes(self, name: str, data: bytes) -> Path:
        return self.write_with(name, lambda tmp: tmp.write_bytes(data))

    def write_text(self, name: str, text: str) -> Path:
        return self.write_bytes(name, text.encode("utf-8"))

    def write_json(self, name: str, data: Any) -> Path:
        return self.write_text(name, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def write_with(self, name: str, writer: Callable[[Path], object]) -> Path:
        """Let `writer` fill a temp file, then move it into place and record it."""
        target = self.out_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        sidecar = None
        try:
            with replacing(target) as tmp:
                writer(tmp)
                if self.seal is not None:
                    sidecar = self.seal(tmp, name)
            if sidecar is not None:
                self._record(name + ".c2pa", sidecar)
        except OSError as exc:
            raise SoundstageError(
                f"cannot write {target}: {exc.strerror or exc}", hint="check the --out folder"
            ) from None
        self._record(name, None)
        return target

    def _record(self, name: str, data: bytes | None) -> None:
        """Write `data` to NAME (when given) and list NAME's bytes as an asset."""
        target = self.out_dir / name
        if data is not None:
            with replacing(target) as tmp:
                tmp.write_bytes(data)
        data = target.read_bytes()
        asset = Asset(
            path=name,
            media_type=MEDIA_TYPES.get(target.suffix, "application/octet-stream"),
            bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            generator=self.generator,
        )
        self.assets = [a for a in self.assets if a.path != name] + [asset]

    def write_manifest(self) -> Path:
        """manifest.json lists every asset written so far (not itself); safe to call again."""
        skip = {MANIFEST, MANIFEST + ".c2pa"}
        assets = [asdict(a) for a in self.assets if a.path not in skip]
        manifest = {"generator": self.generator, "assets": assets}
        target = self.out_dir / MANIFEST
        sidecar = None
        with replacing(target) as tmp:
            tmp.write_text(json.dumps(manifest, indent=2) + "\n")
            if self.seal is not None:
                sidecar = self.seal(tmp, MANIFEST)
        if sidecar is not None:
            with replacing(target.with_name(MANIFEST + ".c2pa")) as tmp:
                tmp.write_bytes(sidecar)
        return target
