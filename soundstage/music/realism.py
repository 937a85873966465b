"""Objective realism of generated music: MusPy features compared with a reference corpus.

Why this shape (notes §6; Yang & Lerch 2018, "On the evaluation of generative models in music";
MusPy, Dong et al. 2020): one number per piece is computed for eight MusPy metrics, the
distribution of each over the reference set (the training corpus) and over the generated set is
smoothed with a Gaussian KDE, and the two densities are compared by their **overlapping area**
OA = ∫ min(p_ref, p_gen) (1 = indistinguishable, 0 = disjoint) and by KL(p_ref ‖ p_gen). The mean
OA over the eight metrics is the headline; the per-metric rows are the actionable part (a drifting
key shows up as n_pitch_classes_used and scale_consistency, a wrong metre as groove_consistency).
Two anchors make the number readable: held-out real music (JSB train → test ≈ .93 in the notes)
and random baselines (random pitches ≈ .46, fully random notes ≈ .16).

The features follow MusPy's `muspy.metrics` source (v0.5) on our `Piece`, measured in beats
(beat = 60 / tempo_bpm seconds, a quarter note) with every time rounded to a grid of
`RESOLUTION` = 24 ticks a beat (MusPy's default resolution; a 16th note is 6 ticks):

- pitch_range: highest − lowest pitch (semitones).
- n_pitch_classes_used: distinct pitch classes (0..12).
- polyphony: on a binary piano roll (one row per tick, one column per pitch, a note sounding on
  [start, end) ticks), the number of on cells over the number of ticks with at least one pitch on.
  A unison between two voices is one cell, as in MusPy.
- scale_consistency: the largest fraction of notes (counted, not weighted by duration) whose pitch
  class lies in one of the 24 major / natural-minor scales.
- pitch_entropy, pitch_class_entropy: Shannon entropy (bits) of the note-count histogram of the
  128 pitches / 12 pitch classes.
- empty_beat_rate: MusPy counts beats where a note **sounds**, not only where one starts: every
  note marks beats start // 24 through end // 24 *inclusive* as non-empty, over
  length // 24 + 1 beats (length = the last note end in ticks). So a note ending exactly on a
  beat also marks that next beat, and the beat that starts at the very end is counted (and
  marked by the notes that end there). We keep these quirks so our numbers match MusPy's.
- groove_consistency: 1 − mean Hamming distance between consecutive bars' binary onset vectors
  (one cell per tick of the bar, bar = 24 · 4 · num / den ticks from `time_signature`), divided
  by the bar length, over length // bar + 1 bars (MusPy again: a piece that ends exactly on a bar
  line gets a trailing empty bar). NaN with fewer than two bars.

Drum tracks are ignored by the pitch metrics and, as in MusPy, kept for the two rhythm metrics.
A piece with no pitched note gives NaN for every feature; `compare` skips and counts such pieces
and drops a NaN feature value (e.g. groove of a one-bar piece) from that feature only.

The KDE is plain numpy (scipy is no dependency): Scott's rule h = sd · n^(-1/5), floored at
`BANDWIDTH_FLOOR` (5%) of the range of both sets together, because a near-constant feature (the
empty-beat rate of chorales is 0 in almost every piece) would otherwise give a spike, OA ≈ 0 and an
exploding KL. Both densities are evaluated in log space on one dense grid reaching 5 bandwidths
past the data, normalised on it, and integrated by the rectangle rule.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from soundstage.music.types import Note, Piece, Track

FEATURES = (
    "pitch_range",
    "n_pitch_classes_used",
    "polyphony",
    "scale_consistency",
    "pitch_entropy",
    "pitch_class_entropy",
    "empty_beat_rate",
    "groove_consistency",
)
RESOLUTION = 24  # ticks per beat, MusPy's default
BANDWIDTH_FLOOR = 0.05  # of the joint range of the two sets
GRID_POINTS = 2048
YL_MAX_SET = 1000  # Yang & Lerch pairwise distances: cap each set (n² pairs)

_C_MAJOR = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=bool)
_C_MINOR = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0], dtype=bool)
SCALES = np.array([np.roll(m, root) for m in (_C_MAJOR, _C_MINOR) for root in range(12)])

FloatArray = NDArray[np.float64]
Values = Sequence[float] | NDArray[np.floating[Any]]  # one feature over a set of pieces
IntArray = NDArray[np.int64]


# --- per-piece features ---------------------------------------------------------------------


def _ticks(notes: Sequence[Note], tempo_bpm: float) -> IntArray:
    """(n, 3) array of pitch, start tick, end tick on the RESOLUTION-per-beat grid."""
    per_second = tempo_bpm / 60.0 * RESOLUTION
    rows = [(n.pitch, round(n.start * per_second), round(n.end * per_second)) for n in notes]
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def _entropy(counts: FloatArray) -> float:
    prob = counts[counts > 0] / counts.sum()
    return float(-(prob * np.log2(prob)).sum())


def _polyphony(pitched: IntArray) -> float:
    length = int(pitched[:, 2].max())
    roll = np.zeros((length, 128), dtype=bool)
    for pitch, start, end in pitched:
        roll[start:end, pitch] = True
    sounding = int(np.count_nonzero(roll.any(axis=1)))
    return float(roll.sum()) / sounding if sounding else math.nan


def _scale_consistency(pitch_classes: IntArray) -> float:
    histogram = np.bincount(pitch_classes, minlength=12)
    return float((SCALES @ histogram).max() / pitch_classes.size)


def _empty_beat_rate(everything: IntArray) -> float:
    length = int(everything[:, 2].max())
    if length < 1:
        return math.nan
    occupied = np.zeros(length // RESOLUTION + 1, dtype=bool)
    for _, start, end in everything:
        occupied[start // RESOLUTION : end // RESOLUTION + 1] = True
    return 1.0 - float(occupied.sum()) / occupied.size


def bar_ticks(time_signature: tuple[int, int]) -> int:
    """Ticks in one bar: 24 a quarter note, so 96 for 4/4, 72 for 6/8 and 3/4."""
    num, den = time_signature
    return max(1, round(RESOLUTION * num * 4 / den))


def _groove_consistency(everything: IntArray, bar: int) -> float:
    n_bars = int(everything[:, 2].max()) // bar + 1
    if n_bars < 2:
        return math.nan
    patterns = np.zeros((n_bars, bar), dtype=bool)
    measure, position = np.divmod(everything[:, 1], bar)
    patterns[measure, position] = True
    hamming = np.count_nonzero(patterns[:-1] != patterns[1:])
    return 1.0 - hamming / (bar * (n_bars - 1))


def features(piece: Piece) -> dict[str, float]:
    """The eight MusPy metrics of one piece (definitions in the module docstring); NaN if empty."""
    pitched = _ticks(piece.notes, piece.tempo_bpm)
    if pitched.size == 0:
        return dict.fromkeys(FEATURES, math.nan)
    every_note = sorted((n for t in piece.tracks for n in t.notes), key=lambda n: n.start)
    everything = _ticks(every_note, piece.tempo_bpm)
    pitches = pitched[:, 0]
    return {
        "pitch_range": float(pitches.max() - pitches.min()),
        "n_pitch_classes_used": float(np.unique(pitches % 12).size),
        "polyphony": _polyphony(pitched),
        "scale_consistency": _scale_consistency(pitches % 12),
        "pitch_entropy": _entropy(np.bincount(pitches, minlength=128).astype(float)),
        "pitch_class_entropy": _entropy(np.bincount(pitches % 12, minlength=12).astype(float)),
        "empty_beat_rate": _empty_beat_rate(everything),
        "groove_consistency": _groove_consistency(everything, bar_ticks(piece.time_signature)),
    }


# --- KDE, overlapping area and KL -----------------------------------------------------------


def scott_bandwidth(values: FloatArray, floor: float) -> float:
    """Scott's rule for one dimension (scipy's gaussian_kde default), never below `floor`."""
    sd = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
    return max(sd * values.size ** (-0.2), floor)


def _weighted_points(values: FloatArray, grid: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Distinct values and their weights; many distinct values are binned to the nearest grid
    point (grid step < h / 100, so the error is negligible and the cost stays grid-sized)."""
    points, counts = np.unique(values, return_counts=True)
    if points.size > grid.size:
        step = grid[1] - grid[0]
        index = np.clip(np.rint((values - grid[0]) / step).astype(np.int64), 0, grid.size - 1)
        counts = np.bincount(index, minlength=grid.size)
        points = grid[counts > 0]
        counts = counts[counts > 0]
    return points.astype(np.float64), counts / counts.sum()


def log_kde(values: FloatArray, bandwidth: float, grid: FloatArray) -> FloatArray:
    """log of the Gaussian KDE of `values` on `grid`, by log-sum-exp (no underflow in the tails)."""
    points, weights = _weighted_points(values, grid)
    total = np.full(grid.size, -np.inf)
    for begin in range(0, points.size, 256):
        z = (grid[:, None] - points[None, begin : begin + 256]) / bandwidth
        terms = np.log(weights[None, begin : begin + 256]) - 0.5 * z * z
        peak = terms.max(axis=1)
        total = np.logaddexp(total, peak + np.log(np.exp(terms - peak[:, None]).sum(axis=1)))
    return total - math.log(bandwidth * math.sqrt(2.0 * math.pi))


def _finite(values: Values) -> FloatArray:
    array = np.asarray(values, dtype=np.float64).ravel()
    return array[np.isfinite(array)]


def overlap(ref_values: Values, gen_values: Values) -> tuple[float, float]:
    """(OA, KL(ref ‖ gen)) of the two samples' Gaussian KDEs; (nan, nan) if either is empty.

    NaN values are dropped. Both bandwidths are floored at 5% of the joint range, so a constant
    feature is a narrow bump, not a spike; two identical constant samples give (1.0, 0.0).
    """
    ref, gen = _finite(ref_values), _finite(gen_values)
    if ref.size == 0 or gen.size == 0:
        return math.nan, math.nan
    low, high = min(ref.min(), gen.min()), max(ref.max(), gen.max())
    if high == low:
        return 1.0, 0.0
    floor = BANDWIDTH_FLOOR * (high - low)
    h_ref, h_gen = scott_bandwidth(ref, floor), scott_bandwidth(gen, floor)
    reach = 5.0 * max(h_ref, h_gen)
    grid = np.linspace(low - reach, high + reach, GRID_POINTS)
    step = float(grid[1] - grid[0])
    log_p = _normalised(log_kde(ref, h_ref, grid), step)
    log_q = _normalised(log_kde(gen, h_gen, grid), step)
    p, q = np.exp(log_p), np.exp(log_q)
    oa = float(np.minimum(p, q).sum() * step)
    kl = float(np.where(p > 0, p * (log_p - log_q), 0.0).sum() * step)
    return min(max(oa, 0.0), 1.0), max(kl, 0.0)


def _normalised(log_density: FloatArray, step: float) -> FloatArray:
    peak = float(log_density.max())
    return log_density - (peak + math.log(np.exp(log_density - peak).sum() * step))


def _capped(values: FloatArray, limit: int) -> FloatArray:
    if values.size <= limit:
        return values
    return np.random.default_rng(0).choice(values, size=limit, replace=False)


def yl_overlap(ref_values: Values, gen_values: Values) -> tuple[float, float]:
    """Yang & Lerch's relative view: (OA, KL) of the reference's intra-set pairwise distances vs
    the reference ↔ generated inter-set distances (sets capped at YL_MAX_SET, seed 0)."""
    ref, gen = _capped(_finite(ref_values), YL_MAX_SET), _capped(_finite(gen_values), YL_MAX_SET)
    if ref.size < 2 or gen.size == 0:
        return math.nan, math.nan
    upper = np.triu_indices(ref.size, k=1)
    intra = np.abs(ref[:, None] - ref[None, :])[upper]
    inter = np.abs(ref[:, None] - gen[None, :]).ravel()
    return overlap(intra, inter)


# --- comparing two sets ---------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureComparison:
    """One metric: absolute view (mean ± sd per set) and relative view (OA, KL; YL variant)."""

    name: str
    oa: float
    kl: float
    yl_oa: float
    yl_kl: float
    reference_mean: float
    reference_sd: float
    generated_mean: float
    generated_sd: float
    n_reference: int  # pieces with a finite value
    n_generated: int


@dataclass(frozen=True)
class Report:
    """Per-metric comparisons plus the means over the eight metrics and the piece counts."""

    features: tuple[FeatureComparison, ...]
    mean_oa: float
    mean_kl: float
    mean_yl_oa: float
    mean_yl_kl: float
    n_reference: int  # pieces used (non-empty)
    n_generated: int
    skipped_reference: int  # pieces with no pitched note
    skipped_generated: int

    def feature(self, name: str) -> FeatureComparison:
        return next(f for f in self.features if f.name == name)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict; NaN becomes None."""
        safe: dict[str, Any] = _json_safe(dataclasses.asdict(self))
        return safe

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def table(self) -> str:
        """Markdown table for docs/benchmarks.md: one row per metric and the mean row."""
        lines = [
            "| metric | reference mean ± sd | generated mean ± sd | OA | KL | YL-OA | YL-KL |",
            "|---|---|---|---|---|---|---|",
        ]
        for f in self.features:
            lines.append(
                f"| {f.name} | {_pm(f.reference_mean, f.reference_sd)} "
                f"| {_pm(f.generated_mean, f.generated_sd)} | {_num(f.oa)} | {_num(f.kl)} "
                f"| {_num(f.yl_oa)} | {_num(f.yl_kl)} |"
            )
        lines.append(
            f"| **mean of {len(self.features)}** | n = {self.n_reference} "
            f"(skipped {self.skipped_reference}) | n = {self.n_generated} "
            f"(skipped {self.skipped_generated}) | **{_num(self.mean_oa)}** "
            f"| {_num(self.mean_kl)} | {_num(self.mean_yl_oa)} | {_num(self.mean_yl_kl)} |"
        )
        return "\n".join(lines)


def _num(value: float, digits: int = 3) -> str:
    return "–" if not math.isfinite(value) else f"{value:.{digits}f}"


def _pm(mean: float, sd: float) -> str:
    return f"{_num(mean)} ± {_num(sd)}"


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    return obj


def _feature_matrix(items: Sequence[Piece] | Sequence[Mapping[str, float]]) -> FloatArray:
    """(pieces, 8) feature values; a Mapping is taken as already computed features."""
    rows: list[Mapping[str, float]] = [
        features(item) if isinstance(item, Piece) else item for item in items
    ]
    return np.array(
        [[float(row.get(name, math.nan)) for name in FEATURES] for row in rows],
        dtype=np.float64,
    ).reshape(-1, len(FEATURES))


def _mean_sd(values: FloatArray) -> tuple[float, float]:
    if values.size == 0:
        return math.nan, math.nan
    sd = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
    return float(values.mean()), sd


def _finite_mean(values: Sequence[float]) -> float:
    kept = [v for v in values if math.isfinite(v)]
    return sum(kept) / len(kept) if kept else math.nan


def _compare_feature(name: str, ref: FloatArray, gen: FloatArray, yl: bool) -> FeatureComparison:
    ref, gen = _finite(ref), _finite(gen)
    oa, kl = overlap(ref, gen)
    yl_oa, yl_kl = yl_overlap(ref, gen) if yl else (math.nan, math.nan)
    return FeatureComparison(
        name, oa, kl, yl_oa, yl_kl, *_mean_sd(ref), *_mean_sd(gen), int(ref.size), int(gen.size)
    )


def compare(
    reference: Sequence[Piece] | Sequence[Mapping[str, float]],
    generated: Sequence[Piece] | Sequence[Mapping[str, float]],
    *,
    yl: bool = True,
) -> Report:
    """Compare a generated set with a reference set, metric by metric (see the module docstring).

    Either set may be given as Pieces or as the `features()` dicts already computed (cheaper when
    one reference is compared with several sets). Means are over the metrics with a finite value.
    """
    ref, gen = _feature_matrix(reference), _feature_matrix(generated)
    ref_empty, gen_empty = np.isnan(ref).all(axis=1), np.isnan(gen).all(axis=1)
    ref, gen = ref[~ref_empty], gen[~gen_empty]
    rows = tuple(
        _compare_feature(name, ref[:, i], gen[:, i], yl) for i, name in enumerate(FEATURES)
    )
    return Report(
        features=rows,
        mean_oa=_finite_mean([r.oa for r in rows]),
        mean_kl=_finite_mean([r.kl for r in rows]),
        mean_yl_oa=_finite_mean([r.yl_oa for r in rows]),
        mean_yl_kl=_finite_mean([r.yl_kl for r in rows]),
        n_reference=int(ref.shape[0]),
        n_generated=int(gen.shape[0]),
        skipped_reference=int(ref_empty.sum()),
        skipped_generated=int(gen_empty.sum()),
    )


def summary_table(reports: Mapping[str, Report]) -> str:
    """The anchors table of the notes: one row per compared set, the means over the metrics."""
    lines = [
        "| reference → compared set | n | mean OA | mean KL | mean YL-OA | mean YL-KL |",
        "|---|---|---|---|---|---|",
    ]
    for label, r in reports.items():
        lines.append(
            f"| {label} | {r.n_generated} | **{_num(r.mean_oa)}** | {_num(r.mean_kl, 2)} "
            f"| {_num(r.mean_yl_oa)} | {_num(r.mean_yl_kl, 2)} |"
        )
    return "\n".join(lines)


# --- random anchors -------------------------------------------------------------------------


def random_pitches(piece: Piece, rng: np.random.Generator) -> Piece:
    """The same notes (rhythm, velocities, voices) with each pitch drawn uniformly within its
    own track's pitch range; drum tracks are kept as they are. The middle anchor."""
    tracks = []
    for track in piece.tracks:
        if track.is_drum or not track.notes:
            tracks.append(track)
            continue
        low = min(n.pitch for n in track.notes)
        high = max(n.pitch for n in track.notes)
        pitches = rng.integers(low, high + 1, size=len(track.notes))
        notes = tuple(
            dataclasses.replace(n, pitch=int(p)) for n, p in zip(track.notes, pitches, strict=True)
        )
        tracks.append(dataclasses.replace(track, notes=notes))
    return dataclasses.replace(piece, tracks=tuple(tracks), source="random_pitches")


def random_notes(
    n_voices: int,
    seconds: float,
    rng: np.random.Generator,
    *,
    tempo_bpm: float = 90.0,
    low: int = 36,
    high: int = 84,
    rest_probability: float = 0.2,
) -> Piece:
    """Fully random music, the lower anchor: each voice is a run of events on the 16th-note grid
    lasting 1–8 sixteenths (uniform), each a rest with `rest_probability`, else a note with a
    pitch uniform in low..high (C2–C6 by default), until `seconds`. 4/4 at `tempo_bpm`."""
    step = 60.0 / tempo_bpm / 4
    total = max(1, round(seconds / step))
    tracks = []
    for voice in range(n_voices):
        notes, t = [], 0
        while t < total:
            length = int(rng.integers(1, 9))
            if rng.random() >= rest_probability:
                pitch = int(rng.integers(low, high + 1))
                notes.append(Note(pitch, t * step, min(t + length, total) * step))
            t += length
        tracks.append(Track(0, False, f"voice {voice + 1}", tuple(notes)))
    return Piece(tuple(tracks), tempo_bpm, (4, 4), title="random notes", source="random_notes")
