"""Machine-readable disclosure inside PDFs and WAVs (XMP, RIFF INFO), read back by pypdf,
Python's wave module and ffprobe, and still covered by the files' content credentials."""

from __future__ import annotations

import json
import shutil
import subprocess
import wave
from pathlib import Path

import pytest
from test_credentials import ABOUT, pdf, wav

from soundstage.errors import SoundstageError
from soundstage.export import Exporter
from soundstage.provenance.credentials import COMPOSITE, TRAINED, Provenance, verify_path
from soundstage.provenance.labels import (
    Label,
    label_file,
    read_info,
    read_xmp,
    riff_chunks,
    wav_xmp,
    xmp_packet,
)
from soundstage.provenance.signing import credentials, sealer
from soundstage.settings import Settings


def test_xmp_packet_escapes_and_reads_back() -> None:
    label = Label(TRAINED, "AI-generated <draft> & notes", "Cañón", ["wendy", "O'Hara"])
    packet = xmp_packet(label)
    assert packet.startswith(b"<?xpacket begin=") and packet.endswith(b'<?xpacket end="w"?>')
    back = read_xmp(packet)
    assert back["source_type"] == TRAINED
    assert back["notice"] == "AI-generated <draft> & notes"
    assert back["title"] == "Cañón" and back["authors"] == ["wendy", "O'Hara"]
    assert str(back["tool"]).startswith("soundstage ")
    assert read_xmp(b"not xmp") == {}


def test_wav_label_keeps_the_audio_and_replaces_itself(tmp_path: Path) -> None:
    path = tmp_path / "cue.wav"
    path.write_bytes(wav())
    with wave.open(str(path)) as before:
        frames = before.readframes(before.getnframes())
    label = Label(COMPOSITE, "Made with AI.", "demo", ["wendy"])
    label_file(path, "cue.wav", label)
    label_file(path, "cue.wav", label)  # relabelling replaces, never stacks
    data = path.read_bytes()
    ids = [cid for cid, _ in riff_chunks(data)]
    assert ids.count(b"LIST") == 1 and ids.count(b"_PMX") == 1, ids
    with wave.open(str(path)) as after:
        assert after.readframes(after.getnframes()) == frames
    info = read_info(data)
    assert info["IART"] == "wendy" and info["INAM"] == "demo"
    assert "compositeWithTrainedAlgorithmicMedia" in info["ICMT"]
    assert read_xmp(wav_xmp(data))["source_type"] == COMPOSITE


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe (ffmpeg) not installed")
def test_ffprobe_reads_the_wav_label(tmp_path: Path) -> None:
    path = tmp_path / "cue.wav"
    path.write_bytes(wav())
    label_file(path, "cue.wav", Label(TRAINED, "AI-generated.", "demo"))
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    tags = json.loads(probe.stdout)["format"]["tags"]
    assert tags["comment"].startswith("AI-generated.")
    assert "trainedAlgorithmicMedia" in tags["comment"]
    assert tags["encoder"].startswith("soundstage ") and tags["title"] == "demo"


def test_exported_pdf_and_wav_are_labelled_and_still_verify(
    settings: Settings, tmp_path: Path
) -> None:
    pytest.importorskip("c2pa")
    from pypdf import PdfReader

    exporter = Exporter(tmp_path / "out")
    exporter.seal, note = sealer(settings, ABOUT)
    assert note == ""
    exporter.write_bytes("screenplay.pdf", pdf())
    exporter.write_bytes("score.wav", wav())
    xmp = PdfReader(tmp_path / "out" / "screenplay.pdf").xmp_metadata
    assert xmp is not None
    fields = read_xmp(xmp.stream.get_data())
    assert fields["source_type"] == COMPOSITE and fields["authors"] == ["wendy"]
    assert "edited by people" in str(fields["notice"])
    music = read_info((tmp_path / "out" / "score.wav").read_bytes())
    assert "trainedAlgorithmicMedia" in music["ICMT"]  # music is never edited by people
    found = credentials(settings, create=False)
    assert found is not None
    checks = verify_path(found, tmp_path / "out")
    assert {c.status for c in checks} == {"valid"}, checks


def test_a_broken_file_gets_one_line_and_no_output(settings: Settings, tmp_path: Path) -> None:
    exporter = Exporter(tmp_path / "out")
    exporter.seal, _ = sealer(settings, Provenance(package="demo"))
    with pytest.raises(SoundstageError, match=r"cannot label score\.wav: not a RIFF/WAVE file"):
        exporter.write_bytes("score.wav", b"ID3 this is an mp3")
    with pytest.raises(SoundstageError, match=r"cannot label script\.pdf: not a readable PDF"):
        exporter.write_bytes("script.pdf", b"%PDF-1.4 nothing else")
    assert not any((tmp_path / "out").iterdir())


def test_audit_reports_are_computed_not_generated() -> None:
    from soundstage.provenance.credentials import ALGORITHMIC
    from soundstage.provenance.signing import file_label

    about = Provenance(package="p", models={"text": "drama-lm"})
    assert about.source_of("screenplay.pdf") == "model"
    assert about.source_of("audit.pdf") == "computed" == about.source_of("audit.html")
    assert file_label("audit.pdf", about).source_type == ALGORITHMIC
