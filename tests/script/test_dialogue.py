"""Turn-by-turn dialogue with the real embedded model."""

from __future__ import annotations

import pytest

from soundstage.backends import load_backend
from soundstage.backends.base import TextBackend
from soundstage.script.types import Controls, Line
from soundstage.script.write.dialogue import (
    DialogueWriter,
    clean,
    printed_lines,
    rep_n,
    scene_budget,
)
from soundstage.script.write.planner import plan

LOGLINE = "A retired lighthouse keeper discovers that a smuggler has stolen the great lens."


@pytest.fixture(scope="module")
def backend() -> TextBackend:
    return load_backend("embedded")


def test_clean_cuts_at_an_invented_speaker_cue() -> None:
    assert clean("  I go.\nHAMLET:\nStay!") == "I go."
    assert clean("One\n\n\nTwo\nThree\nFour\nFive") == "One\nTwo\nThree\nFour"


def test_rep_n_flags_loops() -> None:
    assert rep_n("the sea the sea the sea the sea the sea the sea") > 0.5
    assert rep_n("a b c d e f g h") == 0.0


def test_printed_lines_and_budget() -> None:
    assert printed_lines(Line("a", "Short.")) == 3
    assert printed_lines(Line("a", "x" * 70, "beat")) == 5
    assert scene_budget(10, 5) == 104


def test_scene_fills_its_budget_with_declared_present_speakers(backend: TextBackend) -> None:
    sp = plan(LOGLINE, Controls(minutes=3), seed=2)
    scene = sp.scenes[0]
    writer = DialogueWriter(backend)
    seen: list[str] = []
    dialogue = writer.write_scene(sp, scene, 24, seed=5, on_turn=lambda _l, p: seen.append(p))
    assert sum(printed_lines(ln) for ln in dialogue.lines) >= 24
    assert {ln.speaker for ln in dialogue.lines} <= set(scene.characters)
    texts = [ln.text for ln in dialogue.lines]
    assert all(t.strip() for t in texts) and len(set(texts)) == len(texts)  # no repeats
    assert all(":" not in t.splitlines()[-1][-1:] for t in texts)
    speakers = [ln.speaker for ln in dialogue.lines]
    assert all(a != b for a, b in zip(speakers, speakers[1:], strict=False))  # turns alternate
    assert len(seen) == len(dialogue.lines) and scene.beat in seen[0]
    again = writer.write_scene(sp, scene, 24, seed=5)
    assert again == dialogue  # same seed, same scene
