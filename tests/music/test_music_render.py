"""Audio rendering and MusicXML export: real synthesis, real WAV parsing, real music21 round trips.

The numpy engine runs everywhere; the soundfont engines run only where this machine has a
soundfont (and, for fluidsynth, the binary), and say why they skip otherwise.
"""

from __future__ import annotations

import io
import shutil
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from soundstage.errors import ConfigError, ExportError
from soundstage.export import Exporter
from soundstage.music.musicxml import part_name, to_musicxml
from soundstage.music.render import (
    PEAK,
    RELEASE_TAIL_S,
    Rendering,
    find_soundfont,
    mix,
    render,
    wav_bytes,
)
from soundstage.music.types import Note, Piece, Track, duration

SR = 22050


def band(piece_seconds: float = 2.0, bpm: float = 120.0) -> Piece:
    """Piano melody, string chords, bass line and a kick/snare/hat groove."""
    beat = 60.0 / bpm
    beats = int(piece_seconds / beat)
    melody = [Note(72 + (i * 2) % 7, i * beat, (i + 1) * beat, 90) for i in range(beats)]
    chords = [Note(p, b * beat, (b + 2) * beat, 70) for b in range(0, beats, 2) for p in (60, 64)]
    bass = [Note(36 + (i % 3) * 5, i * beat, (i + 0.9) * beat, 100) for i in range(beats)]
    drums = [Note(36 if i % 2 == 0 else 38, i * beat, i * beat + 0.1, 110) for i in range(beats)]
    drums += [Note(42, i * beat / 2, i * beat / 2 + 0.05, 80) for i in range(beats * 2)]
    return Piece(
        tracks=(
            Track(0, False, "", tuple(melody)),
            Track(48, False, "Strings", tuple(chords)),
            Track(33, False, "", tuple(bass)),
            Track(0, True, "", tuple(drums)),
        ),
        tempo_bpm=bpm,
        key="C major",
        title="Test Cue",
    )


def one_note(pitch: int = 60, velocity: int = 90, program: int = 0) -> Piece:
    return Piece(tracks=(Track(program, False, "", (Note(pitch, 0.0, 0.5, velocity),)),))


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def centroid(audio: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio.mean(axis=1)))
    freqs = np.fft.rfftfreq(len(audio), 1.0 / sample_rate)
    return float((spectrum * freqs).sum() / spectrum.sum())


# --------------------------------------------------------------------------- numpy engine


def test_numpy_engine_renders_a_band_with_drums() -> None:
    piece = band()
    out = render(piece, engine="numpy", sample_rate=SR)
    assert out.engine == "numpy" and out.sample_rate == SR
    assert out.audio.dtype == np.float32 and out.audio.shape[1] == 2
    assert len(out.audio) == round((duration(piece) + RELEASE_TAIL_S) * SR)
    assert rms(out.audio) > 0.02
    assert float(np.max(np.abs(out.audio))) <= PEAK + 1e-6
    assert not np.allclose(out.audio[:, 0], out.audio[:, 1])  # tracks are panned apart


def test_numpy_drum_track_alone_makes_sound() -> None:
    drums = Piece(tracks=(band().tracks[3],))
    out = render(drums, engine="numpy", sample_rate=SR)
    assert rms(out.audio) > 0.01
    kick = render(Piece(tracks=(Track(0, True, "", (Note(36, 0, 0.1, 110),)),)), engine="numpy")
    hat = render(Piece(tracks=(Track(0, True, "", (Note(42, 0, 0.1, 110),)),)), engine="numpy")
    assert centroid(kick.audio, SR) < centroid(hat.audio, SR)


def test_seconds_pads_or_trims_exactly() -> None:
    piece = band()
    long = render(piece, engine="numpy", sample_rate=SR, seconds=5.0)
    assert len(long.audio) == 5 * SR
    assert np.all(long.audio[round(4.0 * SR) :] == 0)  # padded with silence past the tail
    short = render(piece, engine="numpy", sample_rate=SR, seconds=1.0)
    assert len(short.audio) == SR
    assert np.all(np.abs(short.audio[-1]) < 1e-4)  # faded at the cut, no click
    assert rms(short.audio[-2000:-1000]) > 0.005


def test_louder_velocity_gives_higher_rms() -> None:
    soft = render(one_note(velocity=40), engine="numpy")
    loud = render(one_note(velocity=120), engine="numpy")
    assert rms(loud.audio) > 2 * rms(soft.audio)


def test_low_note_has_lower_spectral_centroid() -> None:
    for program in (0, 33, 48, 73):
        low = render(one_note(pitch=40, program=program), engine="numpy")
        high = render(one_note(pitch=84, program=program), engine="numpy")
        assert centroid(low.audio, SR) < centroid(high.audio, SR)


def test_empty_piece_renders_short_silence() -> None:
    out = render(Piece(), engine="numpy")
    assert len(out.audio) == round(RELEASE_TAIL_S * SR)
    assert not np.any(out.audio)


def test_numpy_engine_is_fast_for_a_minute_of_four_tracks() -> None:
    piece = band(60.0, bpm=120.0)  # ~600 notes; the measured 1,440-note case is in the report
    start = time.perf_counter()
    render(piece, engine="numpy")
    assert time.perf_counter() - start < 3.0


# --------------------------------------------------------------------------- WAV and mixing


def test_wav_bytes_parse_back_with_stdlib_wave(tmp_path: Path) -> None:
    out = render(band(), engine="numpy", sample_rate=16000)
    data = wav_bytes(out)
    with wave.open(io.BytesIO(data), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 16000)
        assert wav.getnframes() == len(out.audio)
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
    assert np.max(np.abs(pcm / 32767.0 - out.audio)) < 1e-4
    path = Exporter(tmp_path).write_bytes("cues/1M01.wav", data)  # the one export path
    assert path.read_bytes() == data
    assert [p.name for p in path.parent.iterdir()] == ["1M01.wav"]  # no temp file left


def test_mix_places_segments_at_their_offsets() -> None:
    cue = render(one_note(), engine="numpy", seconds=1.0)
    full = mix([(0.5, cue), (2.0, cue)], 3.5, SR)
    assert len(full.audio) == round(3.5 * SR)
    assert not np.any(full.audio[: round(0.5 * SR)])  # silence before the first cue
    assert rms(full.audio[round(0.5 * SR) : round(1.0 * SR)]) > 0.01
    assert not np.any(full.audio[round(1.5 * SR) : round(2.0 * SR)])  # gap between cues
    assert rms(full.audio[round(2.0 * SR) : round(2.5 * SR)]) > 0.01
    assert full.engine == "numpy"
    with pytest.raises(ValueError, match="Hz"):
        mix([(0.0, cue)], 1.0, 44100)


def test_mix_limits_the_peak_of_overlapping_cues() -> None:
    loud = Rendering(np.full((SR, 2), 0.8, dtype=np.float32), SR, "numpy")
    out = mix([(0.0, loud), (0.0, loud)], 1.0, SR)
    assert float(np.max(np.abs(out.audio))) == pytest.approx(PEAK, abs=1e-6)


# --------------------------------------------------------------------------- engine choice


def test_explicit_fluidsynth_without_the_binary_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # hides any installed fluidsynth
    with pytest.raises(ConfigError, match="fluidsynth is not installed") as caught:
        render(one_note(), engine="fluidsynth")
    assert "\n" not in str(caught.value) and "apt-get install" in str(caught.value)


def test_unknown_engine_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown render engine"):
        render(one_note(), engine="timidity")


def test_find_soundfont_with_a_missing_explicit_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sf2"
    with pytest.raises(ConfigError, match="nope.sf2"):
        find_soundfont(missing)
    with pytest.raises(ConfigError, match="nope.sf2"):
        render(one_note(), soundfont=missing)


def test_find_soundfont_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    font = tmp_path / "My.sf2"
    font.write_bytes(b"RIFF")
    monkeypatch.setenv("SOUNDSTAGE_SOUNDFONT", str(font))
    assert find_soundfont() == font
    monkeypatch.setenv("SOUNDSTAGE_SOUNDFONT", str(tmp_path / "gone.sf2"))
    with pytest.raises(ConfigError, match="SOUNDSTAGE_SOUNDFONT"):
        find_soundfont()


def test_auto_without_a_soundfont_falls_back_to_numpy_and_says_so() -> None:
    if find_soundfont() is not None:
        pytest.skip("a soundfont is installed here, so auto does not fall back")
    out = render(one_note(), engine="auto")
    assert out.engine == "numpy" and "no soundfont found" in out.note
    assert rms(out.audio) > 0.01


def soundfont_or_skip() -> Path:
    font = find_soundfont()
    if font is None:
        pytest.skip("no GM soundfont found (set SOUNDSTAGE_SOUNDFONT or install one)")
    return font


def test_symusic_engine_with_a_soundfont() -> None:
    soundfont_or_skip()
    piece = band()
    out = render(piece, engine="symusic", sample_rate=SR)
    assert out.engine == "symusic"
    assert len(out.audio) == round((duration(piece) + RELEASE_TAIL_S) * SR)
    assert rms(out.audio) > 0.01


def test_fluidsynth_engine_with_binary_and_soundfont() -> None:
    soundfont_or_skip()
    if shutil.which("fluidsynth") is None:
        pytest.skip("fluidsynth is not installed")
    out = render(band(), engine="fluidsynth", sample_rate=SR, seconds=3.0)
    assert out.engine == "fluidsynth" and len(out.audio) == 3 * SR
    assert rms(out.audio) > 0.01


# --------------------------------------------------------------------------- MusicXML


def test_musicxml_round_trips_through_music21(tmp_path: Path) -> None:
    import music21

    piece = band(4.0)
    data = to_musicxml(piece)
    assert data.startswith(b"<?xml")
    score = music21.converter.parse(data, format="musicxml")
    assert isinstance(score, music21.stream.Score)
    assert score.metadata.bestTitle == "Test Cue"
    parts = list(score.parts)
    pitched = [t for t in piece.tracks if not t.is_drum]  # drums stay in the MIDI and audio
    assert [p.partName for p in parts] == [part_name(t) for t in pitched]
    assert [p.partName for p in parts] == [
        "Acoustic Grand Piano",
        "Strings",
        "Electric Bass (finger)",
    ]
    for part, track in zip(parts, pitched, strict=True):
        onsets = sum(
            len(n.notes) if isinstance(n, music21.chord.ChordBase) else 1
            for n in part.recurse().notes
            if n.tie is None or n.tie.type == "start"
        )
        assert abs(onsets - len(track.notes)) <= max(1, len(track.notes) // 10), part.partName


def test_musicxml_of_an_empty_piece_is_an_export_error() -> None:
    with pytest.raises(ExportError, match="no pitched notes"):
        to_musicxml(Piece(title="Silence"))
