"""`script.evaluate`: hand-built scripts with known answers, then real ones from shared data."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from soundstage.script.evaluate import (
    EQUAL_TOKENS,
    LOOP_WINDOW,
    Diversity,
    Loops,
    SceneLoops,
    diversity,
    evaluate,
    looping_blocks,
    normalise_cue,
    tokens,
)
from soundstage.script.formats.elements import Document, Element, Kind
from soundstage.script.formats.fountain import read_fountain
from soundstage.script.render import render
from soundstage.script.types import Character, Dialogue, Line, Scene, Screenplay

E = Element
K = Kind


def speech(cue: str, text: str, parenthetical: str = "") -> list[Element]:
    out = [E(K.CHARACTER, cue)]
    if parenthetical:
        out.append(E(K.PARENTHETICAL, parenthetical))
    return [*out, E(K.DIALOGUE, text)]


def kitchen() -> Document:
    """10 elements; dialogue tokens 'a b a | b a b | hello .'."""
    return Document(
        title_page=[("Title", "Kitchen")],
        elements=[
            E(K.SCENE_HEADING, "INT. KITCHEN - DAY"),
            E(K.ACTION, "Ann waits."),
            *speech("ANN", "A b a"),
            *speech("BOB (V.O.)", "b a *b*", "(softly)"),
            E(K.SCENE_HEADING, "KITCHEN AGAIN", forced=True),
            *speech("ANN (CONT'D)", "Hello."),
        ],
    )


def test_known_answers_on_a_hand_built_script() -> None:
    ev = evaluate(kitchen())
    f = ev.format
    assert f.round_trip and f.round_trip_error is None
    assert f.title_page and f.orphan_cues == 0 and f.valid and ev.valid
    assert (f.headings, f.nonstandard_headings) == (2, 1)  # the forced heading
    assert f.kinds["scene_heading"] == 0.2 and f.kinds["action"] == 0.1
    assert f.kinds["character"] == 0.3 and f.kinds["dialogue"] == 0.3
    assert f.kinds["parenthetical"] == 0.1 and f.kinds["transition"] == 0.0
    assert sum(f.kinds.values()) == pytest.approx(1.0)
    # a b a b a b hello . : 8 tokens (emphasis stripped, case folded, '.' a token)
    assert ev.diversity == Diversity(8, 4 / 8, 4 / 7, 4 / 6, 1 - 4 / 5)
    assert ev.diversity_equal == ev.diversity  # fewer than EQUAL_TOKENS: all of them
    assert ev.loops == Loops(0, 0, [])
    c = ev.consistency
    assert c.speakers == {"ANN": 2, "BOB": 1} and c.speeches == 3
    assert c.cues_with_extensions == 2
    assert c.checked_speeches is None and c.consistent_share is None


def test_runtime_is_the_page_estimate() -> None:
    doc = Document(elements=[E(K.ACTION, "x" * 61), E(K.ACTION, "y" * 62)])
    assert evaluate(doc).pages == 4 / 55  # 1 line, a blank, 2 lines


def test_tokens_and_diversity() -> None:
    assert tokens("Don't — STOP, _now_!") == ["don't", "—", "stop", ",", "now", "!"]
    d = diversity("a b a b a b".split())
    assert d == Diversity(6, 2 / 6, 2 / 5, 2 / 4, pytest.approx(1 / 3))
    assert diversity([]) == Diversity(0, 0.0, 0.0, 0.0, 0.0)


def test_diversity_at_equal_length_uses_the_first_tokens() -> None:
    words = ["".join(p) for p in itertools.product("abcdefghij", repeat=4)][:EQUAL_TOKENS]
    text = " ".join(words + words[:1000])  # 6,000 tokens, the last 1,000 repeat the first
    ev = evaluate(Document(elements=speech("ANN", text)))
    assert ev.diversity.tokens == 6000 and ev.diversity.distinct_1 == 5000 / 6000
    assert ev.diversity_equal.tokens == EQUAL_TOKENS
    assert ev.diversity_equal.distinct_1 == 1.0 and ev.diversity_equal.rep_4 == 0.0


def test_normalise_cue() -> None:
    assert normalise_cue("BOB (V.O.) (CONT'D)") == "BOB"
    assert normalise_cue(" O'NEIL (o.s.) ^") == "O'NEIL"
    assert normalise_cue("McCLANE") == "MCCLANE"


def test_orphan_cues_and_empty_title_page_make_a_script_invalid() -> None:
    doc = Document(
        elements=[
            E(K.SCENE_HEADING, "EXT. PARK - DAY"),
            E(K.CHARACTER, "ANN"),
            E(K.ACTION, "She leaves."),  # orphan 1
            E(K.CHARACTER, "BOB"),
            E(K.BONEYARD, " cut "),  # a boneyard inside a speech does not orphan the cue
            E(K.DIALOGUE, "Wait."),
            E(K.CHARACTER, "CAT"),  # orphan 2: nothing after it
        ]
    )
    f = evaluate(doc).format
    assert f.orphan_cues == 2 and not f.title_page and not f.valid


def test_a_document_that_does_not_read_back_fails_the_round_trip() -> None:
    doc = Document(
        title_page=[("Title", "T")],
        elements=[E(K.CHARACTER, "ANN"), E(K.DIALOGUE, "one"), E(K.DIALOGUE, "two")],
    )
    f = evaluate(doc).format
    assert not f.round_trip and not f.valid
    assert f.round_trip_error == "element 3 (dialogue as action) reads back differently: 'two'"


def test_forced_flags_do_not_count_against_the_round_trip() -> None:
    # from FDX, nothing is forced; the Fountain writer forces this heading and reads it so
    doc = Document([("Title", "T")], [E(K.SCENE_HEADING, "THE CAR"), E(K.ACTION, "Rain.")])
    assert evaluate(doc).format.round_trip


def looping_scene() -> list[Element]:
    body = [E(K.SCENE_HEADING, "INT. ROOM - DAY")]
    for i in range(4):
        body += speech("ANN (CONT'D)" if i == 2 else "ANN", "Again.")
        if i < 3:
            body += speech("BOB", "No.")
    return body


def test_a_looping_scene_is_found() -> None:
    doc = Document([("Title", "T")], [*looping_scene(), E(K.SCENE_HEADING, "INT. HALL - DAY")])
    loops = evaluate(doc).loops
    # "ANN\nAgain." 4 times (> 3) is a loop, "BOB\nNo." 3 times is not;
    # repeated speeches: Ann's 3 later ones and Bob's 2 later ones
    assert loops == Loops(1, 5, [SceneLoops(1, "INT. ROOM - DAY", 1, 5)])


def test_loops_are_per_scene_and_per_window() -> None:
    twice = [x for _ in range(2) for x in speech("ANN", "Again.")]
    doc = Document(
        elements=[
            E(K.SCENE_HEADING, "INT. A - DAY"),
            *twice,
            E(K.SCENE_HEADING, "INT. B - DAY"),
            *twice,
        ]
    )
    assert evaluate(doc).loops.loops == 0  # 2 + 2 in different scenes
    filler = "word " * (LOOP_WINDOW // 4)
    spread: list[Element] = [E(K.SCENE_HEADING, "INT. C - DAY")]
    for _ in range(4):
        spread += speech("ANN", "Again.") + speech("BOB", filler.strip())
    loops = evaluate(Document(elements=spread)).loops
    assert loops.loops == 0 and loops.repeated_speeches == 6  # too far apart to be a loop


def test_looping_blocks_counts_within_the_window() -> None:
    assert looping_blocks(["x"] * 4) == {"x"}
    assert looping_blocks(["x"] * 3 + ["y"]) == set()
    assert looping_blocks(["x", "y" * 2000, "x", "x", "x"]) == set()


def cast_screenplay() -> Screenplay:
    return Screenplay(
        title="Cast",
        characters=[Character("ann", "Ann"), Character("bob", "Bob"), Character("cat", "Cat")],
        scenes=[
            Scene("s1", "ROOM", "Setup", "Ann alone.", ("ann",)),
            Scene("s2", "HALL", "Turn", "Ann meets Bob.", ("ann", "bob")),
        ],
        dialogue={
            "s1": Dialogue("s1", (Line("ann", "Hello?"), Line("bob", "Behind you."))),
            "s2": Dialogue(
                "s2", (Line("ann", "You again."), Line("bob", "Me."), Line("ann", "Go."))
            ),
        },
    )


def test_a_speaker_absent_from_the_scene_breaks_consistency() -> None:
    sp = cast_screenplay()
    c = evaluate(render(sp), sp).consistency
    assert c.checked_speeches == 5 and c.absent_speeches == 1
    assert c.consistent_share == 4 / 5
    assert c.undeclared_speakers == [] and c.silent_characters == ["cat"]
    assert c.speakers == {"ANN": 3, "BOB": 2}


def test_undeclared_speakers_are_listed() -> None:
    sp = cast_screenplay()
    sp.dialogue["s1"] = Dialogue("s1", (Line("zed", "Who?"), Line("ann", "Hi.")))
    c = evaluate(Document(), sp).consistency
    assert c.undeclared_speakers == ["zed"] and c.consistent_share == 4 / 5
    assert c.absent_speeches == 0


def test_a_consistent_screenplay_scores_one() -> None:
    sp = cast_screenplay()
    sp.dialogue["s1"] = Dialogue("s1", (Line("ann", "Hello?"),))
    sp.characters.pop()  # cat
    c = evaluate(render(sp), sp).consistency
    assert c.consistent_share == 1.0 and c.silent_characters == []


def test_to_json_is_plain_json_with_the_verdicts() -> None:
    data = json.loads(json.dumps(evaluate(kitchen()).to_json()))
    assert data["valid"] is True and data["format"]["valid"] is True
    assert data["minutes"] == data["pages"]
    assert data["diversity"] == {
        "tokens": 8,
        "distinct_1": 0.5,
        "distinct_2": 0.5714,
        "distinct_3": 0.6667,
        "rep_4": 0.2,
    }
    assert data["loops"] == {"loops": 0, "repeated_speeches": 0, "scenes": []}
    assert data["consistency"]["speakers"] == {"ANN": 2, "BOB": 1}


def test_the_tokenizer_reproduces_the_notes_reference_numbers(
    script_data: Callable[..., Path],
) -> None:
    text = script_data("tinyshakespeare", "input.txt").read_text(encoding="utf-8")
    d = diversity(tokens(text[:60_000])[:5000])
    rounded = [round(x, 3) for x in (d.distinct_1, d.distinct_2, d.distinct_3, d.rep_4)]
    assert d.tokens == 5000 and rounded == [0.240, 0.736, 0.933, 0.017]


def test_hamlet_is_valid_and_does_not_loop(script_data: Callable[..., Path]) -> None:
    doc = read_fountain(script_data("bosak_shakespeare", "hamlet.fountain"))
    ev = evaluate(doc)
    assert ev.valid and ev.format.round_trip and ev.format.orphan_cues == 0
    assert ev.format.nonstandard_headings == ev.format.headings == 20  # forced "SCENE I."
    assert ev.loops.loops == 0
    assert ev.diversity.tokens > 30_000 and ev.diversity_equal.tokens == EQUAL_TOKENS
    assert ev.consistency.speakers["HAMLET"] > 300
    assert sum(ev.consistency.speakers.values()) == doc.count(Kind.CHARACTER)
