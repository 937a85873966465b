"""Emotion → the musical frame of a cue: key, mode, tempo, bars, register, dynamics, palette.

Why a deterministic mapping: a composer or music editor must be able to predict and adjust what
"tense, 40 seconds" turns into, and the same frame drives both the model's conditioning tokens
and the arranger. The mapping follows the music-psychology consensus in ../shared/notes/music.md
§2, with valence v and arousal a in −1…1 and v′ = (v+1)/2, a′ = (a+1)/2:

- tempo ≈ 60 + 60·a′ + 10·v′ bpm, then nudged so a whole number of bars fills the cue exactly
  (the cue then ends on a bar line, where the cadence goes);
- mode by brightness from valence: Lydian, Ionian, Mixolydian, Dorian, Aeolian, Phrygian;
- register (melody centre) rises with arousal and valence; velocity 48…112 with arousal;
- articulation: notes sound for 1 − 0.45·a′·v′ of their written length (staccato when happy and
  excited, legato when calm or sad);
- density: the model's Density token from arousal; percussion only for high arousal;
- palette: General MIDI programs per quadrant and style (strings/woodwinds for tender, brass and
  low strings for tension, fiddle or flute melodies for the folk styles).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from soundstage.errors import ConfigError
from soundstage.music.tokens import Conditions, quadrant, tempo_bucket

SCALES: dict[str, tuple[int, ...]] = {
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "ionian": (0, 2, 4, 5, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "aeolian": (0, 2, 3, 5, 7, 8, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
}
BRIGHTNESS = tuple(SCALES)  # brightest first
MAJOR_MODES = ("lydian", "ionian", "mixolydian")
STYLES = ("auto", "chorale", "irish", "fiddle", "air")
STYLE_OF_QUADRANT = {"Q1": "irish", "Q2": "fiddle", "Q3": "air", "Q4": "air"}
TONICS = (2, 7, 9, 0, 5, 4)  # D G A C F E: keys comfortable for strings and winds
NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MAX_SECONDS = 20 * 60

# General MIDI programs (0-based): melody per style, the rest per quadrant.
MELODY = {"chorale": 19, "irish": 73, "fiddle": 40, "air": 68}
PALETTE = {
    "Q1": {"harmony": 24, "pad": 48, "bass": 32},  # nylon guitar, strings, acoustic bass
    "Q2": {"harmony": 44, "pad": 61, "bass": 43},  # tremolo strings, brass section, contrabass
    "Q3": {"harmony": 0, "pad": 49, "bass": 43},  # piano, slow strings, contrabass
    "Q4": {"harmony": 46, "pad": 89, "bass": 32},  # harp, warm pad, acoustic bass
}
QUADRANT_MELODY = {"Q2": 60, "Q3": 42}  # french horn for tension, cello for sadness


@dataclass(frozen=True)
class Frame:
    valence: float
    arousal: float
    seconds: float
    tonic: int
    mode: str
    bpm: float
    bars: int
    beats_per_bar: int
    velocity: int
    centre: int
    articulation: float
    density: str
    style: str
    programs: dict[str, int] = field(default_factory=dict)
    drums: bool = False

    @property
    def scale(self) -> tuple[int, ...]:
        return SCALES[self.mode]

    @property
    def pitch_classes(self) -> frozenset[int]:
        return frozenset((self.tonic + s) % 12 for s in self.scale)

    @property
    def major(self) -> bool:
        return self.mode in MAJOR_MODES

    @property
    def quadrant(self) -> str:
        return quadrant(self.valence >= 0, self.arousal >= 0)

    @property
    def key_name(self) -> str:
        return f"{NAMES[self.tonic]} {self.mode}"

    @property
    def beats(self) -> int:
        return self.bars * self.beats_per_bar

    def seconds_of(self, beats: float) -> float:
        return beats * 60.0 / self.bpm

    def conditions(self) -> Conditions:
        """The model's conditioning header for this frame."""
        return Conditions(
            style=self.style,
            mode="major" if self.major else "minor",
            tempo=tempo_bucket(self.bpm),
            density=self.density,
            emotion=self.quadrant,
        )


def nearest(pc: int, centre: int) -> int:
    """The pitch with pitch class `pc` closest to `centre`."""
    return centre + ((pc - centre + 6) % 12) - 6


def check_cue(valence: float, arousal: float, seconds: float, style: str) -> None:
    """One-line errors for values a user typed."""
    for name, value in (("valence", valence), ("arousal", arousal)):
        if not -1.0 <= value <= 1.0:
            raise ConfigError(f"{name} {value:g} is outside -1..1")
    if not seconds > 0:
        raise ConfigError(f"cue duration {seconds:g} s must be positive")
    if seconds > MAX_SECONDS:
        raise ConfigError(f"cue duration {seconds:g} s is over the 20-minute limit")
    if style not in STYLES:
        raise ConfigError(f"unknown style {style!r}", hint="use one of: " + ", ".join(STYLES))


def seeded_tonic(seed: int | str) -> int:
    digest = hashlib.sha1(str(seed).encode()).digest()
    return TONICS[digest[0] % len(TONICS)]


def frame_for(
    valence: float,
    arousal: float,
    seconds: float,
    *,
    style: str = "auto",
    tonic: int | None = None,
    seed: int | str = 0,
    beats_per_bar: int = 4,
) -> Frame:
    check_cue(valence, arousal, seconds, style)
    v, a = (valence + 1) / 2, (arousal + 1) / 2
    mode = BRIGHTNESS[min(5, max(0, round(2.5 - 2.5 * valence)))]
    target_bpm = 60 + 60 * a + 10 * v
    bars = max(1, round(seconds * target_bpm / 60 / beats_per_bar))
    bpm = bars * beats_per_bar * 60 / seconds
    while bpm > 180 and bars > 1:
        bars -= 1
        bpm = bars * beats_per_bar * 60 / seconds
    quad = quadrant(valence >= 0, arousal >= 0)
    chosen = STYLE_OF_QUADRANT[quad] if style == "auto" else style
    melody = QUADRANT_MELODY.get(quad, MELODY[chosen]) if style == "auto" else MELODY[chosen]
    density = "low" if a < 0.3 else "mid" if a < 0.55 else "high" if a < 0.85 else "veryhigh"
    return Frame(
        valence=valence,
        arousal=arousal,
        seconds=seconds,
        tonic=seeded_tonic(seed) if tonic is None else tonic % 12,
        mode=mode,
        bpm=max(10.0, min(bpm, 400.0)),
        bars=bars,
        beats_per_bar=beats_per_bar,
        velocity=round(48 + 64 * a),
        centre=62 + round(10 * (a - 0.5) + 8 * (v - 0.5)),
        articulation=1.0 - 0.45 * a * v,
        density=density,
        style=chosen,
        programs={"melody": melody, **PALETTE[quad]},
        drums=a > 0.6 and valence >= -0.2 or quad == "Q2" and a > 0.7,
    )
