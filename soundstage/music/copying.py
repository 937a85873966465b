"""Memorisation check: does generated music copy a run of notes from the training corpus?

Composers and their publishers need to know a cue is not a quotation of a training piece. Each
piece is reduced to its top line (highest note at each onset) as (pitch interval, onset gap on a
16th grid) steps, so a copy is found in any key and tempo. Every window of `n` consecutive steps of
the training corpus goes into a set; a generated piece "copies" when one of its windows is in the
set, and the longest run of overlapping matching windows gives the copied length in notes. The
default n = 16 steps is about two bars of eighth notes, the "more than 2 bars copied" flag of
../shared/notes/music.md §6.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from soundstage.music.types import Piece

Step = tuple[int, int]


def steps(piece: Piece) -> list[Step]:
    """(interval in semitones, onset gap in 16ths at the piece's tempo) along the top line."""
    sixteenth = 60.0 / piece.tempo_bpm / 4
    top: dict[int, int] = {}
    for note in piece.notes:
        tick = round(note.start / sixteenth)
        top[tick] = max(top.get(tick, 0), note.pitch)
    ticks = sorted(top)
    return [(top[b] - top[a], b - a) for a, b in zip(ticks, ticks[1:], strict=False)]


def windows(seq: list[Step], n: int) -> Iterable[tuple[Step, ...]]:
    return (tuple(seq[i : i + n]) for i in range(len(seq) - n + 1))


@dataclass(frozen=True)
class Copying:
    n: int
    pieces: int
    copying: int  # pieces with at least one window found in the corpus
    longest: int  # longest copied run, in notes

    def to_json(self) -> dict[str, float | int]:
        return {
            "window_notes": self.n,
            "pieces": self.pieces,
            "pieces_with_a_copied_window": self.copying,
            "share": round(self.copying / max(1, self.pieces), 3),
            "longest_copied_notes": self.longest,
        }


def corpus_index(corpus: Iterable[Piece], n: int = 16) -> set[tuple[Step, ...]]:
    index: set[tuple[Step, ...]] = set()
    for piece in corpus:
        index.update(windows(steps(piece), n))
    return index


def longest_copy(piece: Piece, index: set[tuple[Step, ...]], n: int) -> int:
    """Notes in the longest run of consecutive windows found in the index (0 when none)."""
    best = run = 0
    for window in windows(steps(piece), n):
        run = run + 1 if window in index else 0
        best = max(best, run)
    return best + n if best else 0


def check(generated: list[Piece], corpus: Iterable[Piece], n: int = 16) -> Copying:
    index = corpus_index(corpus, n)
    lengths = [longest_copy(p, index, n) for p in generated]
    return Copying(n, len(generated), sum(1 for x in lengths if x), max(lengths, default=0))
