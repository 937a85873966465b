"""Content credentials on real files, signed and read back by c2pa-python: every export
format, tampering, files signed by another chain, and the key checks that would otherwise
fail inside c2pa-rs with no reason."""

from __future__ import annotations

import io
import json
import os
import wave
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from soundstage.export import Exporter
from soundstage.provenance.credentials import Credentials, Provenance, SigningError, verify_path
from soundstage.provenance.keys import (
    ProvenanceKeyError,
    describe,
    init_chain,
    install,
    keys_dir,
    load_keys,
)
from soundstage.settings import Settings

pytest.importorskip("c2pa")

ABOUT = Provenance(
    package="demo",
    models={"text": "smollm2-135m-instruct", "music": "music-lm"},
    authors=["human:wendy"],
    human_share={"characters": 0.4},
    edited=True,
)


def wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(22050)
        tone = np.sin(np.arange(22050) * 2 * np.pi * 440 / 22050) * 8000
        out.writeframes(tone.astype("<i2").tobytes())
    return buffer.getvalue()


def pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, "INT. LIGHTHOUSE - NIGHT")
    page.save()
    return buffer.getvalue()


def package(folder: Path, credentials: Credentials) -> Exporter:
    """One file of every kind soundstage exports, sealed as it is written."""
    exporter = Exporter(folder, seal=lambda path, name: credentials.seal(path, name, ABOUT))
    exporter.write_text("screenplay.fountain", "Title: Demo\n\nINT. LIGHTHOUSE - NIGHT\n")
    exporter.write_text("screenplay.fdx", "<?xml version='1.0'?><FinalDraft/>\n")
    exporter.write_bytes("screenplay.pdf", pdf())
    exporter.write_json("screenplay.json", {"title": "Demo"})
    exporter.write_text("log.jsonl", '{"op": "generate"}\n')
    exporter.write_text("report.md", "# Demo\n")
    exporter.write_bytes("score/1M01.wav", wav())
    exporter.write_bytes("score/1M01.mid", b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0")
    exporter.write_text("score/1M01.musicxml", "<score-partwise/>\n")
    exporter.write_text("score/cues.csv", "cue,start\n1M01,00:00:00:00\n")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.txt", "a")
    exporter.write_bytes("package.zip", archive.getvalue())
    exporter.write_manifest()
    return exporter


@pytest.fixture
def signed(settings: Settings, tmp_path: Path) -> tuple[Credentials, Path]:
    credentials = Credentials(init_chain(settings))
    folder = tmp_path / "package"
    package(folder, credentials)
    return credentials, folder


def test_every_exported_file_verifies_trusted(signed: tuple[Credentials, Path]) -> None:
    credentials, folder = signed
    checks = verify_path(credentials, folder)
    assert len(checks) == 12  # 11 files and manifest.json; sidecars are read with their files
    assert {c.status for c in checks} == {"valid"}, [c for c in checks if not c.ok]
    sources = {Path(c.path).name: c.source for c in checks}
    assert sources["screenplay.fountain"] == "compositeWithTrainedAlgorithmicMedia"  # edited
    assert sources["1M01.wav"] == "trainedAlgorithmicMedia"
    assert sources["report.md"] == "algorithmicMedia"
    # Embedded where C2PA embeds, a sidecar elsewhere; the sources are untouched bytes.
    assert not (folder / "score" / "1M01.wav.c2pa").exists()
    assert not (folder / "screenplay.pdf.c2pa").exists()
    assert (folder / "score" / "1M01.mid.c2pa").exists()
    assert (folder / "screenplay.fountain").read_text().startswith("Title: Demo")
    listed = {a["path"] for a in json.loads((folder / "manifest.json").read_text())["assets"]}
    assert "screenplay.fountain.c2pa" in listed


@pytest.mark.parametrize(
    "name",
    [
        "screenplay.fountain",
        "screenplay.fdx",
        "screenplay.pdf",
        "screenplay.json",
        "log.jsonl",
        "report.md",
        "score/1M01.wav",
        "score/1M01.mid",
        "score/1M01.musicxml",
        "score/cues.csv",
        "package.zip",
        "manifest.json",
    ],
)
def test_one_flipped_byte_fails_naming_the_file(
    signed: tuple[Credentials, Path], name: str
) -> None:
    credentials, folder = signed
    target = folder / name
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    bad = [c for c in verify_path(credentials, folder) if not c.ok]
    assert [Path(c.path) for c in bad] == [target]
    assert bad[0].status == "invalid"
    # A byte of the content, of the embedded manifest itself, or of a ZIP's structure.
    assert bad[0].reason in (
        "content changed after signing",
        "differs from the signed manifest.json",
        "the signature does not match the manifest",
        "damaged: Io: Invalid checksum",
    )


def test_unsigned_and_untrusted(signed: tuple[Credentials, Path], tmp_path: Path) -> None:
    credentials, folder = signed
    (folder / "score" / "1M01.mid.c2pa").unlink()
    plain = tmp_path / "plain.wav"
    plain.write_bytes(wav())
    assert credentials.check(plain).status == "unsigned"
    checks = {Path(c.path).name: c for c in verify_path(credentials, folder)}
    assert checks["1M01.mid"].status == "unsigned"
    # Another installation (its own root) reads our files as intact but untrusted.
    other = Settings(data_dir=tmp_path / "other")
    stranger = Credentials(init_chain(other))
    assert stranger.check(folder / "screenplay.pdf").status == "untrusted"


def test_keys_are_private_files_and_show_their_fingerprints(settings: Settings) -> None:
    init_chain(settings)
    for path in keys_dir(settings).iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path
    roles = [c.role for c in describe(settings)]
    assert roles == ["leaf", "intermediate", "root"]
    with pytest.raises(ProvenanceKeyError, match="already exist"):
        init_chain(settings)


def test_unusable_keys_are_refused_with_the_reason(settings: Settings, tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    keys = init_chain(settings)
    other = Settings(data_dir=tmp_path / "other")
    stranger = init_chain(other)
    root = (keys.where / "root.pem").read_bytes()
    with pytest.raises(ProvenanceKeyError, match="does not match"):
        install(settings, keys.chain_pem, stranger.key_pem, root)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "me")])
    now = datetime.now(UTC)
    self_signed = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=2))
        .not_valid_after(now - timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = self_signed.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ProvenanceKeyError, match="expired"):
        install(settings, pem, key_pem, pem)
    # Nothing was replaced by the refused installs.
    assert load_keys(settings).key_pem == keys.key_pem


def test_a_failed_signing_leaves_no_file(settings: Settings, tmp_path: Path) -> None:
    credentials = Credentials(init_chain(settings))
    folder = tmp_path / "out"
    exporter = Exporter(folder, seal=lambda path, name: credentials.seal(path, name, ABOUT))
    with pytest.raises(SigningError, match="cannot sign broken.wav"):
        exporter.write_bytes("broken.wav", b"not a wav at all")
    assert [p.name for p in folder.iterdir()] == []
    assert exporter.assets == []


def test_verify_cli_exit_codes(settings: Settings, signed: tuple[Credentials, Path]) -> None:
    from cli_runner import run_soundstage

    _, folder = signed
    assert os.environ["SOUNDSTAGE_DATA_DIR"] == str(settings.data_dir)  # the same keys
    ok = run_soundstage("verify", str(folder), "--json", columns=300)
    assert ok.returncode == 0, ok.stderr
    lines = [json.loads(line) for line in ok.stdout.splitlines()]
    assert {line["status"] for line in lines} == {"valid"}
    target = folder / "screenplay.json"
    target.write_text(target.read_text() + " ")
    bad = run_soundstage("verify", str(folder), columns=300)
    assert bad.returncode == 1
    assert "invalid   " in bad.stdout and "screenplay.json  content changed" in bad.stdout
    missing = run_soundstage("verify", str(folder / "nope.wav"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    assert "Traceback" not in missing.stderr
