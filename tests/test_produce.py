"""`soundstage produce` end to end, as a user runs it, with every file read back."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest
from cli_runner import run_soundstage

from soundstage.script.formats.elements import Kind
from soundstage.script.formats.fdx import read_fdx
from soundstage.script.formats.fountain import read_fountain
from soundstage.script.types import Screenplay

LOGLINE = "A retired lighthouse keeper discovers that a smuggler has stolen the great lens."
SMALL = ("--minutes", "2", "--seed", "3", "--author", "Sam Writer", "--genre", "thriller")
SMALL += ("--model", "embedded")  # the machinery, with the fast model (see conftest)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_soundstage(*args)


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A package made in its own data dir, `out/../home` (its keys: see the seed test)."""
    out = tmp_path_factory.mktemp("prod") / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOUNDSTAGE_DATA_DIR", str(out.parent / "home"))
        result = run("produce", LOGLINE, "--out", str(out), *SMALL)
    assert result.returncode == 0, result.stderr
    return out


def test_all_assets_are_written_and_listed_in_the_manifest(produced: Path) -> None:
    names = {
        "screenplay.fountain",
        "screenplay.fdx",
        "screenplay.pdf",
        "screenplay.json",
        "log.jsonl",
        "report.md",
        "manifest.json",
        "moderation.json",
        "score",
    }
    assert names <= {p.name for p in produced.iterdir()}
    assert not [p for p in produced.iterdir() if p.name.startswith(".")]  # no temp files left
    manifest = json.loads((produced / "manifest.json").read_text())
    for asset in manifest["assets"]:
        data = (produced / asset["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == asset["sha256"]
        assert asset["generator"] == "soundstage / drama-lm"


def test_fountain_fdx_and_json_agree(produced: Path) -> None:
    sp = Screenplay.from_json(json.loads((produced / "screenplay.json").read_text()))
    fountain = read_fountain(produced / "screenplay.fountain")
    fdx = read_fdx(produced / "screenplay.fdx")
    assert fountain.elements == fdx.elements
    assert fountain.title() == sp.title
    assert fountain.get("Author") == "Sam Writer with soundstage (drama-lm)"
    assert fountain.count(Kind.SCENE_HEADING) == len(sp.scenes)
    speeches = sum(len(d.lines) for d in sp.dialogue.values())
    assert fountain.count(Kind.CHARACTER) == speeches > 0
    cues = {e.text for e in fountain.elements if e.kind is Kind.CHARACTER}
    assert cues <= {c.cue for c in sp.characters}  # every speaker is a declared character


def test_pdf_has_the_disclosure_on_its_title_page(produced: Path) -> None:
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(produced / "screenplay.pdf")
    assert len(reader.pages) >= 2
    first = reader.pages[0].extract_text()
    assert "Sam Writer with soundstage (drama-lm)" in first
    assert "Co-written with an AI system: soundstage (drama-lm)" in first


def test_log_and_report(produced: Path) -> None:
    rows = [json.loads(line) for line in (produced / "log.jsonl").read_text().splitlines()]
    levels = {r["level"] for r in rows}
    assert levels == {"logline", "title", "characters", "scenes", "places", "dialogue"}
    assert all(r["prompt"] for r in rows if r["level"] == "dialogue")
    report = (produced / "report.md").read_text()
    assert "estimated runtime" in report and "| dialogue |" in report


def test_same_seed_same_screenplay(
    produced: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On one installation: the text watermark's key is the installation's, so another
    installation samples other (equally likely) words from the same seed."""
    monkeypatch.setenv("SOUNDSTAGE_DATA_DIR", str(produced.parent / "home"))
    again = tmp_path / "again"
    result = run("produce", LOGLINE, "--out", str(again), *SMALL)
    assert result.returncode == 0
    assert (again / "screenplay.json").read_text() == (produced / "screenplay.json").read_text()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["", "--out", "OUT"], "logline is empty"),
        (["x" * 100_000, "--out", "OUT"], "at most 1000"),
        (["A plot.", "--out", "OUT", "--minutes", "0"], "--minutes"),
        (["A plot.", "--out", "OUT", "--minutes", "500"], "--minutes"),
        (["A plot.", "--out", "OUT", "--structure", "five-act"], "unknown --structure"),
        (["A plot.", "--out", "OUT", "--model", "nope"], "unknown backend spec"),
        (["A plot.", "--out", "OUT", "--genre", "westernnn"], "--genre is one of: drama"),
        (["A plot.", "--out", "OUT", "--tone", "grumpy"], "unknown tone 'grumpy'"),
        (["A plot.", "--out", "OUT", "--rating", "NC-17"], "--rating is one of: G, PG"),
        (["A plot.", "--out", "OUT", "--model", "local:/no/such.gguf"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    out = tmp_path / "out"
    result = run("produce", *[str(out) if a == "OUT" else a for a in args])
    assert result.returncode != 0
    assert needle in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_outputs_get_ordinary_file_permissions(produced: Path) -> None:
    """Atomic writes must not leave owner-only (0600) files a team share cannot read."""
    umask = os.umask(0)
    os.umask(umask)
    for path in produced.rglob("*"):
        if path.is_file():
            assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path.name


def test_the_score_folder_holds_a_cue_per_scene(produced: Path) -> None:
    import csv

    sp = json.loads((produced / "screenplay.json").read_text())
    rows = list(csv.DictReader((produced / "score" / "cues.csv").open()))
    assert [r["scene_id"] for r in rows] == [s["id"] for s in sp["scenes"]]
    assert rows[0]["cue_id"] == "1M01" and rows[0]["tc_in"] == "00:00:00:00"
    manifest = json.loads((produced / "manifest.json").read_text())
    assert {"score/cues.json", "score/cues.csv"} <= {a["path"] for a in manifest["assets"]}


def test_music_spot_command(produced: Path, tmp_path: Path) -> None:
    out = tmp_path / "cues"
    result = run("music", "spot", str(produced / "screenplay.json"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    scored = json.loads((produced / "score" / "cues.json").read_text())
    scored.pop("composer", None)  # produce adds the music facts to the same cue sheet
    for cue in scored["cues"]:
        cue.pop("music", None)
    assert json.loads((out / "cues.json").read_text()) == scored
    bad = tmp_path / "bad.json"
    bad.write_text('{"scenes": [1, 2]')
    result = run("music", "spot", str(bad), "--out", str(out))
    assert result.returncode != 0 and "bad.json:1: not a JSON screenplay" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_audio_fallback_is_said(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env_soundfont = os.environ.get("SOUNDSTAGE_SOUNDFONT")
    result = run("produce", LOGLINE, "--out", str(out), "--minutes", "1", "--seed", "4")
    assert result.returncode == 0, result.stderr
    sheet = json.loads((out / "score" / "cues.json").read_text())
    engine = sheet["composer"]["render_engine"]
    if engine == "numpy" and not env_soundfont:
        assert "note: score audio: no soundfont found" in result.stdout
    assert engine in {"numpy", "symusic", "fluidsynth"}


def test_the_score_has_music_for_every_cue(produced: Path) -> None:
    import wave

    from soundstage.music.generate import DEFAULT_MODEL
    from soundstage.music.midi_io import read_midi
    from soundstage.music.types import duration

    if not (DEFAULT_MODEL / "config.json").exists():
        pytest.skip("music model not trained yet")
    sheet = json.loads((produced / "score" / "cues.json").read_text())
    for cue in sheet["cues"]:
        mid = produced / "score" / f"{cue['cue_id']}.mid"
        assert duration(read_midi(mid)) == pytest.approx(cue["duration_s"], abs=0.01)
        with wave.open(str(produced / "score" / f"{cue['cue_id']}.wav")) as w:
            assert w.getnframes() / w.getframerate() == pytest.approx(cue["duration_s"], abs=0.01)
        assert (produced / "score" / f"{cue['cue_id']}.musicxml").read_bytes().startswith(b"<?xml")
        assert cue["music"]["bars"] >= 1
    with wave.open(str(produced / "score" / "score.wav")) as w:
        assert w.getnframes() / w.getframerate() == pytest.approx(sheet["runtime_s"], abs=0.01)
    manifest = {a["path"] for a in json.loads((produced / "manifest.json").read_text())["assets"]}
    assert {"score/score.wav", "score/score.mid", "score/motifs.json", "score/1M01.wav"} <= manifest


def test_no_score_writes_only_the_cue_sheet(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("produce", LOGLINE, "--out", str(out), *SMALL, "--no-score")
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (out / "score").iterdir() if p.suffix != ".c2pa")
    assert names == ["cues.csv", "cues.json"]


def test_release_gate_result_is_in_the_report(produced: Path) -> None:
    gate = json.loads((produced / "moderation.json").read_text())
    assert gate["policy"].startswith("release@")
    assert gate["checked"] > 10  # title, logline, characters, beats and every speech
    assert gate["stopped_export"] is False
    assert "## Moderation (release gate)" in (produced / "report.md").read_text()


BLOCK_ALL = """name = "block-all"
version = "1"
gate = "stop"
[defaults]
toxicity = { block = 0.0, clause = "test: everything blocks" }
"""


def test_a_blocking_policy_stops_the_export(tmp_path: Path) -> None:
    policy = tmp_path / "block-all.toml"
    policy.write_text(BLOCK_ALL)
    out = tmp_path / "out"
    result = run(
        "produce", LOGLINE, "--out", str(out), *SMALL, "--no-score", "--policy", str(policy)
    )
    assert result.returncode != 0
    assert "release gate (block-all@1) blocked" in result.stderr
    assert "Traceback" not in result.stderr
    written = sorted(p.name for p in out.iterdir() if p.suffix != ".c2pa")  # sidecars aside
    assert written == ["manifest.json", "moderation.json"]
    gate = json.loads((out / "moderation.json").read_text())
    assert gate["stopped_export"] is True
    assert all(f["decision"] == "block" for f in gate["flagged"])
    # --gate report exports anyway, with the findings in the report
    result = run(
        "produce",
        LOGLINE,
        "--out",
        str(out),
        *SMALL,
        "--no-score",
        "--policy",
        str(policy),
        "--gate",
        "report",
    )
    assert result.returncode == 0, result.stderr
    assert (out / "screenplay.fountain").exists()
    assert "| block |" in (out / "report.md").read_text()
