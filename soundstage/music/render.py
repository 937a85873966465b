"""Render a `Piece` to stereo audio, so a composed cue can be heard and not only read.

Three engines, tried in this order by `engine="auto"`:

* **fluidsynth** – the `fluidsynth` command-line program with a General MIDI soundfont. The most
  realistic instruments (reverb, chorus, real samples); needs a Debian package and a soundfont.
* **symusic** – `symusic.Synthesizer` (pinned 0.5.8: 0.6's `render` raises TypeError) with the
  same soundfont, no system library; sample playback without reverb.
* **numpy** – a small additive synthesizer written here. It needs no soundfont and no system
  library, so the default install always makes sound: one timbre per General MIDI program
  family (piano, mallets, organ, guitar, bass, strings, brass, reed, pipe, lead, pad), ADSR-style
  envelopes, velocity → loudness, equal-power stereo pan per track, and a synthesized drum kit
  for `is_drum` tracks. It sounds like a clean 1990s sound module, not like an orchestra.

Every engine's output is fitted to the same length (the piece plus a short release tail, or an
exact `seconds=` so cues can be laid end to end by `mix`) and peak-limited to about −1 dBFS only
when it would otherwise be louder, so quiet music stays quiet.
"""

from __future__ import annotations

import importlib.util
import io
import math
import os
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from soundstage.errors import ConfigError, ExportError, SoundstageError
from soundstage.music.types import Note, Piece, Track, duration

Audio = npt.NDArray[np.float32]

ENGINES = ("fluidsynth", "symusic", "numpy")
RELEASE_TAIL_S = 0.75  # audio after the last note-off, for releases and decays to ring out
FADE_S = 0.02  # fade-out where audio is cut short, so a trim never clicks
PEAK = 10 ** (-1 / 20)  # −1 dBFS
SOUNDFONT_ENV = "SOUNDSTAGE_SOUNDFONT"
DEBIAN_SOUNDFONTS = tuple(
    Path("/usr/share/sounds/sf2") / name
    for name in ("FluidR3_GM.sf2", "TimGM6mb.sf2", "default-GM.sf2")
)
SOUNDFONT_DIR = Path("/usr/share/soundfonts")
NUMPY_NOTE = (
    "no soundfont found; rendered with the built-in numpy synthesizer "
    "(install fluidsynth + a GM soundfont for realistic instruments)"
)
_SOUNDFONT_HINT = (
    f"set {SOUNDFONT_ENV} to a General MIDI .sf2 file, or "
    "apt-get install --no-install-recommends timgm6mb-soundfont"
)
_INSTALL_HINT = {
    "fluidsynth": "apt-get install --no-install-recommends fluidsynth timgm6mb-soundfont",
    "symusic": "pip install 'soundstage[music]' (symusic==0.5.8)",
}


@dataclass(frozen=True, eq=False)
class Rendering:
    """Stereo float32 audio, shape (frames, 2), in −1..1; `note` says how it was made."""

    audio: Audio
    sample_rate: int
    engine: str
    note: str = ""

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.sample_rate


# --------------------------------------------------------------------------- public API


def find_soundfont(explicit: Path | str | None = None) -> Path | None:
    """The GM soundfont to use: `explicit`, $SOUNDSTAGE_SOUNDFONT, Debian's, pretty_midi's, or None.

    A path the user named (argument or environment variable) that is not a file is a
    `ConfigError`, not a silent fallback.
    """
    if explicit is not None:
        return _existing(Path(explicit).expanduser(), "soundfont")
    env = os.environ.get(SOUNDFONT_ENV, "").strip()
    if env:
        return _existing(Path(env).expanduser(), f"soundfont from {SOUNDFONT_ENV}")
    for path in DEBIAN_SOUNDFONTS:
        if path.is_file():
            return path
    found = sorted(SOUNDFONT_DIR.glob("*.sf2")) if SOUNDFONT_DIR.is_dir() else []
    return found[0] if found else _pretty_midi_soundfont()


def render(
    piece: Piece,
    *,
    sample_rate: int = 22050,
    engine: str = "auto",
    soundfont: Path | str | None = None,
    seconds: float | None = None,
) -> Rendering:
    """Render `piece` to stereo audio with the named engine ("auto" picks the best available).

    Length: the piece's duration plus `RELEASE_TAIL_S`, or exactly `seconds` when given (padded
    with silence, or cut with a `FADE_S` fade-out).
    """
    _check_rate(sample_rate)
    frames = _target_frames(piece, sample_rate, seconds)
    if engine == "auto":
        audio, used, note = _render_auto(piece, sample_rate, soundfont, frames)
    elif engine == "numpy":
        audio, used, note = _render_numpy(piece, sample_rate, frames), "numpy", ""
    elif engine in _SOUNDFONT_ENGINES:
        audio, used, note = _render_explicit(engine, piece, sample_rate, soundfont), engine, ""
    else:
        raise ConfigError(
            f"unknown render engine {engine!r}", hint="use auto, " + ", ".join(ENGINES)
        )
    return Rendering(_limit_peak(_fit(audio, frames, sample_rate)), sample_rate, used, note)


def mix(segments: Sequence[tuple[float, Rendering]], seconds: float, sample_rate: int) -> Rendering:
    """Lay renderings on one timeline at their offsets (seconds), sum them, limit the peak.

    Audio past `seconds` is cut (with a fade). A segment at another sample rate or a negative
    offset is a caller's bug → ValueError. `engine` joins the segments' engines with "+".
    """
    _check_rate(sample_rate)
    frames = _seconds_to_frames(seconds, sample_rate, "mix length")
    out = np.zeros((frames, 2), dtype=np.float32)
    cut = False
    for offset, segment in segments:
        if segment.sample_rate != sample_rate:
            raise ValueError(f"segment at {offset}s is {segment.sample_rate} Hz, not {sample_rate}")
        if offset < 0:
            raise ValueError(f"segment offset {offset}s is negative")
        start = round(offset * sample_rate)
        take = max(0, min(len(segment.audio), frames - start))
        out[start : start + take] += segment.audio[:take]
        cut = cut or take < len(segment.audio)
    if cut:
        _fade_out(out, sample_rate)
    engines = sorted({s.engine for _, s in segments}) or ["none"]
    notes = list(dict.fromkeys(s.note for _, s in segments if s.note))
    return Rendering(_limit_peak(out), sample_rate, "+".join(engines), " / ".join(notes))


def wav_bytes(rendering: Rendering) -> bytes:
    """16-bit PCM stereo WAV (stdlib `wave`), samples clipped to −1..1."""
    pcm = np.round(np.clip(rendering.audio, -1.0, 1.0) * 32767.0).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rendering.sample_rate)
        out.writeframes(np.ascontiguousarray(pcm).tobytes())
    return buffer.getvalue()


# --------------------------------------------------------------------------- engine choice


def _render_auto(
    piece: Piece, sample_rate: int, soundfont: Path | str | None, frames: int
) -> tuple[Audio, str, str]:
    """The first soundfont engine that works, else numpy; `note` says what was skipped and why."""
    font = find_soundfont(soundfont)
    if font is None:
        return _render_numpy(piece, sample_rate, frames), "numpy", NUMPY_NOTE
    problems: list[str] = []
    for name, engine in _SOUNDFONT_ENGINES.items():
        missing = _missing(name)
        if missing:
            problems.append(missing)
            continue
        try:
            audio = engine(piece, sample_rate, font)
        except SoundstageError as exc:
            problems.append(f"{name} failed: {exc.message}")
            continue
        skipped = f" ({'; '.join(problems)})" if problems else ""
        return audio, name, f"rendered with {name} and soundfont {font.name}{skipped}"
    note = f"{'; '.join(problems)}; rendered with the built-in numpy synthesizer"
    return _render_numpy(piece, sample_rate, frames), "numpy", note


def _render_explicit(
    name: str, piece: Piece, sample_rate: int, soundfont: Path | str | None
) -> Audio:
    missing = _missing(name)
    if missing:
        raise ConfigError(missing, hint=_INSTALL_HINT[name])
    font = find_soundfont(soundfont)
    if font is None:
        raise ConfigError(f"no soundfont found for the {name} engine", hint=_SOUNDFONT_HINT)
    return _SOUNDFONT_ENGINES[name](piece, sample_rate, font)


def _missing(name: str) -> str | None:
    """Why engine `name` cannot run here, or None. Both need symusic (MIDI writing)."""
    if importlib.util.find_spec("symusic") is None:
        return "symusic is not installed"
    if name == "fluidsynth" and shutil.which("fluidsynth") is None:
        return "fluidsynth is not installed"
    return None


def _existing(path: Path, what: str) -> Path:
    if not path.is_file():
        raise ConfigError(f"{what} not found: {path}", hint=_SOUNDFONT_HINT)
    return path


def _pretty_midi_soundfont() -> Path | None:
    """pretty_midi's wheel ships TimGM6mb.sf2; look for it without importing the package."""
    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "TimGM6mb.sf2"
    return path if path.is_file() else None


# --------------------------------------------------------------------------- soundfont engines


def _render_fluidsynth(piece: Piece, sample_rate: int, soundfont: Path) -> Audio:
    """`fluidsynth -ni -F out.wav` on a temporary MIDI file; output read back as float32."""
    from soundstage.music.midi_io import to_score

    exe = shutil.which("fluidsynth") or "fluidsynth"
    with tempfile.TemporaryDirectory(prefix="soundstage-render-") as tmp:
        midi, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        midi.write_bytes(to_score(piece).dumps_midi())
        command = [exe, "-ni", "-q", "-T", "wav", "-F", str(wav), "-r", str(sample_rate)]
        command += ["-g", "0.8", str(soundfont), str(midi)]
        limit = 60.0 + 2.0 * duration(piece)
        try:
            proc = subprocess.run(command, capture_output=True, timeout=limit, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ExportError(f"fluidsynth did not finish within {limit:.0f} s") from exc
        if proc.returncode != 0 or not wav.is_file():
            why = proc.stderr.decode(errors="replace").strip().splitlines()
            raise ExportError(f"fluidsynth exited {proc.returncode}: {why[0] if why else ''}")
        return read_wav_bytes(wav.read_bytes(), sample_rate)


def _render_symusic(piece: Piece, sample_rate: int, soundfont: Path) -> Audio:
    """symusic's built-in SoundFont player (0.5.8); returns (2, n) float32, transposed here."""
    import symusic

    from soundstage.music.midi_io import to_score

    try:
        synth = symusic.Synthesizer(str(soundfont), sample_rate, 0)
        raw = synth.render(to_score(piece).to("second"), stereo=True)
    except (TypeError, RuntimeError, ValueError) as exc:
        version = getattr(symusic, "__version__", "?")
        raise ConfigError(
            f"symusic {version} cannot render: {str(exc).splitlines()[0] if str(exc) else exc}",
            hint="pip install symusic==0.5.8",
        ) from exc
    audio = np.asarray(raw, dtype=np.float32)  # (channels, frames)
    if audio.ndim != 2 or audio.shape[0] != 2:
        raise ExportError(f"symusic returned audio of shape {audio.shape}, not (2, frames)")
    return np.ascontiguousarray(audio.T)


_SOUNDFONT_ENGINES: dict[str, Callable[[Piece, int, Path], Audio]] = {
    "fluidsynth": _render_fluidsynth,
    "symusic": _render_symusic,
}


def read_wav_bytes(data: bytes, sample_rate: int | None = None) -> Audio:
    """A 16- or 32-bit PCM WAV as float32 (frames, 2); mono is duplicated to both channels."""
    try:
        with wave.open(io.BytesIO(data), "rb") as src:
            channels, width, rate = src.getnchannels(), src.getsampwidth(), src.getframerate()
            frames = src.readframes(src.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ExportError(f"rendered WAV is unreadable: {exc}") from exc
    if width not in (2, 4) or channels not in (1, 2):
        raise ExportError(f"rendered WAV has {channels} channels of {8 * width}-bit samples")
    if sample_rate is not None and rate != sample_rate:
        raise ExportError(f"rendered WAV is {rate} Hz, asked for {sample_rate} Hz")
    ints = np.frombuffer(frames, dtype="<i2" if width == 2 else "<i4")
    audio = (ints.astype(np.float32) / float(2 ** (8 * width - 1))).reshape(-1, channels)
    return np.repeat(audio, 2, axis=1) if channels == 1 else audio


# --------------------------------------------------------------------------- length and level


def _check_rate(sample_rate: int) -> None:
    if not 8000 <= sample_rate <= 192000:
        raise ConfigError(f"sample rate {sample_rate} Hz is outside 8000..192000")


def _seconds_to_frames(seconds: float, sample_rate: int, what: str) -> int:
    if not (math.isfinite(seconds) and seconds > 0):
        raise ConfigError(f"{what} {seconds} s is not a positive number of seconds")
    return max(1, round(seconds * sample_rate))


def _target_frames(piece: Piece, sample_rate: int, seconds: float | None) -> int:
    if seconds is not None:
        return _seconds_to_frames(seconds, sample_rate, "render length")
    return max(1, round((duration(piece) + RELEASE_TAIL_S) * sample_rate))


def _fit(audio: Audio, frames: int, sample_rate: int) -> Audio:
    """Pad with silence or cut (with a fade-out) to exactly `frames` stereo frames."""
    audio = np.asarray(audio, dtype=np.float32).reshape(-1, 2)
    if len(audio) > frames:
        audio = audio[:frames].copy()
        _fade_out(audio, sample_rate)
    elif len(audio) < frames:
        audio = np.concatenate([audio, np.zeros((frames - len(audio), 2), dtype=np.float32)])
    return audio


def _fade_out(audio: Audio, sample_rate: int) -> None:
    n = min(len(audio), max(1, round(FADE_S * sample_rate)))
    audio[len(audio) - n :] *= np.linspace(1.0, 0.0, n, dtype=np.float32)[:, None]


def _limit_peak(audio: Audio) -> Audio:
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return (audio * np.float32(PEAK / peak)).astype(np.float32) if peak > PEAK else audio


# --------------------------------------------------------------------------- numpy synthesizer

_TABLE = 2048  # samples in one period of a wavetable (a power of two: index wraps by a mask)
_FRACTION_BITS = 20
_MAX_HARMONICS = 16


@dataclass(frozen=True)
class Timbre:
    """An additive voice: harmonic amplitudes at the attack (`bright`) that settle to `mellow`.

    While held the level is attack ramp × (sustain + (1 − sustain)·exp(−t/decay)); after the
    note-off it falls to zero over `release_s`. `decay_s` scales with pitch (low notes ring on).
    """

    bright: tuple[float, ...]
    mellow: tuple[float, ...]
    settle_s: float
    attack_s: float
    decay_s: float | None
    sustain: float
    release_s: float
    gain: float


def _series(count: int, power: float, odd_only: bool = False) -> tuple[float, ...]:
    """Harmonic amplitudes 1/n**power (n = 1..count), optionally odd harmonics only."""
    return tuple(0.0 if odd_only and n % 2 == 0 else 1.0 / n**power for n in range(1, count + 1))


PIANO = Timbre(_series(12, 1.0), (1, 0.35, 0.12, 0.05), 0.3, 0.004, 1.4, 0.0, 0.25, 0.42)
MALLET = Timbre((1, 0, 0.1, 0.5, 0, 0, 0, 0, 0, 0.2), (1,), 0.08, 0.002, 0.7, 0.0, 0.3, 0.4)
ORGAN = Timbre((1, 0.8, 0.5, 0.6, 0, 0.35, 0, 0.3), (), 1.0, 0.008, None, 1.0, 0.06, 0.22)
GUITAR = Timbre(_series(14, 0.8), (1, 0.3, 0.1), 0.06, 0.002, 0.6, 0.0, 0.1, 0.42)
BASS = Timbre((1, 0.5, 0.25, 0.12, 0.06), (1, 0.25, 0.06), 0.15, 0.005, 0.8, 0.3, 0.08, 0.55)
STRINGS = Timbre(_series(12, 1.3), (), 1.0, 0.12, None, 1.0, 0.3, 0.2)
BRASS = Timbre(_series(14, 0.8), _series(10, 1.1), 0.4, 0.04, 0.3, 0.8, 0.12, 0.2)
REED = Timbre((1, 0.1, 0.45, 0.05, 0.25, 0.03, 0.12), (), 1.0, 0.03, None, 1.0, 0.08, 0.3)
PIPE = Timbre((1, 0.12, 0.04), (), 1.0, 0.04, None, 1.0, 0.1, 0.35)
LEAD = Timbre(_series(13, 1.0, odd_only=True), (), 1.0, 0.01, None, 1.0, 0.08, 0.18)
PAD = Timbre(_series(8, 2.0), (), 1.0, 0.25, None, 1.0, 0.4, 0.25)

# One timbre per GM family (program // 8), in GM order.
FAMILY_TIMBRES = (
    PIANO,  # 0-7 pianos
    MALLET,  # 8-15 chromatic percussion
    ORGAN,  # 16-23 organs
    GUITAR,  # 24-31 guitars
    BASS,  # 32-39 basses
    STRINGS,  # 40-47 solo strings
    STRINGS,  # 48-55 ensembles and choirs
    BRASS,  # 56-63 brass
    REED,  # 64-71 reeds
    PIPE,  # 72-79 pipes (flutes)
    LEAD,  # 80-87 synth leads
    PAD,  # 88-95 synth pads
    PAD,  # 96-103 synth effects
    GUITAR,  # 104-111 ethnic (plucked)
    MALLET,  # 112-119 percussive
    PAD,  # 120-127 sound effects
)


def _render_numpy(piece: Piece, sample_rate: int, frames: int) -> Audio:
    """Every track into its own mono buffer, panned into one stereo mix of `frames` frames."""
    rng = np.random.default_rng(0)  # drum noise: varied per hit, identical per render
    out = np.zeros((frames, 2), dtype=np.float32)
    for track, pan in zip(piece.tracks, _pans(piece.tracks), strict=True):
        if track.notes:
            mono = _render_track(track, sample_rate, frames, rng)
            left, right = math.cos((pan + 1) * math.pi / 4), math.sin((pan + 1) * math.pi / 4)
            out[:, 0] += mono * np.float32(left)
            out[:, 1] += mono * np.float32(right)
    if frames < _natural_frames(piece, sample_rate):
        _fade_out(out, sample_rate)
    return out


def _natural_frames(piece: Piece, sample_rate: int) -> int:
    return round((duration(piece) + RELEASE_TAIL_S) * sample_rate)


def _pans(tracks: Sequence[Track]) -> list[float]:
    """Equal-power pan positions −1..1: drums and bass centred, other tracks spread ±0.6."""
    centred = [t.is_drum or t.program // 8 == 4 for t in tracks]
    spread = sum(not c for c in centred)
    places = iter(np.linspace(-0.6, 0.6, spread) if spread > 1 else [0.0] * spread)
    return [0.0 if c else float(next(places)) for c in centred]


def _render_track(track: Track, sample_rate: int, frames: int, rng: np.random.Generator) -> Audio:
    buffer = np.zeros(frames, dtype=np.float32)
    timbre = FAMILY_TIMBRES[track.program // 8]
    for note in track.notes:
        start = round(note.start * sample_rate)
        if start >= frames:
            break
        room = frames - start
        if track.is_drum:
            sound = _drum_hit(note.pitch, sample_rate, room, rng)
        else:
            sound = _tone(timbre, note, sample_rate, room)
        buffer[start : start + len(sound)] += sound * np.float32(_velocity_gain(note.velocity))
    return buffer


def _velocity_gain(velocity: int) -> float:
    """MIDI velocity → amplitude on a power curve (velocity 127 → 1.0, 64 → ≈ 0.33)."""
    return (velocity / 127.0) ** 1.6


def _tone(timbre: Timbre, note: Note, sample_rate: int, room: int) -> Audio:
    """One pitched note: wavetable oscillator(s) × envelope, at most `room` samples long.

    The table index is a 20-bit fixed-point phase in int64: float `%` costs ten times more.
    """
    freq = 440.0 * 2.0 ** ((note.pitch - 69) / 12)
    held = max(1, round(note.duration * sample_rate))
    length = min(room, held + round(timbre.release_s * sample_rate))
    step = round(freq * _TABLE / sample_rate * 2**_FRACTION_BITS)
    index = np.arange(length, dtype=np.int64) * step
    index >>= _FRACTION_BITS
    index &= _TABLE - 1
    limit = max(1, int(0.45 * sample_rate / freq))  # harmonics kept below Nyquist
    wave_ = _wavetable(timbre.bright, limit)[index]
    if timbre.mellow:
        settle = _decay(length, timbre.settle_s * sample_rate)
        mellow = _wavetable(timbre.mellow, limit)[index]
        wave_ -= mellow
        wave_ *= settle
        wave_ += mellow
    wave_ *= _envelope(timbre, note.pitch, held, length, sample_rate)
    wave_ *= np.float32(timbre.gain)
    return wave_


def _decay(length: int, time_constant: float) -> Audio:
    """exp(−n / time_constant) for n = 0..length−1, in float32 (twice as fast as float64)."""
    return np.exp(np.arange(length, dtype=np.float32) * np.float32(-1.0 / time_constant))


def _envelope(timbre: Timbre, pitch: int, held: int, length: int, sample_rate: int) -> Audio:
    env = np.ones(length, dtype=np.float32)
    if timbre.decay_s is not None:
        decay = timbre.decay_s * 2.0 ** ((60 - pitch) / 24) * sample_rate
        env = _decay(length, decay)
        if timbre.sustain:
            env = timbre.sustain + (1.0 - timbre.sustain) * env
    attack = min(length, max(1, round(timbre.attack_s * sample_rate)))
    env[:attack] *= np.linspace(0.0, 1.0, attack, dtype=np.float32)
    if length > held:
        release = max(1, round(timbre.release_s * sample_rate))
        ramp = np.linspace(1.0, 0.0, release + 1, dtype=np.float32)[1 : length - held + 1]
        env[held:] *= ramp * ramp
    return env


@lru_cache(maxsize=512)
def _wavetable(amplitudes: tuple[float, ...], limit: int) -> Audio:
    """One period of the additive waveform, harmonics above `limit` dropped, peak 1."""
    phase = np.arange(_TABLE) * (2 * math.pi / _TABLE)
    table = np.zeros(_TABLE)
    for n, amp in enumerate(amplitudes[: min(limit, _MAX_HARMONICS)], start=1):
        if amp:
            table += amp * np.sin(n * phase)
    peak = float(np.max(np.abs(table)))
    return _frozen((table / peak if peak > 0 else table).astype(np.float32))


def _frozen(array: Audio) -> Audio:
    """Cached arrays are shared between notes and renders: make accidental writes fail."""
    array.flags.writeable = False
    return array


# --------------------------------------------------------------------------- drum kit


_VARIANTS = 4  # takes per drum key, picked at random per hit so repeats are not identical


def _drum_hit(pitch: int, sample_rate: int, room: int, rng: np.random.Generator) -> Audio:
    """A one-shot drum sound for a GM percussion key (35..81); the note's length is ignored."""
    takes = _drum_takes(pitch, sample_rate)
    return takes[int(rng.integers(_VARIANTS))][:room]


@lru_cache(maxsize=128)
def _drum_takes(pitch: int, sample_rate: int) -> tuple[Audio, ...]:
    """Synthesized once per key and rate: noise drums cost more to make than to copy."""
    kind, gain = _DRUM_MAP.get(pitch, (_percussion, 0.3))
    rng = np.random.default_rng(pitch)
    return tuple(
        _frozen((kind(pitch, sample_rate, rng) * np.float32(gain)).astype(np.float32))
        for _ in range(_VARIANTS)
    )


def _time(seconds: float, sample_rate: int) -> npt.NDArray[np.float64]:
    return np.arange(round(seconds * sample_rate)) / sample_rate


def _swept_sine(t: npt.NDArray[np.float64], low: float, high: float, sweep: float) -> Audio:
    freq = low + (high - low) * np.exp(-t / sweep)
    phase = 2 * math.pi * np.cumsum(freq) * (t[1] if len(t) > 1 else 0.0)
    return np.sin(phase).astype(np.float32)


def _highpass(noise: npt.NDArray[np.float64], passes: int) -> npt.NDArray[np.float64]:
    """Repeated first difference: a cheap 6 dB/octave-per-pass high-pass, rescaled."""
    for _ in range(passes):
        noise = np.diff(noise, prepend=0.0) * 0.5
    return noise / (np.max(np.abs(noise)) or 1.0)


def _kick(pitch: int, sr: int, rng: np.random.Generator) -> Audio:
    t = _time(0.45, sr)
    body = _swept_sine(t, 48.0, 160.0, 0.035) * np.exp(-t / 0.16)
    click = np.convolve(rng.standard_normal(len(t)), np.ones(8) / 8, mode="same")
    click *= np.exp(-t / 0.004) * 0.5
    return (body + click).astype(np.float32)


def _snare(pitch: int, sr: int, rng: np.random.Generator) -> Audio:
    t = _time(0.3, sr)
    tone = np.sin(2 * math.pi * 185.0 * t) * np.exp(-t / 0.05) * 0.6
    noise = np.convolve(_highpass(rng.standard_normal(len(t)), 1), np.ones(3) / 3, mode="same")
    return (tone + noise * np.exp(-t / 0.08)).astype(np.float32)


def _hat(decay: float) -> Callable[[int, int, np.random.Generator], Audio]:
    def hat(pitch: int, sr: int, rng: np.random.Generator) -> Audio:
        t = _time(min(1.0, 6 * decay), sr)
        return (_highpass(rng.standard_normal(len(t)), 3) * np.exp(-t / decay)).astype(np.float32)

    return hat


def _cymbal(decay: float) -> Callable[[int, int, np.random.Generator], Audio]:
    def cymbal(pitch: int, sr: int, rng: np.random.Generator) -> Audio:
        t = _time(min(1.2, 5 * decay), sr)
        metal = sum(np.sin(2 * math.pi * f * t) for f in (3150.0, 4410.0, 5880.0)) * 0.15
        noise = _highpass(rng.standard_normal(len(t)), 2)
        return ((noise + metal) * np.exp(-t / decay)).astype(np.float32)

    return cymbal


def _tom(pitch: int, sr: int, rng: np.random.Generator) -> Audio:
    t = _time(0.5, sr)
    base = 70.0 * 2.0 ** ((pitch - 41) / 12)  # 41 low floor tom … 50 high tom
    return (_swept_sine(t, base, base * 1.6, 0.05) * np.exp(-t / 0.18)).astype(np.float32)


def _cowbell(pitch: int, sr: int, rng: np.random.Generator) -> Audio:
    t = _time(0.3, sr)
    tone = np.tanh(3 * np.sin(2 * math.pi * 545.0 * t)) + np.tanh(3 * np.sin(2 * math.pi * 815 * t))
    return (tone * 0.5 * np.exp(-t / 0.07)).astype(np.float32)


def _clap(pitch: int, sr: int, rng: np.random.Generator) -> Audio:
    t = _time(0.2, sr)
    bursts = sum(np.exp(-np.clip(t - d, 0, None) / 0.006) * (t >= d) for d in (0, 0.01, 0.02))
    tail = np.exp(-t / 0.05)
    return (_highpass(rng.standard_normal(len(t)), 1) * np.maximum(bursts, tail)).astype(np.float32)


def _percussion(pitch: int, sr: int, rng: np.random.Generator) -> Audio:
    """Everything else (side stick, bongos, congas, shakers…): a short pitched knock."""
    t = _time(0.15, sr)
    freq = 200.0 * 2.0 ** ((pitch - 60) / 12)
    knock = np.sin(2 * math.pi * freq * t) * np.exp(-t / 0.04)
    noise = _highpass(rng.standard_normal(len(t)), 2) * np.exp(-t / 0.01) * 0.4
    return (knock + noise).astype(np.float32)


_DrumFn = Callable[[int, int, np.random.Generator], Audio]
_DRUM_MAP: dict[int, tuple[_DrumFn, float]] = {
    35: (_kick, 0.9),
    36: (_kick, 0.9),
    37: (_percussion, 0.3),
    38: (_snare, 0.5),
    39: (_clap, 0.4),
    40: (_snare, 0.5),
    42: (_hat(0.04), 0.18),
    44: (_hat(0.03), 0.15),
    46: (_hat(0.3), 0.18),
    49: (_cymbal(0.9), 0.2),
    51: (_cymbal(0.5), 0.14),
    52: (_cymbal(0.7), 0.2),
    53: (_cowbell, 0.12),
    54: (_hat(0.12), 0.15),
    55: (_cymbal(0.4), 0.18),
    56: (_cowbell, 0.2),
    57: (_cymbal(0.9), 0.2),
    59: (_cymbal(0.5), 0.14),
    **{tom: (_tom, 0.6) for tom in (41, 43, 45, 47, 48, 50)},
}
