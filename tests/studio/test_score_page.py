"""The score in a real browser: a composer composes a project's score, plays a cue (the audio
element loads a WAV as long as the cue sheet says), sees its piano roll, downloads its MIDI and
composes one cue again with another emotion; a writer is refused."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from studio_helpers import Studio, shot, sign_in

from soundstage.backends import load_backend
from soundstage.music.generate import DEFAULT_MODEL
from soundstage.script.room import WritersRoom, next_level
from soundstage.script.types import Controls
from soundstage.store import open_store

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (DEFAULT_MODEL / "config.json").exists(), reason="music model not trained yet"
    ),
]
LOGLINE = "A lighthouse keeper finds the great lens stolen on the night of the storm."


@pytest.fixture(scope="module")
def room(live: Studio) -> Iterator[WritersRoom]:
    engine = open_store(live.settings)
    backend = load_backend("embedded", live.settings)
    yield WritersRoom(engine, backend, author="wendy")
    backend.close()
    engine.dispose()


@pytest.fixture(scope="module")
def project(room: WritersRoom) -> str:
    """A half-minute project with every level written (three short scenes)."""
    pid = room.new("keeper", LOGLINE, Controls(minutes=0.5)).project_id
    while (level := next_level(room.load(pid).screenplay)) is not None:
        room.generate(pid, level)
    return pid


def follow_task(page, done: str) -> None:  # type: ignore[no-untyped-def]
    """After a form that starts a task: its page, then wherever it leads when done."""
    page.wait_for_url(re.compile(r"/tasks/[0-9a-f]+$"))
    if page.locator("#task-done").count():  # done before its page was served
        page.locator("#task-done").click()
    try:
        page.wait_for_url(re.compile(done), timeout=120_000)
    except Exception:
        error = page.locator("#task-error")
        pytest.fail(f"the task did not finish: {error.inner_text() if error.count() else '?'}")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_composer_composes_plays_and_recomposes_a_cue(live: Studio, project: str, page) -> None:  # type: ignore[no-untyped-def]
    folder = live.settings.data_dir / "studio" / "scores" / project
    sign_in(page, live.url, "carl")
    page.goto(f"{live.url}/projects/{project}/score")
    assert page.get_by_role("heading", name="No score yet").is_visible()
    page.get_by_role("button", name="Compose the score").click()
    follow_task(page, rf"/projects/{project}/score$")

    sheet = json.loads((folder / "cues.json").read_text())
    first = sheet["cues"][0]
    rows = page.locator("table.cues tbody tr")
    assert rows.count() == len(sheet["cues"]) >= 3
    assert first["tc_in"] in rows.first.inner_text() and first["tc_out"] in rows.first.inner_text()
    # The first cue's player loads its WAV, exactly as long as the cue.
    seconds = page.locator(f"#row-{first['cue_id']} audio").evaluate(
        """audio => new Promise((done, fail) => {
            if (audio.readyState >= 1) return done(audio.duration);
            audio.addEventListener("loadedmetadata", () => done(audio.duration));
            audio.addEventListener("error", () => fail(audio.error && audio.error.code));
            audio.load();
        })"""
    )
    assert seconds == pytest.approx(first["duration_s"], abs=0.1)
    roll = page.locator(f"#cue-{first['cue_id']} img.roll")
    roll.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=roll.element_handle())
    assert page.get_by_role("heading", name="Leitmotifs").is_visible()
    shot(page, "score")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "score-390")
    page.set_viewport_size({"width": 1280, "height": 900})

    href = page.locator(f"#cue-{first['cue_id']} a", has_text="MIDI").get_attribute("href")
    midi = page.request.get(live.url + href)
    assert midi.status == 200 and midi.headers["content-type"] == "audio/midi"
    assert midi.body().startswith(b"MThd")
    svg = page.request.get(f"{live.url}/projects/{project}/score/files/{first['cue_id']}.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    for bad in ("..%2F..%2Fstore.db", "cues.py", "9M99.wav"):
        assert page.request.get(f"{live.url}/projects/{project}/score/files/{bad}").status == 404

    # Compose the second cue again as "tense": its files change, the others do not.
    second = sheet["cues"][1]["cue_id"]
    before = {p.name: digest(p) for p in folder.iterdir()}
    card = page.locator(f"#cue-{second}")
    card.locator("summary").click()
    card.get_by_label("Emotion").select_option("tense")
    card.get_by_role("button", name=f"Compose {second} again").click()
    follow_task(page, rf"/projects/{project}/score#cue-{second}$")
    changed = {p.name for p in folder.iterdir() if digest(p) != before.get(p.name)}
    assert {f"{second}.wav", f"{second}.mid", "score.wav", "cues.json"} <= changed
    assert not any(name.startswith(first["cue_id"]) for name in changed)
    assert "scored as tense" in page.locator(f"#row-{second}").inner_text()

    # A wrong value is refused with the reason beside the form (the browser's own checks aside).
    csrf = page.locator("input[name=csrf]").first.input_value()
    form = {"csrf": csrf, "emotion": "custom", "valence": "2", "arousal": "0", "seed": "1"}
    refused = page.request.post(f"{live.url}/projects/{project}/score/cues/{second}", form=form)
    assert refused.status == 400 and "valence 2 is outside -1..1" in refused.text()


def test_a_project_without_scenes_is_not_scored_yet(live: Studio, room: WritersRoom, page) -> None:  # type: ignore[no-untyped-def]
    pid = room.new("bare", LOGLINE, Controls(minutes=0.5)).project_id
    sign_in(page, live.url, "carl")
    page.goto(f"{live.url}/projects/{pid}/score")
    assert "the scenes level must be written first" in page.locator("main").inner_text()
    assert page.get_by_role("button", name="Compose the score").count() == 0
    assert (
        page.get_by_role("link", name="Write the scenes").get_attribute("href")
        == f"/projects/{pid}"
    )
    assert page.goto(f"{live.url}/projects/nosuchproject/score").status == 404


def test_a_writer_may_not_open_the_score(live: Studio, project: str, page) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, live.url, "wendy")
    response = page.goto(f"{live.url}/projects/{project}/score")
    assert response.status == 403
    assert "needs the composer role" in page.get_by_role("alert").inner_text()
    posted = page.request.post(f"{live.url}/projects/{project}/score", form={"seed": "1"})
    assert posted.status == 403
    assert page.request.get(f"{live.url}/projects/{project}/score/files/cues.json").status == 403
