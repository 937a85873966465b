"""Read and write Standard MIDI Files as `Piece`s.

Library: **symusic** (C++ parser, MIT, maintained by the miditok authors; miditok 3 already
depends on it, so the tokenizer and this module share one MIDI stack and no second parser is
installed). It parses a typical file in well under a millisecond, about 100× faster than mido.

Pitfall (symusic 0.5.8, checked): `Score(path, ttype="second")` returns wrong note durations;
`Score(path).to("second")` is right, so we always parse in ticks and convert. Writing is done in
ticks too: a `Piece` has one tempo, so seconds → ticks is a single multiplication.

The title, source and licence travel inside the file as marker meta events
(`soundstage:title=...`), so a cached MIDI file describes itself. Files are written atomically
(temporary file in the same folder, then `os.replace`): a killed writer never leaves half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import symusic

from soundstage.errors import FormatError
from soundstage.music.types import Note, Piece, Track

TPQ = 480  # ticks per quarter note in the files we write
_META = ("title", "source", "licence")
_SHARP_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
_FLAT_NAMES = ["C", "D-", "D", "E-", "E", "F", "G-", "G", "A-", "A", "B-", "B"]
_PC = {name: pc for names in (_SHARP_NAMES, _FLAT_NAMES) for pc, name in enumerate(names)}


def key_to_fifths(key: str) -> tuple[int, int] | None:
    """ "G major" → (1, 0); "e minor" → (1, 1); music21 flats ("B-") and "Bb" both accepted."""
    parts = key.split()
    if len(parts) != 2 or parts[1].lower() not in {"major", "minor"}:
        return None
    tonic = parts[0][0].upper() + parts[0][1:].replace("b", "-")
    if tonic not in _PC:
        return None
    minor = parts[1].lower() == "minor"
    major_pc = (_PC[tonic] + (3 if minor else 0)) % 12
    fifths = (major_pc * 7) % 12  # position on the circle of fifths
    if fifths > 6:
        fifths -= 12
    return fifths, int(minor)


def fifths_to_key(fifths: int, minor: bool) -> str:
    major_pc = (fifths * 7) % 12
    names = _FLAT_NAMES if fifths < 0 else _SHARP_NAMES
    if minor:
        return f"{names[(major_pc + 9) % 12].lower()} minor"
    return f"{names[major_pc]} major"


def to_score(piece: Piece) -> symusic.Score:
    """A tick-based symusic Score (TPQ ticks per quarter) of the piece."""
    ticks_per_second = TPQ * piece.tempo_bpm / 60.0
    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, qpm=piece.tempo_bpm))
    num, den = piece.time_signature
    score.time_signatures.append(symusic.TimeSignature(0, num, den))
    fifths = key_to_fifths(piece.key)
    if fifths is not None:
        score.key_signatures.append(symusic.KeySignature(0, fifths[0], fifths[1]))
    for name in _META:
        value = getattr(piece, name)
        if value:
            score.markers.append(symusic.TextMeta(0, f"soundstage:{name}={value}"))
    for track in piece.tracks:
        out = symusic.Track(name=track.name, program=track.program, is_drum=track.is_drum)
        for n in track.notes:
            start = round(n.start * ticks_per_second)
            end = max(start + 1, round(n.end * ticks_per_second))
            out.notes.append(symusic.Note(start, end - start, n.pitch, n.velocity))
        score.tracks.append(out)
    return score


def from_score(score: symusic.Score, **overrides: str) -> Piece:
    """A Piece from a symusic Score in any time unit; the first tempo/metre/key win."""
    meta: dict[str, str] = {}
    for marker in score.markers:
        text = str(marker.text)
        if text.startswith("soundstage:") and "=" in text:
            name, value = text[len("soundstage:") :].split("=", 1)
            meta[name] = value
    seconds = score.to("second") if score.ttype != symusic.core.Second else score
    tempo = float(score.tempos[0].qpm) if len(score.tempos) else 120.0
    tempo = min(max(tempo, 10.0), 400.0)
    ts = score.time_signatures[0] if len(score.time_signatures) else None
    metre = (int(ts.numerator), int(ts.denominator)) if ts is not None else (4, 4)
    ks = score.key_signatures[0] if len(score.key_signatures) else None
    key = fifths_to_key(int(ks.key), bool(ks.tonality)) if ks is not None else ""
    tracks = []
    for track in seconds.tracks:
        notes = [
            Note(int(n.pitch), float(n.start), float(n.end), max(1, int(n.velocity)))
            for n in track.notes
            if n.duration > 0 and n.velocity > 0
        ]
        tracks.append(Track(int(track.program), bool(track.is_drum), str(track.name), tuple(notes)))
    return Piece(
        tracks=tuple(tracks),
        tempo_bpm=round(tempo, 3),
        time_signature=metre,
        key=key,
        title=overrides.get("title", meta.get("title", "")),
        source=overrides.get("source", meta.get("source", "")),
        licence=overrides.get("licence", meta.get("licence", "")),
    )


def read_midi(path: Path | str) -> Piece:
    """Parse a MIDI file; anything unreadable → `FormatError` naming the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError.at(path, None, f"cannot read MIDI file ({exc.strerror})") from exc
    problem = check_chunks(data)
    if problem:
        raise FormatError.at(path, None, problem)
    try:
        score = symusic.Score.from_midi(data)
    except (RuntimeError, ValueError) as exc:
        what = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FormatError.at(path, None, f"invalid or truncated MIDI: {what}") from exc
    try:
        return from_score(score)
    except ValueError as exc:
        raise FormatError.at(path, None, f"invalid MIDI content: {exc}") from exc


def check_chunks(data: bytes) -> str | None:
    """Why `data` is not a whole SMF (header, then every declared track chunk in full), or None.

    symusic 0.5.8 may read past the end of a truncated buffer and "succeed" with garbage, so the
    chunk structure is checked here first.
    """
    if len(data) < 14 or not data.startswith(b"MThd"):
        return "not a MIDI file (no MThd header)"
    header_len = int.from_bytes(data[4:8], "big")
    ntracks = int.from_bytes(data[10:12], "big")
    pos, found = 8 + header_len, 0
    while pos + 8 <= len(data) and found < ntracks:
        length = int.from_bytes(data[pos + 4 : pos + 8], "big")
        if pos + 8 + length > len(data):
            return f"truncated MIDI: chunk at byte {pos} needs {length} bytes, file ends early"
        if data[pos : pos + 4] == b"MTrk":
            found += 1
            problem = check_events(data, pos + 8, pos + 8 + length)
            if problem:
                return f"track {found}: {problem}"
        pos += 8 + length
    if found < ntracks:
        return f"truncated MIDI: header declares {ntracks} tracks, file holds {found}"
    return None


# Data bytes after a channel status: note off/on, key pressure, control, program, channel
# pressure, pitch bend (by the status's high nibble).
_DATA_BYTES = {0x8: 2, 0x9: 2, 0xA: 2, 0xB: 2, 0xC: 1, 0xD: 1, 0xE: 2}


def check_events(data: bytes, pos: int, end: int) -> str | None:
    """Why the events of a track chunk (`data[pos:end]`) are not well-formed, or None.

    symusic 0.5 crashes the process (a segfault, not an exception) on some malformed event
    streams (found by benchmarks/fuzz_parsers.py), so every event is walked here first:
    delta times, status bytes, data bytes below 0x80, meta and sysex lengths within the chunk.
    """
    running: int | None = None
    while pos < end:
        pos = _vlq_end(data, pos, end)
        if pos < 0:
            return "a delta time runs past the track"
        if pos >= end:
            return "the track ends after a delta time"
        status = data[pos]
        if status == 0xFF or status in (0xF0, 0xF7):
            pos += 2 if status == 0xFF else 1
            if pos > end:
                return "a meta event runs past the track"
            start = pos
            pos = _vlq_end(data, pos, end)
            if pos < 0:
                return "an event length runs past the track"
            pos += _vlq_value(data, start, pos)
            if pos > end:
                return "a meta or sysex event runs past the track"
            continue
        if status >= 0x80:
            if status >= 0xF0:
                return f"status byte {status:#04x} is not allowed in a MIDI file"
            running, pos = status, pos + 1
        elif running is None:
            return "a data byte before any status (running status without a status)"
        count = _DATA_BYTES[running >> 4]
        if pos + count > end or any(b >= 0x80 for b in data[pos : pos + count]):
            return "a channel event with missing or bad data bytes"
        pos += count
    return None


def _vlq_end(data: bytes, pos: int, end: int) -> int:
    """Where the variable-length quantity at `pos` ends (at most 4 bytes), or -1."""
    for i in range(4):
        if pos + i >= end:
            return -1
        if data[pos + i] < 0x80:
            return pos + i + 1
    return -1


def _vlq_value(data: bytes, start: int, stop: int) -> int:
    value = 0
    for b in data[start:stop]:
        value = (value << 7) | (b & 0x7F)
    return value


def write_midi(piece: Piece, path: Path | str) -> Path:
    """Write atomically (temp file in the same folder + os.replace); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = to_score(piece).dumps_midi()
    atomic_write_bytes(path, data)
    return path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
