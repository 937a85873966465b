"""Keyed spread-spectrum watermark in rendered audio, and its blind detector.

Scheme (multiplicative spread spectrum in the STFT magnitude, after Cox et al. 1997, "Secure
spread spectrum watermarking for multimedia", IEEE TIP 6(12), and Kirovski & Malvar 2003,
"Spread-spectrum watermarking of audio signals", IEEE TSP 51(4)):

* **Domain.** Every channel is resampled to a fixed analysis rate `FS` = 16 kHz and cut into
  512-sample frames (32 ms) with a 256-sample hop, √Hann windows (perfect reconstruction).
  The mark lives in 80 bands of 62.5 Hz (two FFT bins) from 1 to 6 kHz: bands are defined in
  Hz, so resampling the file (44.1, 22.05 kHz …) leaves them where they were, and MP3 at
  128 kbps keeps this range.
* **Chips.** The key seeds (SHA-256) a ±1 pattern W[band, column] with `PERIOD` = 64 columns;
  frame m of the recording uses column m mod 64. The pattern repeats every 1.02 s, so a 10 s
  excerpt taken anywhere holds about ten repeats of it.
* **Embedding.** Each STFT coefficient in the band is scaled by (1 + α·W): the mark is
  α·ISTFT(W ⊙ X), computed at 16 kHz and resampled back to the file's rate, then added to the
  original samples (nothing outside 1–6 kHz is touched). Because it is the host's own
  spectrum scaled by α, the mark follows the music in time and frequency (perceptual shaping
  by construction: it is α below the music in every tile and absent in silence). α is set
  per recording so the mark's SNR, 10·log10(Σx² / Σ(x_marked − x)²), is `TARGET_SNR_DB`
  (36 dB) and never above `ALPHA_MAX` (0.2, ±1.6 dB) where the band holds little energy.
* **Detection** (blind: no original needed). Mix to mono, resample to 16 kHz, STFT with a
  128-sample hop (so one of the two sub-phases is within 4 ms of the embedding grid). Feature
  per tile: log band power with a floor of 0.1 × the frame's mean (quiet tiles carry little
  weight), minus a 5-frame moving average over time and the frame's mean over bands
  (removes the music's slow envelope and any gain). Frames are folded modulo the pattern
  period and, for each of the Q = 128 possible alignments, correlated with W:
  z = Σ W·S / √(Σ S²), S the folded features per (band, column). Gain (±6 dB) cancels in
  the log domain; an unknown crop start is one of the Q alignments.
* **Threshold.** For a key independent of the audio, Σ W·S / √(Σ S²) is a Rademacher sum, so
  by Hoeffding P(z ≥ t) ≤ exp(−t²/2) for *any* host audio. With n tests (Q alignments × the
  whole file and each 10 s window of a long file), the union bound gives the threshold
  t = √(2 ln(n / fpr)): 4.85 for one 10 s excerpt at fpr = 1e-3. `p_value` is that
  family-wise bound, min(1, n·exp(−z²/2)). Empirical FPR on unmarked music is measured in
  benchmarks/audio_watermark.py.

Weak against desynchronisation (time stretch, pitch shift, speed change): those move the
chips off their frames and bands (see ../shared/notes/provenance.md §2.4).
"""

from __future__ import annotations

import hashlib
import io
import math
import shutil
import subprocess
import wave
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from math import gcd
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from soundstage.errors import SoundstageError
from soundstage.provenance.types import Detection

if TYPE_CHECKING:
    from soundstage.music.render import Rendering
    from soundstage.settings import Settings

__all__ = [
    "AudioMarkError",
    "detect",
    "detect_file",
    "embed",
    "installation_mark",
    "mark_rendering",
    "snr_db",
]

Floats = npt.NDArray[np.float64]

FS = 16000  # analysis rate (Hz)
FRAME = 512  # samples per frame at FS (32 ms)
HOP = 256  # embedding hop; one pattern column per frame
SUBHOPS = 2  # detection hop = HOP / SUBHOPS
BAND_HZ = (1000.0, 6000.0)
BINS_PER_BAND = 2  # 62.5 Hz bands
PERIOD = 64  # pattern columns before it repeats (1.02 s)
TARGET_SNR_DB = 36.0
ALPHA_MAX = 0.2
FLOOR = 0.1  # tile power floor, relative to the frame's mean band power
DETREND = 5  # frames in the moving average removed from each band's log power
FPR = 1e-3
WINDOW_S = 10.0  # long files are also scored in windows of this length, hop half of it
SALT = b"soundstage-audio-mark-v1"

_BIN0 = round(BAND_HZ[0] * FRAME / FS)
BANDS = (round(BAND_HZ[1] * FRAME / FS) - _BIN0) // BINS_PER_BAND
_WINDOW = np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME) / FRAME))


class AudioMarkError(SoundstageError):
    """Audio the watermark cannot be embedded in or read from."""


# --------------------------------------------------------------------------- embedding


def embed(samples: npt.ArrayLike, sample_rate: int, key: bytes) -> npt.NDArray[np.float32]:
    """`samples` (frames,) or (frames, channels) with the keyed mark added, float32, same shape."""
    x = _as_frames(samples, sample_rate)
    marks = np.stack([_channel_mark(x[:, c], sample_rate, key) for c in range(x.shape[1])], 1)
    energy, mark_energy = float(np.sum(x * x)), float(np.sum(marks * marks))
    alpha = 0.0
    if mark_energy > 0.0:
        alpha = min(ALPHA_MAX, math.sqrt(energy / (mark_energy * 10 ** (TARGET_SNR_DB / 10))))
    out = (x + alpha * marks).astype(np.float32)
    return out[:, 0] if np.ndim(samples) == 1 else out


def snr_db(original: npt.ArrayLike, marked: npt.ArrayLike) -> float:
    """10·log10(Σx² / Σ(marked − x)²); inf when nothing changed."""
    x = np.asarray(original, dtype=np.float64)
    noise = float(np.sum((np.asarray(marked, dtype=np.float64) - x) ** 2))
    return math.inf if noise == 0.0 else 10 * math.log10(float(np.sum(x * x)) / noise)


def mark_rendering(rendering: Rendering, key: bytes) -> Rendering:
    """The rendering with the mark in its audio (engine and note unchanged)."""
    return replace(rendering, audio=embed(rendering.audio, rendering.sample_rate, key))


def installation_mark(settings: Settings) -> Callable[[Rendering], Rendering] | None:
    """Marks renderings with this installation's key; None where `settings.watermark` is off."""
    if not getattr(settings, "watermark", True):
        return None
    from soundstage.provenance.keys import watermark_key

    key = watermark_key(settings)
    return lambda rendering: mark_rendering(rendering, key)


def _channel_mark(x: Floats, sample_rate: int, key: bytes) -> Floats:
    """ISTFT(W ⊙ STFT(x)) in the band (α = 1), at the file's rate and length."""
    x16 = _resample(x, sample_rate, FS)
    spectrum = np.fft.rfft(_frames(x16, HOP), axis=1)
    columns = _pattern(key)[:, np.arange(len(spectrum)) % PERIOD].T
    chips = np.zeros(spectrum.shape)
    chips[:, _BIN0 : _BIN0 + BANDS * BINS_PER_BAND] = np.repeat(columns, BINS_PER_BAND, axis=1)
    mark16 = _overlap_add(np.fft.irfft(spectrum * chips, n=FRAME, axis=1), len(x16))
    mark = _resample(mark16, FS, sample_rate)
    return np.pad(mark, (0, max(0, len(x) - len(mark))))[: len(x)]


def _overlap_add(frames: Floats, length: int) -> Floats:
    """Windowed frames at hop FRAME/2, centred at 0, HOP, … → a signal of `length` samples."""
    frames = frames * _WINDOW
    out = np.zeros((len(frames) + 1) * HOP)
    out[: len(frames) * HOP] += frames[:, :HOP].reshape(-1)
    out[HOP : (len(frames) + 1) * HOP] += frames[:, HOP:].reshape(-1)
    start = FRAME // 2
    return np.pad(out, (0, max(0, start + length - len(out))))[start : start + length]


# --------------------------------------------------------------------------- detection


def detect(samples: npt.ArrayLike, sample_rate: int, key: bytes, *, fpr: float = FPR) -> Detection:
    """Is `key`'s mark in `samples`? z is the best alignment's score over the whole recording
    and (when longer than 1.5 windows) each 10 s window; the threshold holds the family-wise
    false-positive rate at `fpr`."""
    if not 0.0 < fpr < 1.0:
        raise AudioMarkError(f"false-positive rate {fpr} is outside (0, 1)")
    x = _as_frames(samples, sample_rate).mean(axis=1)
    features = _features(_resample(x, sample_rate, FS))
    ranges = _windows(len(features))
    tests = len(ranges) * PERIOD * SUBHOPS
    threshold = math.sqrt(2.0 * math.log(tests / fpr))
    pattern = _pattern(key)
    best, units = 0.0, 0
    for start, stop in ranges:
        z = _best_alignment(features, start, stop, pattern)
        if z > best or units == 0:
            best, units = z, stop - start
    p_value = min(1.0, tests * math.exp(-0.5 * max(best, 0.0) ** 2))
    note = f"best of {tests} alignments/windows; p is the family-wise Hoeffding bound"
    if len(features) < PERIOD * SUBHOPS:
        note = "shorter than one pattern period (1 s): little evidence either way"
    return Detection("audio", best, p_value, threshold, fpr, units, best >= threshold, note)


def _features(x16: Floats) -> Floats:
    """(frames, BANDS) detrended log band power at hop HOP / SUBHOPS."""
    if len(x16) == 0:
        return np.zeros((0, BANDS))
    spectrum = np.fft.rfft(_frames(x16, HOP // SUBHOPS), axis=1)
    band = spectrum[:, _BIN0 : _BIN0 + BANDS * BINS_PER_BAND]
    power = (np.abs(band) ** 2).reshape(len(band), BANDS, BINS_PER_BAND).sum(axis=2)
    floor = FLOOR * power.mean(axis=1, keepdims=True) + 1e-12 * float(power.mean()) + 1e-30
    log_power = np.log(power + floor)
    padded = np.pad(log_power, ((DETREND // 2, DETREND // 2), (0, 0)), mode="edge")
    sums = np.cumsum(np.pad(padded, ((1, 0), (0, 0))), axis=0)
    detrended = log_power - (sums[DETREND:] - sums[:-DETREND]) / DETREND
    result: Floats = detrended - detrended.mean(axis=1, keepdims=True)
    return result


def _windows(frames: int) -> list[tuple[int, int]]:
    """The whole recording, plus 10 s windows (hop 5 s) when it is longer than 15 s."""
    size = round(WINDOW_S * FS / (HOP // SUBHOPS))
    ranges = [(0, frames)]
    if frames > 1.5 * size:
        ranges += [(s, min(frames, s + size)) for s in range(0, frames - size // 2, size // 2)]
    return ranges


def _best_alignment(features: Floats, start: int, stop: int, pattern: Floats) -> float:
    """max over the PERIOD × SUBHOPS alignments of Σ W·S / √(Σ S²) for frames start..stop."""
    phases = PERIOD * SUBHOPS
    folded = np.zeros((phases, BANDS))
    np.add.at(folded, np.arange(start, stop) % phases, features[start:stop])
    columns = sum(np.roll(folded, -i, axis=0) for i in range(SUBHOPS))  # (phases, BANDS)
    offsets = np.arange(phases)
    rows = (np.arange(PERIOD)[None, :] * SUBHOPS - offsets[:, None]) % phases  # (Q, PERIOD)
    tiles = np.asarray(columns)[rows]  # (Q, PERIOD, BANDS)
    scores = np.einsum("opb,bp->o", tiles, pattern)
    norms = np.sqrt(np.einsum("opb,opb->o", tiles, tiles))
    z = np.where(norms > 0, scores / np.where(norms > 0, norms, 1.0), 0.0)
    return float(z.max()) if len(z) else 0.0


# --------------------------------------------------------------------------- files


def detect_file(path: Path, key: bytes, *, fpr: float = FPR) -> Detection:
    """Detect in a WAV file (PCM 8/16/24/32-bit); other formats (MP3, FLAC …) via ffmpeg."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AudioMarkError(f"cannot read {path}: {exc.strerror}") from None
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        try:
            samples, rate = read_wav(data)
        except AudioMarkError as exc:
            if shutil.which("ffmpeg") is None:
                raise AudioMarkError(f"{path}: {exc.message}") from None
            samples, rate = _ffmpeg_decode(path)
    else:
        samples, rate = _ffmpeg_decode(path)
    return detect(samples, rate, key, fpr=fpr)


def read_wav(data: bytes) -> tuple[Floats, int]:
    """An integer-PCM WAV as float64 (frames, channels) in −1..1, and its sample rate."""
    try:
        with wave.open(io.BytesIO(data), "rb") as src:
            channels, width, rate = src.getnchannels(), src.getsampwidth(), src.getframerate()
            raw = src.readframes(src.getnframes())
    except (wave.Error, EOFError) as exc:
        raise AudioMarkError(f"not a PCM WAV file ({exc})") from None
    if width == 1:
        ints = np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0
    elif width == 3:
        triples = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = (triples[:, 0] | triples[:, 1] << 8 | triples[:, 2] << 16).astype(np.float64)
        ints = np.where(ints >= 2**23, ints - 2**24, ints)
    elif width in (2, 4):
        ints = np.frombuffer(raw, dtype="<i2" if width == 2 else "<i4").astype(np.float64)
    else:
        raise AudioMarkError(f"WAV with {8 * width}-bit samples is not supported")
    samples: Floats = (ints / float(2 ** (8 * width - 1))).reshape(-1, channels)
    return samples, rate


def _ffmpeg_decode(path: Path) -> tuple[Floats, int]:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise AudioMarkError(
            f"{path}: only WAV is read without ffmpeg",
            hint="apt-get install --no-install-recommends ffmpeg, or convert to WAV",
        )
    command = [exe, "-v", "error", "-nostdin", "-i", str(path), "-f", "wav", "-c:a", "pcm_s16le"]
    try:
        proc = subprocess.run([*command, "-"], capture_output=True, timeout=300, check=False)
    except subprocess.TimeoutExpired:
        raise AudioMarkError(f"{path}: ffmpeg did not finish decoding within 300 s") from None
    if proc.returncode != 0 or not proc.stdout:
        why = proc.stderr.decode(errors="replace").strip().splitlines()
        raise AudioMarkError(f"{path}: ffmpeg cannot decode it ({why[-1] if why else 'no audio'})")
    return read_wav(_fix_streamed_wav(proc.stdout))


def _fix_streamed_wav(data: bytes) -> bytes:
    """ffmpeg writing WAV to a pipe leaves the RIFF/data sizes unset: fill them in."""
    fixed = bytearray(data)
    fixed[4:8] = (len(data) - 8).to_bytes(4, "little")
    at = fixed.find(b"data", 12)
    if at >= 0:
        fixed[at + 4 : at + 8] = (len(data) - at - 8).to_bytes(4, "little")
    return bytes(fixed)


# --------------------------------------------------------------------------- shared parts


def _as_frames(samples: npt.ArrayLike, sample_rate: int) -> Floats:
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] == 0:
        raise AudioMarkError(f"audio of shape {np.shape(samples)} is not (frames[, channels])")
    if not 8000 <= sample_rate <= 192000:
        raise AudioMarkError(f"sample rate {sample_rate} Hz is outside 8000..192000")
    if not np.all(np.isfinite(x)):
        raise AudioMarkError("audio holds NaN or infinite samples")
    return x


def _resample(x: Floats, rate_from: int, rate_to: int) -> Floats:
    if rate_from == rate_to or len(x) == 0:
        return x
    from scipy.signal import resample_poly

    g = gcd(rate_from, rate_to)
    out: Floats = resample_poly(x, rate_to // g, rate_from // g)
    return out


def _frames(x: Floats, hop: int) -> Floats:
    """√Hann-windowed frames of FRAME samples centred at 0, hop, 2·hop, … (zero-padded)."""
    count = 1 + (len(x) - 1) // hop
    padded = np.pad(x, (FRAME // 2, FRAME + hop))
    index = np.arange(count)[:, None] * hop + np.arange(FRAME)[None, :]
    frames: Floats = padded[index] * _WINDOW
    return frames


@lru_cache(maxsize=8)
def _pattern(key: bytes) -> Floats:
    """The key's ±1 chips, (BANDS, PERIOD)."""
    seed = np.frombuffer(hashlib.sha256(SALT + key).digest(), dtype=np.uint64)
    rng = np.random.default_rng(seed)
    chips: Floats = rng.choice(np.array([-1.0, 1.0]), size=(BANDS, PERIOD))
    chips.flags.writeable = False
    return chips
