"""Realism metrics: MusPy features on hand-built pieces, KDE overlap, and the JSB anchors."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from soundstage.music import corpus, realism
from soundstage.music.realism import (
    FEATURES,
    bar_ticks,
    compare,
    features,
    overlap,
    random_notes,
    random_pitches,
    yl_overlap,
)
from soundstage.music.types import Note, Piece, Track, duration

BEAT = 0.5  # seconds at the default 120 bpm


def piece_of(*voices: list[tuple[int, float, float]], metre: tuple[int, int] = (4, 4)) -> Piece:
    """Voices of (pitch, start beat, length in beats) at 120 bpm."""
    tracks = tuple(
        Track(notes=tuple(Note(p, s * BEAT, (s + d) * BEAT) for p, s, d in voice))
        for voice in voices
    )
    return Piece(tracks, tempo_bpm=120.0, time_signature=metre)


C_MAJOR = [(p, float(i), 1.0) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72])]


def test_c_major_scale_features() -> None:
    f = features(piece_of(C_MAJOR))
    assert set(f) == set(FEATURES)
    assert f["pitch_range"] == 12
    assert f["n_pitch_classes_used"] == 7
    assert f["polyphony"] == 1.0
    assert f["scale_consistency"] == 1.0
    assert f["pitch_entropy"] == pytest.approx(3.0)  # 8 distinct pitches
    assert f["pitch_class_entropy"] == pytest.approx(2.75)  # C twice, six others once
    assert f["empty_beat_rate"] == 0.0
    # MusPy: 8 beats end exactly on a bar line, so a third, empty bar is counted
    assert f["groove_consistency"] == pytest.approx(1 - 4 / (96 * 2))


def test_chord_polyphony_and_unison() -> None:
    chord = features(piece_of([(60, 0, 2)], [(64, 0, 2)], [(67, 0, 2)]))
    assert chord["polyphony"] == 3.0
    assert chord["pitch_range"] == 7 and chord["n_pitch_classes_used"] == 3
    half = features(piece_of([(60, 0, 2)], [(64, 0, 1)]))
    assert half["polyphony"] == pytest.approx(1.5)
    unison = features(piece_of([(60, 0, 2)], [(60, 0, 2)]))
    assert unison["polyphony"] == 1.0  # one piano-roll cell, as in MusPy


def test_scale_consistency_counts_notes_out_of_scale() -> None:
    f = features(piece_of([*C_MAJOR, (61, 8.0, 1.0), (66, 9.0, 1.0)]))
    assert f["scale_consistency"] == pytest.approx(8 / 10)


def test_empty_bar_gives_empty_beats() -> None:
    bar_one = [(60 + i, float(i), 0.5) for i in range(4)]
    bar_three = [(60 + i, 8.0 + i, 0.5) for i in range(4)]
    # beats 4..7 are silent; the last note ends at beat 11.5, so 12 beats are counted
    assert features(piece_of(bar_one + bar_three))["empty_beat_rate"] == pytest.approx(4 / 12)
    legato = [(p, s, 1.0) for p, s, _ in bar_one + bar_three]
    # MusPy's quirk: a note ending on beat 4 marks beat 4; 13 beats (0..12) are counted
    assert features(piece_of(legato))["empty_beat_rate"] == pytest.approx(3 / 13)


def test_groove_consistency() -> None:
    pattern = [0.0, 1.0, 1.5, 2.0, 3.0]
    same = [(60 + i, 4.0 * bar + b, 0.5) for bar in range(4) for i, b in enumerate(pattern)]
    assert features(piece_of(same))["groove_consistency"] == 1.0
    other = [n for n in same if not (4.0 <= n[1] < 8.0 and n[1] % 4 not in (0.0, 2.0))]
    # bar 2 keeps 2 of 5 onsets: Hamming 3 to bar 1 and 3 to bar 3, over 3 pairs of 96 ticks
    assert features(piece_of(other))["groove_consistency"] == pytest.approx(1 - 6 / 288)
    one_bar = [(60, 0.0, 1.0)]
    assert math.isnan(features(piece_of(one_bar))["groove_consistency"])


def test_bar_length_follows_time_signature() -> None:
    assert bar_ticks((4, 4)) == 96
    assert bar_ticks((3, 4)) == 72
    assert bar_ticks((6, 8)) == 72
    assert bar_ticks((2, 2)) == 96
    waltz = [(60, 3.0 * bar + b, 0.5) for bar in range(3) for b in (0.0, 1.0, 2.0)]
    assert features(piece_of(waltz, metre=(3, 4)))["groove_consistency"] == 1.0
    assert features(piece_of(waltz, metre=(4, 4)))["groove_consistency"] < 1.0


def test_quantisation_uses_beats_not_seconds() -> None:
    notes = (Note(60, 0.0, 0.25), Note(62, 3.0, 3.25))
    # 60 bpm: onsets on beats 0 and 3, 4 beats counted, beats 1 and 2 empty
    assert features(Piece((Track(notes=notes),), tempo_bpm=60.0))["empty_beat_rate"] == 0.5
    # 120 bpm: onsets on beats 0 and 6, 7 beats counted, 5 empty
    fast = features(Piece((Track(notes=notes),), tempo_bpm=120.0))
    assert fast["empty_beat_rate"] == pytest.approx(5 / 7)


def test_empty_piece_is_nan_and_skipped() -> None:
    assert all(math.isnan(v) for v in features(Piece()).values())
    scale = piece_of(C_MAJOR)
    report = compare([scale, Piece(), scale], [scale, Piece(tracks=(Track(),))])
    assert report.n_reference == 2 and report.skipped_reference == 1
    assert report.n_generated == 1 and report.skipped_generated == 1


def test_overlap_of_a_sample_with_itself_is_one() -> None:
    x = np.random.default_rng(1).normal(size=300)
    oa, kl = overlap(x, x)
    assert oa == pytest.approx(1.0, abs=1e-6)
    assert kl == pytest.approx(0.0, abs=1e-6)


def test_overlap_of_far_apart_gaussians_is_zero() -> None:
    rng = np.random.default_rng(2)
    oa, kl = overlap(rng.normal(0, 1, 200), rng.normal(50, 1, 200))
    assert oa < 1e-3
    assert kl > 10


def test_overlap_of_two_samples_of_one_distribution_is_high() -> None:
    rng = np.random.default_rng(3)
    oa, _ = overlap(rng.normal(0, 1, 400), rng.normal(0, 1, 400))
    assert 0.85 < oa < 1.0
    shifted, _ = overlap(rng.normal(0, 1, 400), rng.normal(1, 1, 400))
    assert 0.45 < shifted < 0.75  # two unit Gaussians one sd apart overlap by 0.617


def test_kl_is_non_negative_and_asymmetric() -> None:
    rng = np.random.default_rng(4)
    for _ in range(5):
        a, b = rng.normal(0, 1, 50), rng.normal(rng.uniform(-2, 2), rng.uniform(0.3, 3), 80)
        oa, kl = overlap(a, b)
        assert 0.0 <= oa <= 1.0 and kl >= 0.0
    narrow, wide = rng.normal(0, 0.5, 300), rng.normal(0, 3, 300)
    assert overlap(narrow, wide)[1] < overlap(wide, narrow)[1]


def test_bandwidth_floor_keeps_constant_feature_from_collapsing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chorales = np.zeros(100)  # empty_beat_rate of chorales: 0 nearly everywhere
    generated = np.r_[np.zeros(99), 0.25]  # one piece with a silent beat
    oa, kl = overlap(chorales, generated)
    assert oa > 0.95 and kl < 0.1
    assert overlap(np.full(10, 3.0), np.full(20, 3.0)) == (1.0, 0.0)
    monkeypatch.setattr(realism, "BANDWIDTH_FLOOR", 1e-9)
    assert overlap(chorales, generated)[0] < 0.05  # without the floor: a spike, OA ≈ 0


def test_overlap_drops_nan_and_handles_empty() -> None:
    x = [1.0, 2.0, 3.0, math.nan]
    assert overlap(x, [1.0, 2.0, 3.0]) == pytest.approx(overlap([1.0, 2.0, 3.0], [1, 2, 3]))
    assert all(math.isnan(v) for v in overlap([], [1.0, 2.0]))


def test_yl_overlap_separates_near_and_far_sets() -> None:
    rng = np.random.default_rng(5)
    ref = rng.normal(0, 1, 150)
    near, _ = yl_overlap(ref, rng.normal(0, 1, 100))
    far, _ = yl_overlap(ref, rng.normal(5, 1, 100))
    assert near > 0.9 and far < 0.2


def test_compare_report_from_pieces_or_feature_dicts() -> None:
    rng = np.random.default_rng(6)
    base = piece_of(C_MAJOR, [(48, 0.0, 4.0), (55, 4.0, 4.0)])
    pieces = [random_pitches(base, rng) for _ in range(12)]
    from_pieces = compare(pieces[:6], pieces[6:])
    from_dicts = compare([features(p) for p in pieces[:6]], [features(p) for p in pieces[6:]])
    assert from_pieces == from_dicts
    assert [f.name for f in from_pieces.features] == list(FEATURES)
    assert 0.0 <= from_pieces.mean_oa <= 1.0 and from_pieces.mean_kl >= 0.0
    data = json.loads(from_pieces.to_json())
    assert data["n_reference"] == 6 and len(data["features"]) == 8
    table = from_pieces.table().splitlines()
    assert len(table) == 2 + 8 + 1 and table[2].startswith("| pitch_range |")
    summary = realism.summary_table({"a → b": from_pieces})
    assert f"{from_pieces.mean_oa:.3f}" in summary


def test_report_json_turns_nan_into_null() -> None:
    one_bar = piece_of([(60, 0.0, 1.0)])
    report = compare([one_bar], [one_bar])
    groove = json.loads(report.to_json())["features"][FEATURES.index("groove_consistency")]
    assert groove["oa"] is None and groove["n_reference"] == 0
    assert report.mean_oa == 1.0  # the other 7 metrics are identical


def test_random_pitches_keeps_rhythm_and_each_voice_range() -> None:
    soprano = [(67 + (i % 5), float(i), 1.0) for i in range(16)]
    bass = [(40 + (i % 7), 2.0 * i, 2.0) for i in range(8)]
    piece = piece_of(soprano, bass)
    shuffled = random_pitches(piece, np.random.default_rng(7))
    for before, after in zip(piece.tracks, shuffled.tracks, strict=True):
        assert [(n.start, n.end) for n in before.notes] == [(n.start, n.end) for n in after.notes]
        low, high = min(n.pitch for n in before.notes), max(n.pitch for n in before.notes)
        assert all(low <= n.pitch <= high for n in after.notes)
    assert [n.pitch for n in shuffled.notes] != [n.pitch for n in piece.notes]


def test_random_notes_are_bounded() -> None:
    piece = random_notes(4, 30.0, np.random.default_rng(8), low=50, high=70)
    assert len(piece.tracks) == 4 and piece.note_count > 40
    assert duration(piece) <= 30.0 + 1e-9
    assert all(50 <= n.pitch <= 70 for n in piece.notes)
    assert features(piece)["n_pitch_classes_used"] == 12


def _jsb(jsb: Path, split: str) -> list[Piece]:
    found = corpus.units("jsb_chorales", jsb_dir=jsb)
    return [corpus.load_unit(u, jsb_dir=jsb) for u in found if u.id.startswith(f"{split}-")]


def test_jsb_anchors(shared: Callable[..., Path]) -> None:
    jsb = shared("music", "jsb_chorales")
    train = [features(p) for p in _jsb(jsb, "train")]
    test = _jsb(jsb, "test")
    assert len(train) == 229 and len(test) == 77
    rng = np.random.default_rng(0)
    real = compare(train, test, yl=False)
    pitches = compare(train, [random_pitches(p, rng) for p in test], yl=False)
    noise = compare(train, [random_notes(4, duration(p), rng) for p in test], yl=False)
    assert real.mean_oa > 0.85
    assert pitches.mean_oa < 0.7
    assert noise.mean_oa < pitches.mean_oa
