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
    assert edit.diff.splitlines()[-2:] == ["-The Lens", "+The Great Lens"]
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
