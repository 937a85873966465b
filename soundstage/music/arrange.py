"""Melody → full arrangement: harmony, bass, pad and percussion layers, ending on a cadence.

The model writes the melody; the layers under it are derived by rules a film orchestrator would
recognise, because they must obey the frame exactly (key, mode, bar count, dynamics) and land on
the out point:

1. **Chords**: one diatonic triad per bar, chosen by Viterbi over (melody notes that are chord
   tones, weighted by duration and downbeat) + a transition prior of common progressions. The last
   two bars are forced to V → I (major V in minor modes: the leading tone makes the cadence).
2. **Melody**: the model's notes, articulated (staccato/legato) and shaped by a dynamic arc; the
   last bar is replaced by the tonic, held to the final beat.
3. **Bass**: chord roots in the low register; whole notes when calm, root–fifth halves in
   between, driving quarters/eighths when aroused.
4. **Pad**: sustained triads with smooth (nearest) voice leading.
5. **Harmony**: a rhythmic layer: harp/guitar arpeggios, piano broken chords, string tremolo.
6. **Percussion** (high arousal only): kick/snare/hats, toms for tension, a crash on the cadence.

Every note ends by `frame.beats`, so the cue lasts exactly `frame.seconds`.
"""

from __future__ import annotations

import numpy as np

from soundstage.music.frame import Frame, nearest
from soundstage.music.generate import BeatNote
from soundstage.music.types import Note, Piece, Track

# Transition prior between scale degrees (0 = I … 6 = vii), from common-practice progressions.
_GOOD = {(0, 3), (0, 4), (0, 5), (0, 1), (1, 4), (3, 4), (3, 0), (4, 0), (4, 5), (5, 3), (5, 1),
         (2, 5), (5, 4), (3, 1), (6, 0), (1, 6), (0, 2)}  # fmt: skip
_USABLE = (0, 1, 3, 4, 5)  # avoid iii and vii° as free choices: rarely helpful in this idiom


def triad(frame: Frame, degree: int, *, major_dominant: bool = False) -> tuple[int, int, int]:
    """Pitch classes of the triad on a scale degree (raised third for a cadential V)."""
    scale = frame.scale
    pcs = [(frame.tonic + scale[(degree + k) % 7]) % 12 for k in (0, 2, 4)]
    if major_dominant and degree == 4:
        pcs[1] = (pcs[0] + 4) % 12
    return pcs[0], pcs[1], pcs[2]


def choose_chords(frame: Frame, melody: list[BeatNote]) -> list[int]:
    """One scale degree per bar (Viterbi over fit + progression prior), ending V → I."""
    bars, bpb = frame.bars, frame.beats_per_bar
    fit = np.zeros((bars, 7))
    for note in melody:
        bar = int(note.start // bpb)
        if bar >= bars:
            continue
        weight = min(note.length, bpb) * (1.5 if note.start % bpb == 0 else 1.0)
        for d in range(7):
            pcs = triad(frame, d)
            if note.pitch % 12 in pcs:
                fit[bar, d] += weight * (1.3 if note.pitch % 12 == pcs[0] else 1.0)
            else:
                fit[bar, d] -= 0.5 * weight
    allowed = np.full((bars, 7), False)
    allowed[:, list(_USABLE)] = True
    if bars >= 2:
        allowed[bars - 2, :] = False
        allowed[bars - 2, 4] = True
    allowed[bars - 1, :] = False
    allowed[bars - 1, 0] = True
    prior = np.array(
        [[1.0 if (p, d) in _GOOD else -0.5 if p == d else -1.5 for d in range(7)] for p in range(7)]
    )
    score = np.where(allowed[0], fit[0] + np.where(np.arange(7) == 0, 2.0, 0.0), -np.inf)
    back = np.zeros((bars, 7), dtype=int)
    for b in range(1, bars):
        total = score[:, None] + prior  # (previous, current)
        back[b] = total.argmax(axis=0)
        score = np.where(allowed[b], total.max(axis=0) + fit[b], -np.inf)
    path = [int(score.argmax())]
    for b in range(bars - 1, 0, -1):
        path.append(int(back[b, path[-1]]))
    return path[::-1]


def arc(frame: Frame, beat: float) -> float:
    """Dynamic shape: grow to a peak at 2/3 of the cue, then ease off (less when aroused)."""
    x = beat / max(frame.beats, 1)
    peak = 1.0 if x < 2 / 3 else 1.0 - (x - 2 / 3) * (0.6 - 0.4 * (frame.arousal + 1) / 2)
    return 0.8 + 0.2 * min(1.0, x * 1.5) if x < 2 / 3 else peak


def _vel(frame: Frame, beat: float, scale: float = 1.0) -> int:
    return max(1, min(127, round(frame.velocity * scale * arc(frame, beat))))


def realise_melody(frame: Frame, melody: list[BeatNote]) -> list[BeatNote]:
    """Fit the model's melody to the frame: clip to the cue, articulate, cadence on the tonic."""
    bpb, end = frame.beats_per_bar, frame.beats
    last_bar = end - bpb
    out: list[BeatNote] = []
    for note in melody:
        if note.start >= last_bar:
            continue
        length = min(note.length, last_bar - note.start) * frame.articulation
        out.append(BeatNote(note.pitch, note.start, max(0.125, length), _vel(frame, note.start)))
    anchor = out[-1].pitch if out else frame.centre
    tonic = nearest(frame.tonic, anchor)
    out.append(BeatNote(tonic, float(last_bar), float(bpb), _vel(frame, last_bar)))
    return out


def bass_line(frame: Frame, chords: list[int]) -> list[BeatNote]:
    bpb, a = frame.beats_per_bar, (frame.arousal + 1) / 2
    out: list[BeatNote] = []
    for bar, degree in enumerate(chords):
        root, _, fifth = triad(frame, degree, major_dominant=True)
        low = 36 + (root - 36) % 12  # C2..B2
        start = bar * bpb
        if bar == len(chords) - 1 or a < 0.35:
            pattern = [(0.0, float(bpb), low)]
        elif a < 0.6:
            half = bpb / 2
            pattern = [(0.0, half, low), (half, half, nearest(fifth, low + 5))]
        elif frame.quadrant == "Q2":
            pattern = [(i * 0.5, 0.45, low) for i in range(bpb * 2)]
        else:
            pattern = [
                (float(i), 0.9, low if i % 2 == 0 else nearest(fifth, low + 5)) for i in range(bpb)
            ]
        out += [BeatNote(p, start + t, d, _vel(frame, start + t, 0.9)) for t, d, p in pattern]
    return out


def voicing(pcs: tuple[int, int, int], previous: list[int], centre: int) -> list[int]:
    """Close-position triad nearest the previous voicing (smooth voice leading)."""
    best: list[int] = []
    best_cost = 1e9
    for inversion in range(3):
        order = pcs[inversion:] + pcs[:inversion]
        for base in range(centre - 8, centre + 5):
            if base % 12 != order[0]:
                continue
            chord = [base]
            for pc in order[1:]:
                nxt = chord[-1] + ((pc - chord[-1]) % 12 or 12)
                chord.append(nxt)
            ref = previous or [centre - 4, centre, centre + 3]
            cost = sum(abs(x - y) for x, y in zip(sorted(chord), sorted(ref), strict=True))
            if cost < best_cost:
                best, best_cost = chord, cost
    return best


def pad_layer(frame: Frame, chords: list[int]) -> tuple[list[BeatNote], list[list[int]]]:
    bpb = frame.beats_per_bar
    notes: list[BeatNote] = []
    voicings: list[list[int]] = []
    previous: list[int] = []
    for bar, degree in enumerate(chords):
        pcs = triad(frame, degree, major_dominant=bar >= len(chords) - 2)
        previous = voicing(pcs, previous, frame.centre - 5)
        voicings.append(previous)
        notes += [
            BeatNote(p, bar * bpb, float(bpb), _vel(frame, bar * bpb, 0.55)) for p in previous
        ]
    return notes, voicings


def rhythm_layer(frame: Frame, voicings: list[list[int]]) -> list[BeatNote]:
    """Arpeggios (Q1, Q4), broken chords (Q3) or tremolo (Q2) over the pad's voicings."""
    bpb, quad = frame.beats_per_bar, frame.quadrant
    out: list[BeatNote] = []
    for bar, chord in enumerate(voicings):
        start = bar * bpb
        if bar == len(voicings) - 1:
            out += [BeatNote(p, start, float(bpb), _vel(frame, start, 0.7)) for p in chord]
            continue
        if quad == "Q2":
            steps = [
                (i * 0.25, chord[i % 2 + 1] - 12 if i % 4 else chord[0]) for i in range(bpb * 4)
            ]
            length = 0.22
        elif quad == "Q3":
            pattern = [chord[0] - 12, chord[1], chord[2], chord[1]]
            steps = [(float(i), pattern[i % 4]) for i in range(bpb)]
            length = 0.95
        else:
            up = [chord[0], chord[1], chord[2], chord[0] + 12]
            pattern = up + up[-2:0:-1]
            steps = [(i * 0.5, pattern[i % len(pattern)]) for i in range(bpb * 2)]
            length = 0.9 if quad == "Q4" else 0.45
        out += [BeatNote(p, start + t, length, _vel(frame, start + t, 0.6)) for t, p in steps]
    return out


def drum_layer(frame: Frame) -> list[BeatNote]:
    bpb, a = frame.beats_per_bar, (frame.arousal + 1) / 2
    out: list[BeatNote] = []
    tense = frame.quadrant == "Q2"
    for bar in range(frame.bars):
        start = bar * bpb
        if bar == frame.bars - 1:
            out += [BeatNote(36, start, 1.0, 110), BeatNote(49, start, 2.0, 100)]
            break
        for beat in range(bpb):
            t = start + beat
            if beat % 2 == 0:
                out.append(BeatNote(36, t, 0.25, _vel(frame, t, 1.0)))
            elif tense:
                out.append(BeatNote(45 if beat == 1 else 41, t, 0.25, _vel(frame, t, 0.9)))
            else:
                out.append(BeatNote(38, t, 0.25, _vel(frame, t, 0.9)))
        step = 0.25 if a > 0.85 else 0.5
        out += [
            BeatNote(42, start + i * step, 0.1, _vel(frame, start, 0.5))
            for i in range(int(bpb / step))
        ]
        if bar == 0:
            out.append(BeatNote(49, start, 2.0, _vel(frame, start, 0.9)))
    return out


def to_track(
    frame: Frame, notes: list[BeatNote], program: int, name: str, drum: bool = False
) -> Track:
    end = frame.beats
    converted = []
    for n in notes:
        stop = min(n.end, end)
        if stop - n.start <= 1e-6:
            continue
        converted.append(
            Note(
                n.pitch,
                frame.seconds_of(n.start),
                frame.seconds_of(stop),
                max(1, min(127, n.velocity)),
            )
        )
    return Track(program=program, is_drum=drum, name=name, notes=tuple(converted))


def arrange(frame: Frame, melody: list[BeatNote], *, title: str = "") -> Piece:
    """The full cue as a multi-track piece lasting exactly `frame.seconds`."""
    chords = choose_chords(frame, melody)
    lead = realise_melody(frame, melody)
    pad, voicings = pad_layer(frame, chords)
    tracks = [
        to_track(frame, lead, frame.programs["melody"], "melody"),
        to_track(frame, rhythm_layer(frame, voicings), frame.programs["harmony"], "harmony"),
        to_track(frame, pad, frame.programs["pad"], "pad"),
        to_track(frame, bass_line(frame, chords), frame.programs["bass"], "bass"),
    ]
    if frame.drums:
        tracks.append(to_track(frame, drum_layer(frame), 0, "percussion", drum=True))
    return Piece(
        tuple(tracks),
        tempo_bpm=frame.bpm,
        time_signature=(frame.beats_per_bar, 4),
        key=frame.key_name,
        title=title,
        source="generated",
        licence="generated by soundstage (see provenance)",
        extra={"chords": " ".join(str(c) for c in chords)},
    )
