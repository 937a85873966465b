"""Leitmotifs: a short theme per main character, quoted and varied by each scene's emotion.

A motif is stored **in scale degrees, not pitches** (degree 0 = tonic, 7 = tonic an octave up)
with its rhythm in beats. That is what makes the classic variations mechanical and exact:

- **mode change**: the same degrees realised in the cue's mode (Ionian → Aeolian turns the hero's
  theme sad, Phrygian makes it menacing);
- **transposition**: realised on the cue's tonic, near the cue's register;
- **augmentation / diminution**: durations ×2 for calm or sad cues (arousal < −0.3), ×½ for very
  excited ones (arousal > 0.7) when the motif is long enough to stay audible.

Motifs come from the music model itself (a two-bar phrase sampled in C Ionian with a seed derived
from the character id, top line, first 4–7 notes), so they share the corpus idiom and each
character keeps the same theme across runs with the same seed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from soundstage.music.frame import SCALES, Frame, nearest
from soundstage.music.generate import BeatNote, MusicModel, PhraseRequest, from_notes, to_notes
from soundstage.music.tokens import Conditions

IONIAN = SCALES["ionian"]


@dataclass(frozen=True)
class Motif:
    character: str
    degrees: tuple[int, ...]  # diatonic steps from the tonic (may be negative or ≥ 7)
    onsets: tuple[float, ...]  # beats from the motif's start
    lengths: tuple[float, ...]

    @property
    def beats(self) -> float:
        return max(o + n for o, n in zip(self.onsets, self.lengths, strict=True))

    def to_json(self) -> dict[str, object]:
        return {
            "character": self.character,
            "degrees": list(self.degrees),
            "onsets": list(self.onsets),
            "lengths": list(self.lengths),
        }


def character_seed(character: str, seed: int) -> int:
    return int.from_bytes(hashlib.sha1(f"{seed}:{character}".encode()).digest()[:4], "big")


def degree_of(pitch: int) -> int:
    """Diatonic step of a C-major pitch relative to middle C (60 → 0, 62 → 1, 72 → 7)."""
    octave, pc = divmod(pitch - 60, 12)
    step = min(range(7), key=lambda i: abs(IONIAN[i] - pc))
    return octave * 7 + step


def top_line(notes: list[BeatNote]) -> list[BeatNote]:
    """The highest note at each onset, each lasting until the next onset at most."""
    by_onset: dict[float, BeatNote] = {}
    for note in notes:
        if note.start not in by_onset or note.pitch > by_onset[note.start].pitch:
            by_onset[note.start] = note
    line = [by_onset[t] for t in sorted(by_onset)]
    return [
        BeatNote(n.pitch, n.start, min(n.length, nxt.start - n.start), n.velocity)
        for n, nxt in zip(line, line[1:] + [BeatNote(0, 1e9, 1.0)], strict=True)
    ]


def make_motif(model: MusicModel, character: str, *, seed: int = 0) -> Motif:
    """A two-bar theme for `character`, sampled from the model in C Ionian."""
    rng = np.random.default_rng(character_seed(character, seed))
    cond = Conditions("air", "major", "moderate", "mid", "Q4")
    request = PhraseRequest(
        cond=cond, bars=2, allowed_pcs=frozenset(IONIAN), low=60, high=79, top_p=0.9
    )
    notes, _ = to_notes(model.sample_phrase(request, rng))
    line = top_line(notes)
    if len(line) < 4:  # too sparse to be a theme: a rising figure keeps every cue consistent
        line = [BeatNote(60 + IONIAN[d], i * 1.0, 1.0) for i, d in enumerate((0, 2, 4, 3))]
    line = line[:7]
    first = line[0].start
    degrees = [degree_of(n.pitch) for n in line]
    octave = 7 * (degrees[0] // 7)  # start in the tonic's octave: cues place the register
    onsets = [round(n.start - first, 4) for n in line]
    return Motif(
        character=character,
        degrees=tuple(d - octave for d in degrees),
        onsets=tuple(onsets),
        # A theme is its contour and rhythm: cap held notes so it fits in two bars.
        lengths=tuple(
            round(max(0.25, min(n.length, 2.0, 8.0 - o)), 4)
            for n, o in zip(line, onsets, strict=True)
        ),
    )


def stretch_for(frame: Frame, motif: Motif) -> float:
    """Augmentation for calm/sad cues, diminution for very excited ones (if it stays ≥ 2 beats)."""
    if frame.arousal < -0.3:
        return 2.0
    if frame.arousal > 0.7 and motif.beats >= 4:
        return 0.5
    return 1.0


def realise(motif: Motif, frame: Frame) -> list[BeatNote]:
    """The motif in the cue's key, mode and register, stretched by its emotion."""
    factor = stretch_for(frame, motif)
    tonic = nearest(frame.tonic, frame.centre - 2)
    scale = frame.scale
    notes = []
    for degree, onset, length in zip(motif.degrees, motif.onsets, motif.lengths, strict=True):
        octave, step = divmod(degree, 7)
        pitch = tonic + 12 * octave + scale[step]
        notes.append(BeatNote(pitch, onset * factor, length * factor, frame.velocity))
    return notes


def primer(motif: Motif, frame: Frame) -> tuple[list[str], int]:
    """REMI tokens of the realised motif and how many bars it fills (for priming a phrase)."""
    notes = realise(motif, frame)
    bars = max(1, int(np.ceil(max(n.end for n in notes) / frame.beats_per_bar - 1e-9)))
    return from_notes(notes, bars, frame.beats_per_bar), bars
