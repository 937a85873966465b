"""Re-composing one cue of a written score, and the piano-roll picture of a cue."""

from __future__ import annotations

import hashlib
import json
import wave
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from soundstage.errors import SoundstageError
from soundstage.export import Exporter
from soundstage.music.emotion import named_emotion
from soundstage.music.generate import DEFAULT_MODEL
from soundstage.music.midi_io import read_midi
from soundstage.music.pianoroll import piano_roll_svg
from soundstage.music.score import ScoreOptions, recompose_cue, write_score
from soundstage.music.setup import load_composer
from soundstage.music.spotting import Cue
from soundstage.music.types import duration

pytestmark = pytest.mark.skipif(
    not (DEFAULT_MODEL / "config.json").exists(), reason="music model not trained yet"
)
CUES = [
    Cue("1M01", "s1", "00:00:00:00", "00:00:06:00", 6.0, 0.5, 0.4, "Q1", ("MAYA",), "MT", "A"),
    Cue("1M02", "s2", "00:00:06:00", "00:00:13:00", 7.0, 0.4, -0.5, "Q4", ("MAYA",), "ET", "B"),
]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_recompose_one_cue_rewrites_it_and_the_timeline_only(tmp_path: Path) -> None:
    composer = load_composer(critic=False)
    exporter = Exporter(tmp_path)
    write_score(exporter, CUES, composer, ScoreOptions(seed=3, engine="numpy", notation=False))
    score = tmp_path / "score"
    before = {p.name: digest(p) for p in score.iterdir()}
    valence, arousal = named_emotion("tense")
    recompose_cue(exporter, "1M02", composer, valence=valence, arousal=arousal, emotion="tense")
    changed = {p.name for p in score.iterdir() if digest(p) != before.get(p.name)}
    assert changed == {"1M02.mid", "1M02.wav", "score.mid", "score.wav", "cues.json"}
    with wave.open(str(score / "1M02.wav")) as w:
        assert w.getnframes() / w.getframerate() == pytest.approx(7.0, abs=0.01)
    with wave.open(str(score / "score.wav")) as w:
        assert w.getnframes() / w.getframerate() == pytest.approx(13.0, abs=0.01)
    assert duration(read_midi(score / "score.mid")) == pytest.approx(13.0, abs=0.01)
    rows = json.loads((score / "cues.json").read_text())["cues"]
    assert rows[1]["valence"] == 0.4  # the scene's spotted emotion stays
    music = rows[1]["music"]
    assert (music["valence"], music["arousal"], music["emotion"]) == (-0.5, 0.7, "tense")
    assert music["quadrant"] == "Q2" and music["motif"] == "MAYA"
    with pytest.raises(SoundstageError, match="no cue '1M09'"):
        recompose_cue(exporter, "1M09", composer)
    with pytest.raises(SoundstageError, match="unknown style"):
        recompose_cue(exporter, "1M01", composer, style="polka")
    with pytest.raises(SoundstageError, match="unknown emotion"):
        named_emotion("zzz")
    svg = ET.fromstring(piano_roll_svg(read_midi(score / "1M01.mid"), title="1M01 <roll>"))
    ns = "{http://www.w3.org/2000/svg}"
    assert svg.get("role") == "img" and svg.get("aria-label") == "1M01 <roll>"
    assert svg.findtext(f"{ns}title") == "1M01 <roll>"
    pitched = [t for t in read_midi(score / "1M01.mid").tracks if not t.is_drum]
    assert len(svg.findall(f".//{ns}g/{ns}rect")) == sum(len(t.notes) for t in pitched)
