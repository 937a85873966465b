"""The audio watermark: embedded in rendered music, found after MP3, resampling, crops and gain."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from scipy.signal import resample_poly

from soundstage.export import Exporter
from soundstage.music.generate import DEFAULT_MODEL
from soundstage.music.render import Rendering, render, wav_bytes
from soundstage.music.types import Note, Piece, Track
from soundstage.provenance.audio_mark import (
    AudioMarkError,
    detect,
    detect_file,
    embed,
    installation_mark,
    snr_db,
)
from soundstage.provenance.keys import watermark_key
from soundstage.settings import Settings

SR = 44100
KEY = bytes(range(32))
OTHER = bytes(range(1, 33))
Audio = npt.NDArray[np.float32]


def progression(seconds: float = 16.0, bpm: float = 96.0) -> Piece:
    """I–vi–IV–V in C: string chords, a piano melody, a bass line and a hi-hat."""
    beat = 60.0 / bpm
    chords = [(60, 64, 67), (57, 60, 64), (53, 57, 60), (55, 59, 62)]
    bars = int(seconds / (4 * beat))
    pads, melody, bass, hats = [], [], [], []
    for bar in range(bars):
        t, chord = bar * 4 * beat, chords[bar % 4]
        pads += [Note(p, t, t + 4 * beat, 70) for p in chord]
        bass.append(Note(chord[0] - 24, t, t + 3.5 * beat, 95))
        melody += [
            Note(chord[i % 3] + 12, t + i * beat, t + (i + 0.9) * beat, 85) for i in range(4)
        ]
        hats += [Note(42, t + i * beat / 2, t + i * beat / 2 + 0.05, 70) for i in range(8)]
    tracks = (
        Track(48, False, "Strings", tuple(pads)),
        Track(0, False, "Piano", tuple(melody)),
        Track(33, False, "Bass", tuple(bass)),
        Track(0, True, "Drums", tuple(hats)),
    )
    return Piece(tracks, tempo_bpm=bpm, title="progression")


@pytest.fixture(scope="module")
def music() -> tuple[Audio, Audio]:
    """(original, marked) stereo float32 at 44.1 kHz, 16 s."""
    original = render(progression(), sample_rate=SR, engine="numpy", seconds=16.0).audio
    return original, embed(original, SR, KEY)


def crop(audio: npt.NDArray[np.float64] | Audio, rate: int, seed: int) -> Audio:
    start = int(np.random.default_rng(seed).integers(0, len(audio) - 10 * rate))
    return np.asarray(audio[start : start + 10 * rate], dtype=np.float32)


def write_wav(path: Path, audio: Audio, rate: int) -> Path:
    path.write_bytes(wav_bytes(Rendering(np.asarray(audio, dtype=np.float32), rate, "test")))
    return path


def test_mark_is_quiet_and_found_in_a_ten_second_crop_anywhere(music: tuple[Audio, Audio]) -> None:
    original, marked = music
    assert marked.shape == original.shape and marked.dtype == np.float32
    assert snr_db(original, marked) >= 35.0
    for seed in (1, 2):
        found = detect(crop(marked, SR, seed), SR, KEY)
        assert found.marked and found.kind == "audio" and found.fpr == 1e-3
        assert found.z > found.threshold and found.p_value < 1e-3 and found.units > 0
    mono = embed(original[:, 0], SR, KEY)
    assert mono.shape == original[:, :1].shape[:1] and detect(mono, SR, KEY).marked


def test_unmarked_audio_and_a_wrong_key_are_not_detected(music: tuple[Audio, Audio]) -> None:
    original, marked = music
    for seed in (1, 2, 3):
        assert not detect(crop(original, SR, seed), SR, KEY).marked
        assert not detect(crop(marked, SR, seed), SR, OTHER).marked
    assert not detect(original, SR, KEY).marked
    silence = np.zeros((SR, 2), dtype=np.float32)
    assert np.array_equal(embed(silence, SR, KEY), silence)
    assert detect(silence, SR, KEY).z == 0.0


def test_gain_and_resampling_keep_the_mark(music: tuple[Audio, Audio]) -> None:
    excerpt = crop(music[1], SR, 4)
    assert detect(np.clip(excerpt * 2.0, -1.0, 1.0), SR, KEY).marked  # +6 dB, clipped
    assert detect(excerpt * 0.5, SR, KEY).marked  # −6 dB
    for rate in (22050, 16000):
        resampled = resample_poly(music[1], rate // 50, SR // 50, axis=0)
        assert detect(crop(resampled, rate, 5), rate, KEY).marked


def test_mark_survives_mp3_at_128_kbps(tmp_path: Path, music: tuple[Audio, Audio]) -> None:
    ffmpeg, lame = shutil.which("ffmpeg"), shutil.which("lame")
    if ffmpeg is None and lame is None:
        pytest.skip("neither ffmpeg nor lame is installed")
    source = write_wav(tmp_path / "marked.wav", music[1], SR)
    mp3 = tmp_path / "marked.mp3"
    if lame is not None:
        subprocess.run([lame, "--quiet", "-b", "128", str(source), str(mp3)], check=True)
    else:
        encode = [str(ffmpeg), "-v", "error", "-i", str(source), "-b:a", "128k", str(mp3)]
        subprocess.run(encode, check=True)
    if ffmpeg is not None:
        found = detect_file(mp3, KEY)
    else:
        subprocess.run([str(lame), "--quiet", "--decode", str(mp3), str(tmp_path / "d.wav")])
        found = detect_file(tmp_path / "d.wav", KEY)
    assert found.marked, found


def test_detect_file_reads_wav_and_names_bad_files(tmp_path: Path) -> None:
    quiet = np.zeros((SR, 2), dtype=np.float32)
    assert not detect_file(write_wav(tmp_path / "q.wav", quiet, SR), KEY).marked
    with pytest.raises(AudioMarkError, match="cannot read"):
        detect_file(tmp_path / "missing.wav", KEY)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(AudioMarkError, match="junk.wav"):
        detect_file(junk, KEY)
    with pytest.raises(AudioMarkError, match="shape"):
        embed(np.zeros((2, 2, 2)), SR, KEY)


def test_installation_mark_follows_the_setting(settings: Settings) -> None:
    mark = installation_mark(settings)
    assert mark is not None
    rendering = render(progression(8.0), sample_rate=22050, engine="numpy")
    assert detect(mark(rendering).audio, 22050, watermark_key(settings)).marked
    assert installation_mark(settings.model_copy(update={"watermark": False})) is None


@pytest.mark.skipif(not (DEFAULT_MODEL / "config.json").exists(), reason="no music model")
def test_every_score_wav_is_marked_and_recompose_marks_too(
    tmp_path: Path, settings: Settings
) -> None:
    from soundstage.music.score import ScoreOptions, recompose_cue, write_score
    from soundstage.music.setup import load_composer
    from soundstage.music.spotting import Cue

    cue = Cue("1M01", "s1", "00:00:00:00", "00:00:08:00", 8.0, 0.5, 0.4, "Q1", ("A",), "MT", "A")
    composer = load_composer(critic=False)
    exporter = Exporter(tmp_path)
    options = ScoreOptions(seed=3, engine="numpy", notation=False)
    write_score(exporter, [cue], composer, options)
    key = watermark_key(settings)
    for name in ("1M01.wav", "score.wav"):
        assert detect_file(tmp_path / "score" / name, key).marked, name
    recompose_cue(exporter, "1M01", composer, seed=9)
    assert detect_file(tmp_path / "score" / "1M01.wav", key).marked
    plain = Exporter(tmp_path / "plain")
    write_score(plain, [cue], composer, ScoreOptions(seed=3, engine="numpy", watermark=False))
    assert not detect_file(tmp_path / "plain" / "score" / "1M01.wav", key).marked
    with wave.open(str(tmp_path / "score" / "1M01.wav")) as w:
        assert w.getnframes() == 8 * 22050
