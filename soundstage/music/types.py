"""The music domain model: tiny immutable value types, times in seconds (pretty-midi's anchor).

A `Piece` holds `Track`s of `Note`s plus the few global facts we condition on (one tempo, one
time signature, a key name) and where it came from (`source`, `licence`). Helpers are pure
functions of the notes, so the same numbers describe corpus pieces and generated ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Note:
    """One sounding note: MIDI `pitch` 0..127 from `start` to `end` seconds, `velocity` 1..127."""

    pitch: int
    start: float
    end: float
    velocity: int = 80

    def __post_init__(self) -> None:
        if not 0 <= self.pitch <= 127:
            raise ValueError(f"note pitch {self.pitch} is outside 0..127")
        if not 1 <= self.velocity <= 127:
            raise ValueError(f"note velocity {self.velocity} is outside 1..127")
        if self.start < 0:
            raise ValueError(f"note start {self.start} is negative")
        if not self.end > self.start:
            raise ValueError(f"note end {self.end} is not after its start {self.start}")

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Track:
    """One instrument: General MIDI `program` 0..127 (ignored when `is_drum`), notes by start."""

    program: int = 0
    is_drum: bool = False
    name: str = ""
    notes: tuple[Note, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.program <= 127:
            raise ValueError(f"track program {self.program} is outside 0..127")
        object.__setattr__(self, "notes", tuple(sorted(self.notes, key=_note_order)))


def _note_order(note: Note) -> tuple[float, int, float]:
    return (note.start, note.pitch, note.end)


@dataclass(frozen=True, slots=True)
class Piece:
    """A piece of music with the global facts we condition on and its provenance."""

    tracks: tuple[Track, ...] = ()
    tempo_bpm: float = 120.0
    time_signature: tuple[int, int] = (4, 4)
    key: str = ""  # e.g. "G major", "e minor"; "" when unknown
    title: str = ""
    source: str = ""  # e.g. "bach_chorales", "oneills1850", "jsb_chorales", "generated"
    licence: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not 10.0 <= self.tempo_bpm <= 400.0:
            raise ValueError(f"tempo {self.tempo_bpm} bpm is outside 10..400")
        num, den = self.time_signature
        if num < 1 or den < 1 or den & (den - 1):
            raise ValueError(f"time signature {num}/{den} is not valid")
        object.__setattr__(self, "tracks", tuple(self.tracks))

    @property
    def notes(self) -> list[Note]:
        """All pitched notes (drum tracks excluded), ordered by start."""
        return sorted((n for t in self.tracks if not t.is_drum for n in t.notes), key=_note_order)

    @property
    def note_count(self) -> int:
        return sum(len(t.notes) for t in self.tracks)


def duration(piece: Piece) -> float:
    """Seconds from 0 to the last note's end (0.0 for an empty piece)."""
    return max((n.end for t in piece.tracks for n in t.notes), default=0.0)


def note_density(piece: Piece) -> float:
    """Note onsets per second over the piece's duration (all tracks)."""
    seconds = duration(piece)
    return piece.note_count / seconds if seconds > 0 else 0.0


def pitch_range(piece: Piece) -> tuple[int, int]:
    """(lowest, highest) pitched note; (0, 0) when there are none."""
    pitches = [n.pitch for n in piece.notes]
    return (min(pitches), max(pitches)) if pitches else (0, 0)


def mean_velocity(piece: Piece) -> float:
    velocities = [n.velocity for t in piece.tracks for n in t.notes]
    return sum(velocities) / len(velocities) if velocities else 0.0


def pitch_class_histogram(piece: Piece) -> list[float]:
    """Duration-weighted pitch-class profile (12 values summing to 1; zeros when empty)."""
    hist = [0.0] * 12
    for note in piece.notes:
        hist[note.pitch % 12] += note.duration
    total = sum(hist)
    return [h / total for h in hist] if total > 0 else hist
