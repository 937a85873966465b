"""Pieces ↔ token ids: a miditok REMI tokenizer plus conditioning tokens.

Each piece becomes `BOS Style_* Mode_* Tempo_* Density_* Emotion_Q* <REMI tokens> EOS`.
All tracks are merged into one stream first (voice identity is dropped; a small model learns one
texture), so `decode` returns a single-track piece.

Conditioning tokens, all computed from the notes by pure functions (so generated pieces can be
re-measured with the same code):
- Style: the corpus source (`STYLE_OF_SOURCE`): chorale, irish (O'Neill's), fiddle (Ryan's
  Mammoth), air (Aird's Airs); `Style_unknown` otherwise.
- Mode: major/minor from a **pitch-class-profile estimate** (duration-weighted histogram
  correlated with the Krumhansl–Kessler major/minor profiles over 12 transpositions, i.e. the
  Krumhansl–Schmuckler algorithm); not music21's analyser, which needs a music21 stream and
  is ~100× slower. Ties and empty pieces count as major.
- Tempo bucket: slow < 76 ≤ moderate < 108 ≤ fast < 140 ≤ veryfast (bpm). REMI here carries no
  tempo tokens, so `decode` sets the bucket's representative tempo (66 / 92 / 120 / 160).
- Density bucket: notes per second (all voices): low < 2 ≤ mid < 4 ≤ high < 8 ≤ veryhigh.
- Emotion quadrant (EmotionBox idea: features, not labels): valence = +1 for major, −1 for minor;
  arousal score = ½·clip((bpm − 60)/100) + ½·clip(onsets per second / 6), high when ≥ 0.5
  (onsets, not notes, so four-voice chorales are not "excited" just for being four voices).
  Q1 = +V+A, Q2 = −V+A, Q3 = −V−A, Q4 = +V−A (Russell's circumplex).

The tokenizer's configuration lives in code (`make_tokenizer`), is saved as miditok's JSON and
loaded back from it; never pickled. Token streams are validated and repaired before decoding
(incomplete Pitch/Velocity/Duration triplets, positions going backwards in a bar, time
signatures not right after a Bar are dropped), since miditok fails or misreads invalid successions.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from miditok import REMI, TokenizerConfig

from soundstage.music.midi_io import from_score, to_score
from soundstage.music.types import Note, Piece, Track, duration, pitch_class_histogram

STYLE_OF_SOURCE = {
    "bach_chorales": "chorale",
    "jsb_chorales": "chorale",
    "oneills1850": "irish",
    "ryansMammoth": "fiddle",
    "airdsAirs": "air",
}
STYLES = ("chorale", "irish", "fiddle", "air", "unknown")
MODES = ("major", "minor")
TEMPOS = (("slow", 76.0, 66.0), ("moderate", 108.0, 92.0), ("fast", 140.0, 120.0))
TEMPO_FALLBACK = ("veryfast", 160.0)
DENSITIES = (("low", 2.0), ("mid", 4.0), ("high", 8.0))
DENSITY_FALLBACK = "veryhigh"
QUADRANTS = ("Q1", "Q2", "Q3", "Q4")
CONDITION_TYPES = ("Style", "Mode", "Tempo", "Density", "Emotion")

# Krumhansl & Kessler (1982) key profiles, tonic first.
_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)


def condition_vocab() -> list[str]:
    tempos = [name for name, _, _ in TEMPOS] + [TEMPO_FALLBACK[0]]
    densities = [name for name, _ in DENSITIES] + [DENSITY_FALLBACK]
    return (
        [f"Style_{s}" for s in STYLES]
        + [f"Mode_{m}" for m in MODES]
        + [f"Tempo_{t}" for t in tempos]
        + [f"Density_{d}" for d in densities]
        + [f"Emotion_{q}" for q in QUADRANTS]
    )


def make_tokenizer() -> REMI:
    """The one REMI configuration (vocab 271) used for training and generation."""
    config = TokenizerConfig(
        pitch_range=(21, 109),
        beat_res={(0, 4): 4, (4, 12): 2},
        num_velocities=8,
        use_chords=False,
        use_rests=False,
        use_tempos=False,
        use_time_signatures=True,
        use_programs=False,
        special_tokens=["PAD", "BOS", "EOS", *condition_vocab()],
    )
    return REMI(config)


# --- features ---------------------------------------------------------------------------------


def _correlation(a: list[float], b: tuple[float, ...]) -> float:
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    num = sum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True))
    da = sum((x - ma) ** 2 for x in a) ** 0.5
    db = sum((y - mb) ** 2 for y in b) ** 0.5
    return num / (da * db) if da > 0 and db > 0 else 0.0


def estimate_key(piece: Piece) -> tuple[int, str]:
    """(tonic pitch class, "major"|"minor") by Krumhansl–Schmuckler on the pitch-class profile."""
    hist = pitch_class_histogram(piece)
    best = (-2.0, 0, "major")
    for tonic in range(12):
        rotated = hist[tonic:] + hist[:tonic]
        for mode, profile in (("major", _MAJOR), ("minor", _MINOR)):
            r = _correlation(rotated, profile)
            if r > best[0] + 1e-12:
                best = (r, tonic, mode)
    return best[1], best[2]


def onset_rate(piece: Piece) -> float:
    """Distinct onset times (to 10 ms) per second."""
    seconds = duration(piece)
    onsets = {round(n.start, 2) for n in piece.notes}
    return len(onsets) / seconds if seconds > 0 else 0.0


def arousal_score(piece: Piece) -> float:
    tempo = min(max((piece.tempo_bpm - 60.0) / 100.0, 0.0), 1.0)
    onsets = min(onset_rate(piece) / 6.0, 1.0)
    return 0.5 * tempo + 0.5 * onsets


@dataclass(frozen=True)
class Conditions:
    style: str
    mode: str
    tempo: str
    density: str
    emotion: str

    def tokens(self) -> list[str]:
        return [
            f"Style_{self.style}",
            f"Mode_{self.mode}",
            f"Tempo_{self.tempo}",
            f"Density_{self.density}",
            f"Emotion_{self.emotion}",
        ]


def tempo_bucket(bpm: float) -> str:
    return next((name for name, upper, _ in TEMPOS if bpm < upper), TEMPO_FALLBACK[0])


def tempo_of_bucket(name: str) -> float:
    return next((rep for n, _, rep in TEMPOS if n == name), TEMPO_FALLBACK[1])


def density_bucket(notes_per_second: float) -> str:
    return next((name for name, upper in DENSITIES if notes_per_second < upper), DENSITY_FALLBACK)


def quadrant(major: bool, high_arousal: bool) -> str:
    if major:
        return "Q1" if high_arousal else "Q4"
    return "Q2" if high_arousal else "Q3"


def conditions(piece: Piece) -> Conditions:
    """The conditioning facts of a piece, measured from its notes."""
    seconds = duration(piece)
    density = piece.note_count / seconds if seconds > 0 else 0.0
    mode = estimate_key(piece)[1]
    return Conditions(
        style=STYLE_OF_SOURCE.get(piece.source, "unknown"),
        mode=mode,
        tempo=tempo_bucket(piece.tempo_bpm),
        density=density_bucket(density),
        emotion=quadrant(mode == "major", arousal_score(piece) >= 0.5),
    )


# --- encode / decode ------------------------------------------------------------------------


def merge_tracks(piece: Piece) -> Piece:
    """One pitched track holding every non-drum note (what the token stream represents)."""
    merged = Track(program=0, is_drum=False, name="merged", notes=tuple(piece.notes))
    return dataclasses.replace(piece, tracks=(merged,))


class MusicTokenizer:
    """REMI + conditioning tokens. `encode(piece) -> ids`, `decode(ids) -> Piece`."""

    def __init__(self, remi: REMI | None = None) -> None:
        self.remi = remi if remi is not None else make_tokenizer()
        self.vocab: dict[str, int] = dict(self.remi.vocab)
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.bos, self.eos, self.pad = (self.vocab[f"{t}_None"] for t in ("BOS", "EOS", "PAD"))

    def __len__(self) -> int:
        return len(self.vocab)

    def save(self, path: Path) -> None:
        self.remi.save(path)

    @classmethod
    def load(cls, path: Path) -> MusicTokenizer:
        return cls(REMI(params=path))

    def encode(self, piece: Piece, cond: Conditions | None = None) -> list[int]:
        cond = cond if cond is not None else conditions(piece)
        merged = merge_tracks(piece)
        ids = [self.bos] + [self.vocab[t] for t in cond.tokens()]
        if merged.note_count:
            seq = self.remi.encode(to_score(merged))
            body = seq[0] if isinstance(seq, list) else seq
            ids += [self.vocab[t] for t in body.tokens]
        ids.append(self.eos)
        return ids

    def header_conditions(self, ids: list[int]) -> Conditions:
        """The Conditions of a piece from its first tokens (BOS + the five conditioning tokens)."""
        cond, _ = self.split_conditions(ids[:6])
        return Conditions(
            cond["Style"], cond["Mode"], cond["Tempo"], cond["Density"], cond["Emotion"]
        )

    def split_conditions(self, ids: list[int]) -> tuple[dict[str, str], list[str]]:
        """({"Style": "irish", ...}, musical tokens) with specials and unknown ids dropped."""
        cond: dict[str, str] = {}
        body: list[str] = []
        for i in ids:
            token = self.id_to_token.get(int(i))
            if token is None:
                continue
            kind, _, value = token.partition("_")
            if kind in CONDITION_TYPES:
                cond.setdefault(kind, value)
            elif kind == "EOS":
                break
            elif kind not in {"PAD", "BOS"}:
                body.append(token)
        return cond, body

    def decode(self, ids: list[int], *, source: str = "generated", title: str = "") -> Piece:
        """A single-track piece; the stream is repaired first, tempo comes from its Tempo token."""
        cond, body = self.split_conditions(ids)
        tokens = repair(body)
        tempo = tempo_of_bucket(cond.get("Tempo", "fast"))
        if not any(t.startswith("Pitch_") for t in tokens):
            return Piece((Track(0, False, "merged", ()),), tempo_bpm=tempo, source=source)
        score = self.remi.decode([[self.vocab[t] for t in tokens]])
        piece = from_score(score)
        notes = _rescale(piece, tempo)
        return Piece(
            (Track(0, False, "merged", notes),),
            tempo_bpm=tempo,
            time_signature=piece.time_signature,
            title=title,
            source=source,
            licence="",
        )


def _rescale(piece: Piece, tempo: float) -> tuple[Note, ...]:
    """miditok decodes at its default tempo; stretch note times to the conditioned tempo."""
    factor = piece.tempo_bpm / tempo
    return tuple(
        Note(n.pitch, n.start * factor, n.end * factor, n.velocity)
        for t in piece.tracks
        for n in t.notes
    )


def repair(tokens: list[str]) -> list[str]:
    """Keep only a valid REMI succession.

    Rules: the stream starts with a Bar; a TimeSig only right after a Bar; a Position only if it
    does not go backwards within the bar; a Pitch only as a complete Pitch, Velocity, Duration
    triplet (incomplete ones are dropped whole).
    """
    out: list[str] = []
    position = -1
    i = 0
    while i < len(tokens):
        token = tokens[i]
        kind, _, value = token.partition("_")
        if kind == "Bar":
            out.append(token)
            position = -1
        elif not out:
            pass  # nothing before the first bar
        elif kind == "TimeSig":
            if out[-1] == "Bar_None":
                out.append(token)
        elif kind == "Position":
            pos = int(value)
            if pos >= position:
                out.append(token)
                position = pos
        elif kind == "Pitch":
            triplet = tokens[i : i + 3]
            if (
                len(triplet) == 3
                and triplet[1].startswith("Velocity_")
                and triplet[2].startswith("Duration_")
                and position >= 0
            ):
                out.extend(triplet)
                i += 3
                continue
        i += 1
    return out
