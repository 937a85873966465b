"""Emotion → frame, and the arranger's layers, cadence and exact length (no model needed)."""

from __future__ import annotations

import pytest

from soundstage.errors import ConfigError
from soundstage.music.arrange import arrange, choose_chords, triad
from soundstage.music.frame import frame_for, nearest
from soundstage.music.generate import BeatNote, from_notes, to_notes
from soundstage.music.leitmotif import Motif, realise, stretch_for
from soundstage.music.tokens import estimate_key
from soundstage.music.types import duration


def scale_melody(frame, bars: int) -> list[BeatNote]:  # type: ignore[no-untyped-def]
    """Quarter notes walking the frame's scale, bar after bar."""
    tonic = nearest(frame.tonic, frame.centre)
    notes = []
    for i in range(bars * frame.beats_per_bar):
        step = i % 7
        notes.append(BeatNote(tonic + frame.scale[step], float(i), 1.0, 80))
    return notes


@pytest.mark.parametrize(
    ("v", "a", "major", "fast"),
    [
        (0.7, 0.7, True, True),
        (-0.7, 0.7, False, True),
        (-0.7, -0.7, False, False),
        (0.7, -0.7, True, False),
    ],
)
def test_frame_follows_the_circumplex(v: float, a: float, major: bool, fast: bool) -> None:
    frame = frame_for(v, a, 30.0)
    assert frame.major is major
    assert (frame.bpm > 100) is fast
    assert (frame.velocity > 80) is fast
    assert frame.quadrant == (
        "Q1" if major and fast else "Q2" if fast else "Q3" if not major else "Q4"
    )


def test_frame_fills_the_duration_with_whole_bars() -> None:
    for seconds in (5.0, 17.3, 61.0, 600.0):
        frame = frame_for(0.2, 0.1, seconds)
        assert frame.seconds_of(frame.beats) == pytest.approx(seconds)
        assert frame.bars >= 1


def test_brighter_modes_for_happier_valence() -> None:
    modes = [frame_for(v, 0.0, 20.0).mode for v in (1.0, 0.6, 0.2, -0.2, -0.6, -1.0)]
    assert modes == ["lydian", "ionian", "mixolydian", "dorian", "aeolian", "phrygian"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seconds": 0.0}, "must be positive"),
        ({"seconds": -3.0}, "must be positive"),
        ({"seconds": 1201.0}, "20-minute"),
        ({"style": "polka"}, "unknown style"),
        ({"valence": 1.5}, "valence 1.5 is outside"),
    ],
)
def test_bad_cue_values_are_one_line_errors(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"valence": 0.0, "arousal": 0.0, "seconds": 10.0, **kwargs}
    with pytest.raises(ConfigError, match=message):
        frame_for(args.pop("valence"), args.pop("arousal"), args.pop("seconds"), **args)  # type: ignore[arg-type]


def test_chords_end_on_an_authentic_cadence() -> None:
    frame = frame_for(0.5, 0.2, 24.0, tonic=2)
    chords = choose_chords(frame, scale_melody(frame, frame.bars))
    assert len(chords) == frame.bars
    assert chords[-2:] == [4, 0]
    minor = frame_for(-0.7, 0.2, 24.0, tonic=9)
    v = triad(minor, 4, major_dominant=True)
    assert (v[1] - v[0]) % 12 == 4  # raised third: the leading tone of A minor is G#
    assert v[1] == 8


def test_arrangement_is_exact_length_with_layers_and_tonic_ending() -> None:
    frame = frame_for(0.6, 0.8, 19.0, tonic=7)
    piece = arrange(frame, scale_melody(frame, frame.bars))
    assert duration(piece) == pytest.approx(19.0, abs=1e-6)
    names = [t.name for t in piece.tracks]
    assert names[:4] == ["melody", "harmony", "pad", "bass"]
    assert "percussion" in names and piece.tracks[-1].is_drum  # high arousal
    melody = piece.tracks[0].notes
    assert melody[-1].pitch % 12 == 7 and melody[-1].end == pytest.approx(19.0)
    assert piece.tracks[3].notes[-1].pitch % 12 == 7  # bass lands on the tonic
    assert estimate_key(piece) == (7, "major")


def test_calm_cues_are_slower_softer_and_without_drums() -> None:
    calm = frame_for(0.6, -0.8, 30.0, tonic=2)
    excited = frame_for(0.6, 0.8, 30.0, tonic=2)
    a, b = (arrange(f, scale_melody(f, f.bars)) for f in (calm, excited))
    assert not any(t.is_drum for t in a.tracks)
    mean = lambda p: sum(n.velocity for t in p.tracks for n in t.notes) / p.note_count  # noqa: E731
    assert mean(a) < mean(b)
    assert a.note_count / 30.0 < b.note_count / 30.0
    assert a.tracks[0].program != b.tracks[0].program or a.tracks[1].program != b.tracks[1].program


def test_sad_arrangement_reads_as_minor() -> None:
    frame = frame_for(-0.7, -0.5, 30.0, tonic=9)
    piece = arrange(frame, scale_melody(frame, frame.bars))
    assert estimate_key(piece)[1] == "minor"


def test_remi_round_trip_of_beat_notes() -> None:
    notes = [BeatNote(60, 0.0, 1.0, 79), BeatNote(64, 1.5, 0.5, 95), BeatNote(67, 4.25, 2.0, 63)]
    tokens = from_notes(notes, 2)
    back, bars = to_notes(tokens)
    assert bars == 2
    assert [(n.pitch, n.start, n.length, n.velocity) for n in back] == [
        (n.pitch, n.start, n.length, n.velocity) for n in notes
    ]


def test_motif_changes_mode_key_and_length_with_emotion() -> None:
    motif = Motif(
        "MAYA", degrees=(0, 2, 4, 5, 4), onsets=(0, 1, 2, 3, 3.5), lengths=(1, 1, 1, 0.5, 0.5)
    )
    happy = frame_for(0.6, 0.2, 30.0, tonic=0)
    sad = frame_for(-0.6, -0.6, 30.0, tonic=9)
    up, down = realise(motif, happy), realise(motif, sad)
    steps_up = [n.pitch - up[0].pitch for n in up]
    steps_down = [n.pitch - down[0].pitch for n in down]
    assert steps_up == [0, 4, 7, 9, 7]  # major third
    assert steps_down == [0, 3, 7, 8, 7]  # minor third, minor sixth: same degrees in Aeolian
    assert up[0].pitch % 12 == 0 and down[0].pitch % 12 == 9
    assert stretch_for(sad, motif) == 2.0
    assert down[-1].end == pytest.approx(2 * up[-1].end)
