"""Spotting: screenplay → cue sheet, checked against the rules a music editor would check."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import pytest

from soundstage.backends import load_backend
from soundstage.errors import SoundstageError
from soundstage.export import Exporter
from soundstage.music.spotting import (
    MIN_SECONDS,
    cue_sheet_csv,
    cue_sheet_json,
    parse_timecode,
    spot,
    timecode,
    write_cue_sheet,
)
from soundstage.script.formats.elements import Document, Element, Kind
from soundstage.script.render import render
from soundstage.script.report import estimate_pages
from soundstage.script.types import Character, Controls, Dialogue, Line, Place, Scene, Screenplay

CAST = [Character("ada", "Ada Quill"), Character("tom", "Tom Reed")]


def screenplay(speeches_per_scene: int = 2, scenes: int = 2) -> Screenplay:
    """A funeral, a brawl, then plain filler scenes; length set by speeches per scene."""
    beats = [
        "Ada mourns at her father's funeral; the widow weeps by the coffin in the rain.",
        "A brawl breaks out: Tom punches a smuggler, bottles smash, blood and shouting.",
    ]
    texts = [
        "Alas, the grave is cold and I am alone in my grief.",
        "Fight me, you thief! Kill him!",
    ]
    sp = Screenplay(title="T", characters=list(CAST), places=[Place("CHURCHYARD")])
    for i in range(scenes):
        sid = f"s{i + 1}"
        beat = beats[i] if i < len(beats) else "Ada and Tom walk along the harbour."
        text = texts[i] if i < len(texts) else "We walk on along the long harbour wall."
        sp.scenes.append(Scene(sid, "CHURCHYARD", "Setup", beat, ("ada", "tom")))
        lines = tuple(Line("ada" if j % 2 else "tom", text) for j in range(speeches_per_scene))
        sp.dialogue[sid] = Dialogue(sid, lines)
    return sp


@pytest.mark.parametrize("fps", [24, 25, 30])
def test_timecode_round_trip(fps: int) -> None:
    assert timecode(0, fps) == "00:00:00:00"
    assert timecode(fps - 1, fps) == f"00:00:00:{fps - 1:02d}"
    assert timecode(fps, fps) == "00:00:01:00"
    one_hour = 3600 * fps + 61 * fps + 3
    assert timecode(one_hour, fps) == "01:01:01:03"
    for frames in (0, 1, fps - 1, fps, 59 * fps, 3600 * fps - 1, 10 * 3600 * fps + 7):
        assert parse_timecode(timecode(frames, fps), fps) == frames


@pytest.mark.parametrize(
    ("tc", "fps"), [("00:00:00:24", 24), ("00:60:00:00", 24), ("1:2:3", 24), ("aa:00:00:00", 25)]
)
def test_bad_timecodes_are_one_line_errors(tc: str, fps: int) -> None:
    with pytest.raises(SoundstageError) as err:
        parse_timecode(tc, fps)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("fps", [0, 29.97, -24, True])
def test_bad_frame_rates_are_refused(fps: object) -> None:
    with pytest.raises(SoundstageError, match="frame rate"):
        spot(screenplay(), fps=fps)  # type: ignore[arg-type]


@pytest.mark.parametrize("fps", [24, 25, 30])
def test_cues_are_contiguous_and_sum_to_the_estimated_runtime(fps: int) -> None:
    sp = screenplay(speeches_per_scene=6, scenes=5)
    cues = spot(sp, fps=fps)
    assert [c.scene_id for c in cues] == [s.id for s in sp.scenes]
    assert cues[0].tc_in == "00:00:00:00"
    for a, b in zip(cues, cues[1:], strict=False):
        assert a.tc_out == b.tc_in
    for c in cues:
        frames = parse_timecode(c.tc_out, fps) - parse_timecode(c.tc_in, fps)
        assert frames > 0
        assert c.duration_s == pytest.approx(frames / fps)
        assert c.fps == fps
    runtime = estimate_pages(render(sp)) * 60
    assert sum(c.duration_s for c in cues) == pytest.approx(runtime, abs=1 / fps)
    assert cue_sheet_json(cues)["runtime_s"] == pytest.approx(runtime, abs=1 / fps)


def test_longer_scenes_get_longer_cues() -> None:
    sp = screenplay(speeches_per_scene=2, scenes=3)
    sp.dialogue["s2"] = Dialogue("s2", sp.dialogue["s2"].lines * 8)
    cues = spot(sp)
    assert cues[1].duration_s > 3 * cues[0].duration_s


def test_cue_ids_restart_in_each_twenty_minute_reel() -> None:
    sp = screenplay(speeches_per_scene=40, scenes=16)  # ~46 minutes
    cues = spot(sp)
    total = sum(c.duration_s for c in cues)
    assert 40 * 60 < total < 60 * 60
    reels = {c.cue_id[0] for c in cues}
    assert reels == {"1", "2", "3"}
    for c in cues:
        start = parse_timecode(c.tc_in, 24) / 24
        assert int(c.cue_id.split("M")[0]) == int(start // 1200) + 1
    for reel in reels:
        numbers = [int(c.cue_id.split("M")[1]) for c in cues if c.cue_id[0] == reel]
        assert numbers == list(range(1, len(numbers) + 1))
    assert cues[0].cue_id == "1M01"


def test_usage_codes() -> None:
    cues = spot(screenplay(scenes=4))
    assert [c.usage for c in cues] == ["MT", "BI", "BI", "ET"]
    assert [c.usage for c in spot(screenplay(scenes=1))] == ["MT"]


def test_funeral_and_brawl_scenes_land_in_their_quadrants() -> None:
    funeral, brawl = spot(screenplay())
    assert funeral.quadrant == "Q3", funeral
    assert brawl.quadrant == "Q2", brawl
    assert funeral.valence < 0 and brawl.arousal > funeral.arousal
    assert "funeral" in funeral.words or "weeps" in funeral.words
    assert funeral.characters == ("ada", "tom")
    assert "funeral" in funeral.description


def test_scene_with_almost_no_printed_length_gets_the_minimum() -> None:
    sp = screenplay(speeches_per_scene=10, scenes=3)
    # an edited document in which scene 2 prints only a bare heading (1 line ≈ 1 s)
    kept: list[Element] = []
    scene = 0
    for e in render(sp).elements:
        scene += e.kind == Kind.SCENE_HEADING
        if scene != 2:
            kept.append(e)
        elif e.kind == Kind.SCENE_HEADING:
            kept.append(dataclasses.replace(e, text="X"))
    doc = Document(elements=kept)
    plain = spot(sp, document=doc, min_seconds=0)
    assert plain[1].duration_s < 2
    cues = spot(sp, document=doc)
    assert cues[1].duration_s == pytest.approx(MIN_SECONDS, abs=1 / 24)
    assert cues[2].duration_s == pytest.approx(plain[2].duration_s, abs=1 / 24)


def test_csv_parses_back_to_the_json() -> None:
    cues = spot(screenplay(scenes=3))
    data = cue_sheet_json(cues)
    rows = list(csv.DictReader(io.StringIO(cue_sheet_csv(cues))))
    assert len(rows) == len(data["cues"]) == 3
    for row, cue in zip(rows, data["cues"], strict=True):
        assert set(row) == set(cue)
        for key, value in cue.items():
            if isinstance(value, list):
                assert [x for x in row[key].split(";") if x] == value
            elif isinstance(value, float | int):
                assert float(row[key]) == pytest.approx(value)
            else:
                assert row[key] == value
    assert json.loads(json.dumps(data)) == data


@pytest.mark.parametrize(
    "data",
    [
        [],
        "a screenplay",
        {"scenes": "s1"},
        {"scenes": [{"id": "s1"}]},
        {"scenes": [{"id": "s1", "place": "X", "plot_element": "", "beat": "", "mood": 1}]},
        {"scenes": []},
        {
            "characters": ["ada"],
            "scenes": [{"id": "s1", "place": "X", "plot_element": "", "beat": ""}],
        },
        {
            "scenes": [
                {"id": "s1", "place": "X", "plot_element": "", "beat": "", "characters": ["x"]}
            ]
        },
        {
            "scenes": [{"id": "s1", "place": "X", "plot_element": "", "beat": ""}] * 2,
        },
        {
            "scenes": [{"id": "s1", "place": "X", "plot_element": "", "beat": ""}],
            "dialogue": {"s1": {}},
        },
    ],
)
def test_wrong_shape_is_one_line_error(data: object) -> None:
    with pytest.raises(SoundstageError) as err:
        spot(data)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)


def test_spot_accepts_screenplay_json() -> None:
    sp = screenplay(scenes=3)
    assert spot(sp.to_json()) == spot(sp)


def test_write_cue_sheet_goes_through_the_exporter(tmp_path: Path) -> None:
    exporter = Exporter(tmp_path)
    cues = spot(screenplay(scenes=3))
    write_cue_sheet(exporter, cues)
    assert {a.path for a in exporter.assets} == {"score/cues.json", "score/cues.csv"}
    assert json.loads((tmp_path / "score/cues.json").read_text()) == cue_sheet_json(cues)
    text = (tmp_path / "score/cues.csv").read_text()
    assert text.splitlines()[0].startswith("cue_id,scene_id,tc_in,tc_out")
    media = {a.path: a.media_type for a in exporter.assets}
    assert media["score/cues.csv"] == "text/csv"


def test_spot_a_real_production(tmp_path: Path) -> None:
    from soundstage.produce import produce

    logline = "A retired lighthouse keeper discovers that a smuggler has stolen the great lens."
    p = produce(logline, tmp_path, load_backend("embedded"), Controls(minutes=1), seed=2)
    cues = spot(p.screenplay, document=p.document)
    assert len(cues) == len(p.screenplay.scenes) >= 2
    runtime = estimate_pages(p.document) * 60
    assert sum(c.duration_s for c in cues) == pytest.approx(runtime, abs=1 / 24)
    assert all(c.quadrant in {"Q1", "Q2", "Q3", "Q4"} for c in cues)
    assert {c for cue in cues for c in cue.characters} <= {c.id for c in p.screenplay.characters}
    # the same from the screenplay.json produce wrote
    data = json.loads((tmp_path / "screenplay.json").read_text())
    assert [c.cue_id for c in spot(data)] == [c.cue_id for c in cues]
    write_cue_sheet(p.exporter, cues)
    assert (tmp_path / "score/cues.csv").exists()
