"""Machine-readable AI disclosure inside the files themselves, beside C2PA.

C2PA manifests are the signed record; many tools read only older metadata, so every file
that has a place for it also says what it is in that format's own words (EU AI Act Art. 50:
"marked in a machine-readable format"):

- PDF: an XMP packet in the document catalog's /Metadata stream (pypdf);
- WAV: a RIFF `LIST/INFO` chunk (ISFT software, ICMT comment, INAM title, IART authors; read
  by ffprobe, libsndfile, most DAWs) and an `_PMX` chunk with the same XMP packet (Adobe's
  place for XMP in RIFF files).

The XMP carries IPTC's `Iptc4xmpExt:DigitalSourceType` (the same IPTC term as the C2PA
manifest), `xmp:CreatorTool`, a `dc:description` notice and the human authors as
`dc:creator`. Labels go in before signing, so the C2PA hash covers them. Formats without
a metadata slot (Fountain, FDX, JSON, MIDI, MusicXML, CSV) rely on their sidecar manifest
and on disclosure.json.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

from soundstage import __version__
from soundstage.errors import SoundstageError

__all__ = [
    "LABELLED",
    "Label",
    "LabelError",
    "label_file",
    "read_info",
    "read_xmp",
    "riff_chunks",
    "wav_xmp",
    "xmp_packet",
]

LABELLED = {".pdf", ".wav"}
NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
PACKET_ID = "W5M0MpCehiHzreSzNTczkc9d"  # XMP's fixed packet id
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)


@dataclass(frozen=True)
class Label:
    """What one file says about itself."""

    source_type: str  # an IPTC digital source type URI
    notice: str  # one sentence a person reads
    title: str = ""
    authors: list[str] = field(default_factory=list)  # the human authors, if any
    tool: str = f"soundstage {__version__}"


class LabelError(SoundstageError):
    """A file whose format could not take the label (it is left as it was)."""


def label_file(path: Path, name: str, label: Label) -> None:
    """Write `label` into the file at `path` (the export's temp file) in its own metadata;
    other formats are left alone."""
    suffix = Path(name).suffix.lower()
    if suffix == ".pdf":
        _label_pdf(path, name, label)
    elif suffix == ".wav":
        _label_wav(path, name, label)


def xmp_packet(label: Label) -> bytes:
    """An XMP packet (UTF-8, with the standard wrapper) describing `label`."""

    def q(prefix: str, local: str) -> str:
        return f"{{{NS[prefix]}}}{local}"

    meta = ET.Element(q("x", "xmpmeta"))
    rdf = ET.SubElement(meta, q("rdf", "RDF"))
    desc = ET.SubElement(rdf, q("rdf", "Description"), {q("rdf", "about"): ""})
    ET.SubElement(desc, q("Iptc4xmpExt", "DigitalSourceType")).text = label.source_type
    ET.SubElement(desc, q("xmp", "CreatorTool")).text = label.tool
    for tag, text in (("description", label.notice), ("title", label.title)):
        if text:
            alt = ET.SubElement(ET.SubElement(desc, q("dc", tag)), q("rdf", "Alt"))
            ET.SubElement(alt, q("rdf", "li"), {XML_LANG: "x-default"}).text = text
    if label.authors:
        seq = ET.SubElement(ET.SubElement(desc, q("dc", "creator")), q("rdf", "Seq"))
        for author in label.authors:
            ET.SubElement(seq, q("rdf", "li")).text = author
    body = ET.tostring(meta, encoding="unicode")
    return (f'<?xpacket begin="\ufeff" id="{PACKET_ID}"?>\n{body}\n<?xpacket end="w"?>').encode()


def read_xmp(packet: bytes) -> dict[str, str | list[str]]:
    """The fields `xmp_packet` writes, read back (for `verify`, tests and people)."""
    start, end = packet.find(b"<x:xmpmeta"), packet.rfind(b"</x:xmpmeta>")
    if start < 0 or end < 0:
        return {}
    root = ET.fromstring(packet[start : end + len(b"</x:xmpmeta>")])
    desc = root.find("rdf:RDF/rdf:Description", NS)
    if desc is None:
        return {}
    out: dict[str, str | list[str]] = {}
    for key, path in (
        ("source_type", "Iptc4xmpExt:DigitalSourceType"),
        ("tool", "xmp:CreatorTool"),
        ("notice", "dc:description/rdf:Alt/rdf:li"),
        ("title", "dc:title/rdf:Alt/rdf:li"),
    ):
        found = desc.find(path, NS)
        if found is not None and found.text:
            out[key] = found.text
    authors = [li.text or "" for li in desc.findall("dc:creator/rdf:Seq/rdf:li", NS)]
    if authors:
        out["authors"] = authors
    return out


# -- PDF ----------------------------------------------------------------------------------


def _label_pdf(path: Path, name: str, label: Label) -> None:
    from pypdf import PdfWriter
    from pypdf.errors import PyPdfError

    try:
        writer = PdfWriter(clone_from=str(path))
        writer.xmp_metadata = xmp_packet(label)
        buf = io.BytesIO()
        writer.write(buf)
    except (PyPdfError, ValueError) as exc:
        raise LabelError(f"cannot label {name}: not a readable PDF ({exc})") from None
    path.write_bytes(buf.getvalue())


# -- WAV (RIFF) ------------------------------------------------------------------------------

INFO_IDS = {"title": b"INAM", "authors": b"IART", "notice": b"ICMT", "tool": b"ISFT"}


def _chunk(cid: bytes, data: bytes) -> bytes:
    return cid + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def _info(label: Label) -> bytes:
    fields = {
        "title": label.title,
        "authors": "; ".join(label.authors),
        "notice": f"{label.notice} [{label.source_type.rsplit('/', 1)[-1]}]",
        "tool": label.tool,
    }
    subs = b"".join(_chunk(INFO_IDS[k], v.encode("utf-8") + b"\0") for k, v in fields.items() if v)
    return _chunk(b"LIST", b"INFO" + subs)


def riff_chunks(data: bytes, name: str = "file") -> list[tuple[bytes, bytes]]:
    """A WAV file's top-level chunks as (id, payload); LabelError when it is not RIFF/WAVE."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise LabelError(f"cannot label {name}: not a RIFF/WAVE file")
    chunks, at = [], 12
    while at + 8 <= len(data):
        cid, size = data[at : at + 4], struct.unpack("<I", data[at + 4 : at + 8])[0]
        if at + 8 + size > len(data):
            raise LabelError(f"cannot label {name}: chunk {cid!r} runs past the end of the file")
        chunks.append((cid, data[at + 8 : at + 8 + size]))
        at += 8 + size + (size % 2)
    return chunks


def _label_wav(path: Path, name: str, label: Label) -> None:
    """Replace any LIST/INFO and _PMX chunks with ours, after the audio."""
    kept = [
        _chunk(cid, body)
        for cid, body in riff_chunks(path.read_bytes(), name)
        if cid != b"_PMX" and not (cid == b"LIST" and body[:4] == b"INFO")
    ]
    body = b"WAVE" + b"".join(kept) + _info(label) + _chunk(b"_PMX", xmp_packet(label))
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def read_info(data: bytes) -> dict[str, str]:
    """A WAV file's LIST/INFO fields by their four-letter ids (e.g. {"ISFT": ...})."""
    out: dict[str, str] = {}
    for cid, body in riff_chunks(data):
        if cid == b"LIST" and body[:4] == b"INFO":
            for sub, value in riff_subchunks(body[4:]):
                out[sub.decode("ascii", "replace")] = value.rstrip(b"\0").decode("utf-8")
    return out


def riff_subchunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The chunks inside a LIST payload (after its four-letter type)."""
    out, at = [], 0
    while at + 8 <= len(data):
        cid, size = data[at : at + 4], struct.unpack("<I", data[at + 4 : at + 8])[0]
        out.append((cid, data[at + 8 : at + 8 + size]))
        at += 8 + size + (size % 2)
    return out


def wav_xmp(data: bytes) -> bytes:
    """The XMP packet in a WAV file's _PMX chunk (b"" when none)."""
    return next((body for cid, body in riff_chunks(data) if cid == b"_PMX"), b"")
