"""Content credentials (C2PA) for every file soundstage exports, and their verification.

Signing (c2pa-python, offline: no timestamp authority, no remote manifests, no OCSP):

- formats C2PA embeds (WAV, PDF, PNG, MP3, ZIP, ...) carry the manifest inside the file;
- the rest (Fountain, FDX, JSON, JSONL, MIDI, MusicXML, CSV, Markdown) get a sidecar
  `NAME.c2pa` beside them that binds the file's bytes by hash.

Every manifest says what made the file: `c2pa.created` with IPTC `trainedAlgorithmicMedia`
for untouched model output, `c2pa.edited` + `compositeWithTrainedAlgorithmicMedia` once a
person edited it (from the writers' room's intervention log), and `algorithmicMedia` for
reports and data soundstage computes; plus `org.soundstage.provenance` with the models and
versions used, the human authors and their share per level, the moderation gate's verdict
and the package it belongs to. `manifest.json` lists every file's SHA-256 and is signed
last, so the set is bound together: `verify` checks each file against it too. (C2PA
ingredients cannot do this both ways: a file embedding the package manifest would change
the hash the package manifest records.)

Verification reports per file: valid (signed, intact, our trust anchor), untrusted (intact
but signed by a chain we do not trust), invalid (with the reason: `assertion.dataHash.mismatch`
is "content changed after signing"), unsigned.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from soundstage import __version__
from soundstage.errors import SoundstageError
from soundstage.provenance.keys import SigningKeys

__all__ = [
    "EMBEDDED",
    "SIDECAR",
    "Credentials",
    "FileCheck",
    "Provenance",
    "SigningError",
    "verify_path",
]

SIDECAR = ".c2pa"
EMBEDDED = {
    ".wav": "audio/wav",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".mp3": "audio/mpeg",
    ".zip": "application/x-zip",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED = IPTC + "trainedAlgorithmicMedia"
COMPOSITE = IPTC + "compositeWithTrainedAlgorithmicMedia"
ALGORITHMIC = IPTC + "algorithmicMedia"
OFFLINE = {
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    "builder": {"thumbnail": {"enabled": False}},
}
REASONS = {
    "assertion.dataHash.mismatch": "content changed after signing",
    "assertion.bmffHash.mismatch": "content changed after signing",
    "assertion.boxesHash.mismatch": "content changed after signing",
    "claimSignature.mismatch": "the signature does not match the manifest",
    "signingCredential.untrusted": "signed by a certificate our trust anchors do not cover",
    "signingCredential.expired": "the signing certificate had expired",
    "signingCredential.invalid": "the signing certificate is not valid for C2PA",
}
Source = Literal["model", "edited", "computed"]
Status = Literal["valid", "untrusted", "invalid", "unsigned"]


class SigningError(SoundstageError):
    """A file that could not be signed (nothing is left half-written)."""


@dataclass(frozen=True)
class Provenance:
    """What a package's manifests say about how it was made."""

    package: str  # a name binding the files of one package, e.g. the project id
    models: dict[str, str] = field(default_factory=dict)  # {"text": ..., "music": ...}
    authors: list[str] = field(default_factory=list)  # human authors, "human:NAME"
    human_share: dict[str, float] = field(default_factory=dict)  # per level
    edited: bool = False  # a person edited the model's output
    moderation: dict[str, Any] | None = None  # the release gate's verdict

    def source_of(self, name: str) -> Source:
        """Script and music files are the model's (or edited); the rest is computed (audit
        reports included: audit.pdf is a computed page, not a generated script)."""
        suffix = Path(name).suffix.lower()
        if Path(name).name.startswith("audit."):
            return "computed"
        made = {".fountain", ".fdx", ".pdf", ".wav", ".mid", ".musicxml", ".mp3", ".png"}
        if suffix in made or Path(name).name == "screenplay.json":
            is_music = suffix in {".wav", ".mid", ".musicxml", ".mp3", ".png"}
            return "edited" if self.edited and not is_music else "model"
        return "computed"


class Credentials:
    """Signs files with one chain; verifies against its trust anchors."""

    def __init__(self, keys: SigningKeys | None, anchors_pem: bytes = b"") -> None:
        """`keys` sign (and their anchors verify); without keys, only verify, trusting
        `anchors_pem` (none: every signed file reads as untrusted at best)."""
        import c2pa

        self.keys = keys
        self._c2pa = c2pa
        anchors = keys.anchors_pem if keys is not None else anchors_pem
        trust = {"trust_anchors": anchors.decode()} if anchors else {}
        self._context = c2pa.Context.from_dict({**OFFLINE, "trust": trust})

    def _signer(self) -> Any:
        c2pa = self._c2pa
        if self.keys is None:
            raise SigningError("no signing keys", hint="soundstage keys init")
        info = c2pa.C2paSignerInfo(
            alg=c2pa.C2paSigningAlg.ES256,
            sign_cert=self.keys.chain_pem,
            private_key=self.keys.key_pem,
            ta_url=None,
        )
        return c2pa.Signer.from_info(info)

    def manifest(self, name: str, media_type: str, provenance: Provenance) -> dict[str, Any]:
        source = provenance.source_of(name)
        action = {
            "model": {"action": "c2pa.created", "digitalSourceType": TRAINED},
            "edited": {"action": "c2pa.created", "digitalSourceType": COMPOSITE},
            "computed": {"action": "c2pa.created", "digitalSourceType": ALGORITHMIC},
        }[source]
        actions = [{**action, "softwareAgent": {"name": "soundstage", "version": __version__}}]
        if source == "edited":
            actions.append({"action": "c2pa.edited", "digitalSourceType": COMPOSITE})
        about = {
            "package": provenance.package,
            "source": source,
            "models": provenance.models,
            "human_authors": provenance.authors,
            "human_share_per_level": provenance.human_share,
            "moderation": provenance.moderation,
        }
        return {
            "claim_generator_info": [{"name": "soundstage", "version": __version__}],
            "title": Path(name).name,
            "format": media_type,
            "assertions": [
                {"label": "c2pa.actions.v2", "data": {"actions": actions}},
                {"label": "org.soundstage.provenance", "data": about},
            ],
        }

    def seal(self, path: Path, name: str, provenance: Provenance) -> bytes | None:
        """Sign the file at `path` (the export's temp file) in place when its format embeds
        a manifest; else return the sidecar's bytes. SigningError names the file."""
        suffix = Path(name).suffix.lower()
        embedded = EMBEDDED.get(suffix)
        media = embedded or "application/octet-stream"
        builder = self._c2pa.Builder(self.manifest(name, media, provenance), context=self._context)
        try:
            with open(path, "rb") as source:
                if embedded is None:
                    builder.set_no_embed()
                    store: bytes = builder.sign(self._signer(), media, source, io.BytesIO())
                    return store
                signed = io.BytesIO()
                builder.sign(self._signer(), media, source, signed)
            path.write_bytes(signed.getvalue())
            return None
        except self._c2pa.C2paError as exc:
            raise SigningError(f"cannot sign {name}: {first_line(exc)}") from None
        finally:
            builder.close()

    def check(self, path: Path, manifest_data: bytes | None = None) -> FileCheck:
        """One file's status: its embedded manifest, or `manifest_data` (its sidecar)."""
        media = EMBEDDED.get(path.suffix.lower())
        try:
            with open(path, "rb") as stream:
                if manifest_data is None:
                    if media is None:
                        return FileCheck(str(path), "unsigned", "no manifest (and no sidecar)")
                    reader = self._c2pa.Reader.try_create(media, stream, context=self._context)
                else:
                    reader = self._c2pa.Reader(
                        media or "application/octet-stream",
                        stream,
                        manifest_data=manifest_data,
                        context=self._context,
                    )
        except OSError as exc:
            return FileCheck(str(path), "invalid", f"cannot read: {exc.strerror}")
        except self._c2pa.C2paError as exc:  # the file cannot even be parsed
            return FileCheck(str(path), "invalid", f"damaged: {first_line(exc)}")
        if reader is None:
            return FileCheck(str(path), "unsigned", "no content credentials")
        with reader:
            return judged(str(path), reader.get_validation_state(), json.loads(reader.json()))


@dataclass(frozen=True)
class FileCheck:
    path: str
    status: Status
    reason: str = ""
    codes: tuple[str, ...] = ()
    source: str = ""  # the digitalSourceType's last word, when signed

    @property
    def ok(self) -> bool:
        return self.status == "valid"


def judged(path: str, state: str, store: dict[str, Any]) -> FileCheck:
    failures = [s.get("code", "") for s in store.get("validation_status") or []]
    results = store.get("validation_results", {}).get("activeManifest", {})
    failures += [s.get("code", "") for s in results.get("failure", [])]
    failures = list(dict.fromkeys(c for c in failures if c))
    source = source_type(store)
    if state == "Trusted" and not failures:
        return FileCheck(path, "valid", "", (), source)
    bad = [c for c in failures if c != "signingCredential.untrusted"]
    if not bad and state in ("Valid", "Trusted"):
        return FileCheck(
            path, "untrusted", REASONS["signingCredential.untrusted"], tuple(failures), source
        )
    reason = next((REASONS[c] for c in bad if c in REASONS), ", ".join(bad) or state.lower())
    return FileCheck(path, "invalid", reason, tuple(failures), source)


def source_type(store: dict[str, Any]) -> str:
    active = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    for assertion in active.get("assertions", []):
        if assertion.get("label", "").startswith("c2pa.actions"):
            for action in assertion.get("data", {}).get("actions", []):
                kind = action.get("digitalSourceType", "")
                if kind:
                    return str(kind).rsplit("/", 1)[-1]
    return ""


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def verify_path(credentials: Credentials, target: Path) -> list[FileCheck]:
    """Every file under `target` (or the one file), sidecars read with their files, and
    each listed file checked against a signed manifest.json's SHA-256 too."""
    if not target.exists():
        raise SoundstageError(f"{target}: no such file or folder")
    files = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target]
    checks = []
    for path in files:
        if path.suffix == SIDECAR:
            if not path.with_suffix("").exists():
                checks.append(FileCheck(str(path), "invalid", "a sidecar without its file"))
            continue
        sidecar = path.with_name(path.name + SIDECAR)
        data = sidecar.read_bytes() if sidecar.exists() else None
        checks.append(credentials.check(path, data))
    if target.is_dir():
        checks = against_package(target, checks)
    return checks


def against_package(folder: Path, checks: list[FileCheck]) -> list[FileCheck]:
    """A valid manifest.json binds the files it lists: one whose bytes differ is invalid."""
    import hashlib

    listing = folder / "manifest.json"
    by_path = {c.path: c for c in checks}
    top = by_path.get(str(listing))
    if top is None or not top.ok:
        return checks
    assets = json.loads(listing.read_text(encoding="utf-8")).get("assets", [])
    out = dict(by_path)
    for asset in assets:
        path = folder / asset.get("path", "")
        key = str(path)
        if not path.is_file():
            out[key] = FileCheck(key, "invalid", "listed in manifest.json but missing")
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != asset.get("sha256") and out.get(key, top).status == "valid":
            out[key] = FileCheck(key, "invalid", "differs from the signed manifest.json")
    return list(out.values())
