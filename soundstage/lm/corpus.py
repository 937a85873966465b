"""Turn the public-domain drama in ../shared/data/script into one training text format.

Every source becomes turns of `SPEAKER:\\nline\\nline\\n\\n`, the format of tinyshakespeare,
so the model learns one convention: a speaker cue, then what they say. Plays are separated
by the end-of-text token. The validation split is the last 10% of each play, cut at a turn
boundary, so no scene leaks across the split.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

EOT = "<|endoftext|>"


@dataclass(frozen=True)
class Document:
    name: str
    text: str


def tinyshakespeare(path: Path) -> Document:
    return Document("tinyshakespeare", path.read_text(encoding="utf-8").strip() + "\n")


def bosak_play(path: Path) -> Document:
    """Speeches of a Bosak XML play (SPEECH/SPEAKER/LINE) as turns; stage directions dropped."""
    root = ET.parse(path).getroot()
    turns: list[str] = []
    for speech in root.iter("SPEECH"):
        speakers = [s.text.strip() for s in speech.findall("SPEAKER") if s.text]
        lines = ["".join(line.itertext()).strip() for line in speech.findall("LINE")]
        lines = [line for line in lines if line]
        if speakers and lines:
            turns.append(f"{' and '.join(speakers)}:\n" + "\n".join(lines) + "\n")
    return Document(path.stem, "\n".join(turns))


def load_documents(script_dir: Path) -> list[Document]:
    docs = [tinyshakespeare(script_dir / "tinyshakespeare" / "input.txt")]
    hamlet = script_dir / "bosak_shakespeare" / "hamlet.xml"
    if hamlet.exists():
        docs.append(bosak_play(hamlet))
    return docs


def split(doc: Document, val_fraction: float = 0.1) -> tuple[str, str]:
    """Cut a document at the turn boundary nearest to (1 - val_fraction) of its length."""
    cut = doc.text.find("\n\n", int(len(doc.text) * (1 - val_fraction)))
    if cut < 0:
        return doc.text, ""
    return doc.text[: cut + 2], doc.text[cut + 2 :]
