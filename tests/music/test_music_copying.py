"""The memorisation check finds copies in any key and tempo, and only real copies."""

from __future__ import annotations

import numpy as np

from soundstage.music.copying import check, corpus_index, longest_copy, steps
from soundstage.music.types import Note, Piece, Track


def tune(pitches: list[int], bpm: float = 120.0, shift: int = 0) -> Piece:
    eighth = 60.0 / bpm / 2
    notes = tuple(Note(p + shift, i * eighth, (i + 1) * eighth, 80) for i, p in enumerate(pitches))
    return Piece((Track(0, False, "m", notes),), tempo_bpm=bpm)


RNG = np.random.default_rng(0)
SOURCE = [int(x) for x in 60 + RNG.integers(0, 12, size=40)]


def test_steps_are_intervals_and_gaps_on_the_top_line() -> None:
    chordal = Piece(
        (Track(0, False, "", (Note(60, 0, 0.5), Note(67, 0, 0.5), Note(64, 0.5, 1.0))),),
        tempo_bpm=120.0,
    )
    assert steps(chordal) == [(-3, 4)]  # top notes 67 → 64, a quarter note (four 16ths) apart


def test_a_transposed_slower_quotation_is_found_with_its_length() -> None:
    quote = SOURCE[5:29]  # 24 notes
    generated = tune([50, 51, 49] + quote + [40, 41], bpm=90.0, shift=7)
    index = corpus_index([tune(SOURCE)], n=16)
    assert longest_copy(generated, index, 16) == 24  # the whole 24-note quotation
    result = check([generated], [tune(SOURCE)], n=16)
    assert result.copying == 1 and result.longest == 24


def test_original_material_and_short_echoes_are_not_flagged() -> None:
    other = [int(x) for x in 60 + np.random.default_rng(1).integers(0, 12, size=40)]
    echo = tune(SOURCE[:10] + other[:20])  # a 10-note echo is below the 16-step window
    result = check([tune(other), echo], [tune(SOURCE)], n=16)
    assert result.copying == 0 and result.longest == 0
    assert result.to_json()["share"] == 0.0
