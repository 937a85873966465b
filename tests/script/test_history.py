from __future__ import annotations

import json

from soundstage.script.history import InterventionLog, authorship
from soundstage.script.types import Character, Screenplay


def _draft() -> Screenplay:
    return Screenplay("A keeper loses a lens.", "The Lens", characters=[Character("a", "Ada", "x")])


def test_log_records_diffs_and_serialises() -> None:
    sp = _draft()
    log = InterventionLog()
    log.record_all(sp, "generate", "model:m", ["title", "characters"])
    log.record("edit", "title", "title", "human:sam", "The Great Lens")
    edit = log.entries[-1]
    assert edit.diff.splitlines() == ["@@ -1 +1 @@", "-The Lens", "+The Great Lens"]
    rows = [json.loads(line) for line in log.to_jsonl().splitlines()]
    assert [r["op"] for r in rows] == ["generate", "generate", "edit"]
    assert rows[-1]["actor"] == "human:sam"


def test_authorship_splits_edited_text_by_how_much_changed() -> None:
    sp = _draft()
    log = InterventionLog()
    log.record("generate", "logline", "logline", "human:sam", sp.logline)
    log.record_all(sp, "generate", "model:m", ["title", "characters"])
    sp.title = "The Great Lens"
    log.record("edit", "title", "title", "human:sam", sp.title)
    report = authorship(log, sp)
    assert report["logline"]["human_share"] == 1.0
    assert report["characters"]["model_share"] == 1.0
    title = report["title"]
    assert 0 < title["human_share"] < 1 and title["human_share"] + title["model_share"] == 1
    assert title["edit_effort"] == round(6 / len("The Lens"), 4)  # 6 characters inserted


def test_render_introduces_characters_and_discloses_ai() -> None:
    from soundstage.script.formats.elements import Kind
    from soundstage.script.render import ai_notice, render
    from soundstage.script.types import Dialogue, Line, Place, Scene

    sp = _draft()
    sp.characters = [Character("a", "Ada Quill", "(30s) a keeper"), Character("b", "Bo", "")]
    sp.places = [Place("DOCK", "Wet planks.", interior=False)]
    sp.scenes = [Scene("s1", "DOCK", "Setup", "Ada waits.", ("a", "b"), "NIGHT")]
    sp.dialogue = {"s1": Dialogue("s1", (Line("a", "Who's there?", "whispers"), Line("b", "Me.")))}
    sp.author, sp.model = "Sam", "m1"
    doc = render(sp)
    assert doc.get("Author") == "Sam with soundstage (m1)"
    assert ai_notice(sp) == "Co-written with an AI system: soundstage (m1)"
    kinds = [(e.kind, e.text) for e in doc.elements]
    assert (Kind.SCENE_HEADING, "EXT. DOCK - NIGHT") in kinds
    assert (Kind.ACTION, "ADA QUILL (30s), a keeper") in kinds
    assert (Kind.CHARACTER, "ADA") in kinds and (Kind.PARENTHETICAL, "(whispers)") in kinds
    assert not any(t.startswith("BO,") for _, t in kinds)  # no description, no intro line
