"""Composing with the shipped music model: exact length, key, cadence, motifs, score files, CLI."""

from __future__ import annotations

import json
import subprocess
import wave
from pathlib import Path

import pytest
from cli_runner import run_soundstage

from soundstage.export import Exporter
from soundstage.music.compose import Composer, CueRequest, form_for
from soundstage.music.generate import DEFAULT_MODEL, PhraseRequest, to_notes
from soundstage.music.leitmotif import make_motif, realise
from soundstage.music.midi_io import read_midi
from soundstage.music.score import ScoreOptions, write_score
from soundstage.music.setup import load_composer
from soundstage.music.spotting import Cue
from soundstage.music.tokens import Conditions
from soundstage.music.types import duration

pytestmark = pytest.mark.skipif(
    not (DEFAULT_MODEL / "config.json").exists(), reason="music model not trained yet"
)


@pytest.fixture(scope="module")
def composer() -> Composer:
    return load_composer()


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        assert w.getnchannels() == 2 and w.getsampwidth() == 2
        return w.getnframes() / w.getframerate()


def test_phrases_obey_the_grammar_scale_register_and_bar_count(composer: Composer) -> None:
    import numpy as np

    model = composer.model
    cond = Conditions("irish", "minor", "fast", "high", "Q2")
    allowed = frozenset({9, 11, 0, 2, 4, 5, 7})
    req = PhraseRequest(cond=cond, bars=4, allowed_pcs=allowed, low=57, high=76)
    for seed in range(3):
        tokens = model.sample_phrase(req, np.random.default_rng(seed))
        notes, bars = to_notes(tokens)
        assert bars == 4
        assert notes and all(n.pitch % 12 in allowed and 57 <= n.pitch <= 76 for n in notes)
        assert all(0 <= n.start < 16 for n in notes)
        assert tokens.count("TimeSig_4/4") == 4


def test_cue_is_exactly_as_long_as_asked_and_ends_on_the_tonic(composer: Composer) -> None:
    inside, total = 0, 0
    for seconds, (v, a) in ((7.5, (0.6, 0.6)), (33.0, (-0.6, -0.5)), (61.2, (-0.5, 0.7))):
        result = composer.compose(CueRequest(v, a, seconds, seed=4))
        piece = result.piece
        assert duration(piece) == pytest.approx(seconds, abs=1e-6)
        melody = piece.tracks[0].notes
        assert melody[-1].pitch % 12 == result.frame.tonic
        assert melody[-1].end == pytest.approx(seconds, abs=1e-6)
        inside += sum(n.pitch % 12 in result.frame.pitch_classes for n in melody)
        total += len(melody)
    assert inside / total >= 0.85  # accidentals are allowed, softly (OUTSIDE_PENALTY)


def test_a_hard_scale_mask_keeps_every_note_in_the_mode(composer: Composer) -> None:
    strict = Composer(composer.model, None, outside_penalty=None)
    result = strict.compose(CueRequest(-0.7, 0.5, 20.0, seed=5))
    assert all(n.pitch % 12 in result.frame.pitch_classes for n in result.piece.tracks[0].notes)


def test_same_seed_same_cue_other_seed_other_cue(composer: Composer) -> None:
    a = composer.compose(CueRequest(0.3, 0.2, 20.0, seed=9)).piece
    b = composer.compose(CueRequest(0.3, 0.2, 20.0, seed=9)).piece
    c = composer.compose(CueRequest(0.3, 0.2, 20.0, seed=10)).piece
    assert a.tracks[0].notes == b.tracks[0].notes
    assert a.tracks[0].notes != c.tracks[0].notes


def test_form_repeats_phrases() -> None:
    assert form_for(15) == (4, "ABAC")
    assert form_for(6) == (2, "ABA")
    phrase, letters = form_for(40)
    assert phrase == 4 and letters.startswith("ABAC") and letters.count("A") >= 5


def test_a_cue_quotes_its_characters_motif(composer: Composer) -> None:
    motif = make_motif(composer.model, "MAYA", seed=1)
    assert 4 <= len(motif.degrees) <= 7
    assert make_motif(composer.model, "MAYA", seed=1) == motif  # stable per character
    result = composer.compose(CueRequest(-0.6, -0.6, 40.0, seed=2, motif=motif))
    quoted = realise(motif, result.frame)
    melody = result.piece.tracks[0].notes
    onsets = sorted({round(n.start, 3) for n in melody})
    firsts = [
        max((n for n in melody if round(n.start, 3) == t), key=lambda n: n.pitch) for t in onsets
    ]
    assert [n.pitch for n in firsts[: len(quoted)]] == [n.pitch for n in quoted]
    assert result.summary()["motif"] == "MAYA"


def test_score_folder_from_cues(tmp_path: Path, composer: Composer) -> None:
    cues = [
        Cue("1M01", "s1", "00:00:00:00", "00:00:06:00", 6.0, 0.5, 0.4, "Q1", ("MAYA",), "MT", "A"),
        Cue(
            "1M02",
            "s2",
            "00:00:06:00",
            "00:00:15:12",
            9.5,
            -0.6,
            -0.5,
            "Q3",
            ("MAYA", "TOM"),
            "BI",
            "B",
        ),
    ]
    exporter = Exporter(tmp_path)
    result = write_score(
        exporter, cues, composer, ScoreOptions(seed=3, notation=False, engine="numpy")
    )
    score = tmp_path / "score"
    for cue in cues:
        assert duration(read_midi(score / f"{cue.cue_id}.mid")) == pytest.approx(
            cue.duration_s, abs=0.01
        )
        assert wav_seconds(score / f"{cue.cue_id}.wav") == pytest.approx(cue.duration_s, abs=0.01)
    assert wav_seconds(score / "score.wav") == pytest.approx(15.5, abs=0.01)
    timeline = read_midi(score / "score.mid")
    assert duration(timeline) == pytest.approx(15.5, abs=0.01)
    sheet = json.loads((score / "cues.json").read_text())
    assert [c["music"]["motif"] for c in sheet["cues"]] == ["MAYA", "MAYA"]
    assert sheet["cues"][1]["music"]["key"].endswith(("aeolian", "dorian", "phrygian"))
    assert sheet["composer"]["render_engine"] == "numpy"
    motifs = json.loads((score / "motifs.json").read_text())["motifs"]
    assert {m["character"] for m in motifs} == {"MAYA", "TOM"}
    assert {a.path for a in exporter.assets} >= {
        "score/1M01.mid",
        "score/1M02.wav",
        "score/score.wav",
    }
    assert len(result.compositions) == 2


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_soundstage("music", *args, columns=200)


def test_cli_compose_midi_and_wav(tmp_path: Path) -> None:
    mid = tmp_path / "cue.mid"
    result = run_cli(
        "compose", "--emotion", "0.5,0.6", "--seconds", "8", "--out", str(mid), "--style", "fiddle"
    )
    assert result.returncode == 0, result.stderr
    assert duration(read_midi(mid)) == pytest.approx(8.0, abs=0.01)
    assert "bpm" in result.stdout
    wav = tmp_path / "cue.wav"
    result = run_cli(
        "compose",
        "--emotion",
        "-0.5,-0.6",
        "--seconds",
        "6",
        "--out",
        str(wav),
        "--engine",
        "numpy",
    )
    assert result.returncode == 0, result.stderr
    assert wav_seconds(wav) == pytest.approx(6.0, abs=0.01)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--emotion", "0.5,0.5", "--seconds", "0"], "must be positive"),
        (["--emotion", "0.5,0.5", "--seconds", "-4"], "must be positive"),
        (["--emotion", "0.5,0.5", "--seconds", "1300"], "20-minute"),
        (["--emotion", "happy", "--seconds", "5"], "--emotion"),
        (["--emotion", "0.5,0.5", "--seconds", "5", "--style", "polka"], "unknown style"),
        (["--emotion", "0.5,0.5", "--seconds", "5", "--out", "OUT.mp3"], "unknown file type"),
        (
            [
                "--emotion",
                "0.5,0.5",
                "--seconds",
                "5",
                "--out",
                "OUT.wav",
                "--soundfont",
                "missing.sf2",
            ],
            "missing.sf2",
        ),
    ],
)
def test_cli_compose_bad_input(tmp_path: Path, args: list[str], needle: str) -> None:
    out = str(tmp_path / "cue.mid")
    args = [a.replace("OUT", str(tmp_path / "cue")) for a in args]
    if "--out" not in args:
        args += ["--out", out]
    result = run_cli("compose", *args)
    assert result.returncode != 0
    assert needle in result.stderr and "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir())


def test_cli_render_midi_and_refuse_broken_files(tmp_path: Path, composer: Composer) -> None:
    from soundstage.music.score import midi_bytes

    good = tmp_path / "good.mid"
    data = midi_bytes(composer.compose(CueRequest(0.2, 0.2, 5.0, seed=1)).piece)
    good.write_bytes(data)
    wav = tmp_path / "good.wav"
    result = run_cli(
        "render", str(good), "--out", str(wav), "--engine", "numpy", "--sample-rate", "22050"
    )
    assert result.returncode == 0, result.stderr
    assert wav_seconds(wav) >= 5.0
    for name, payload in (
        ("junk.mid", b"not a midi file at all"),
        ("cut.mid", data[: len(data) // 2]),
    ):
        (tmp_path / name).write_bytes(payload)
        out = tmp_path / f"{name}.wav"
        result = run_cli("render", str(tmp_path / name), "--out", str(out))
        assert result.returncode != 0
        assert name in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) <= 2
        assert not out.exists()


def test_cli_score_refuses_a_screenplay_of_the_wrong_shape(tmp_path: Path) -> None:
    bad = tmp_path / "screenplay.json"
    bad.write_text(json.dumps({"title": "x", "scenes": "nope"}))
    result = run_cli("score", str(bad), "--out", str(tmp_path / "score"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "screenplay" in result.stderr.lower()
    assert not (tmp_path / "score").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["eval", "--data", "NOWHERE"], "train_offsets.npy not found"),
        (["train", "--data", "NOWHERE"], "train_offsets.npy not found"),
    ],
)
def test_cli_train_and_eval_need_prepared_data(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    result = run_cli(*[str(tmp_path / "none") if a == "NOWHERE" else a for a in args])
    assert result.returncode != 0
    assert needle in result.stderr and "Traceback" not in result.stderr
