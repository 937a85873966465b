"""The few-shot strategy for instruction-following LLMs: prompts, strict parsers, retries.

No instruction-following model runs offline here, so answers are fixed texts written in this
file: the parsers are tested on them directly, the retry loop through an in-process scripted
backend, and one end-to-end run goes through the real HTTP stack (our OpenAI-compatible
server under uvicorn, the real `OpenAIBackend` client).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn

from soundstage.backends import Chunk, Sampling, TextBackend, load_backend
from soundstage.errors import SoundstageError
from soundstage.script.structures import allocate, scene_count
from soundstage.script.types import Character, Controls, Line, Scene, Screenplay, slug
from soundstage.script.write.dialogue import scene_budget
from soundstage.script.write.fewshot import (
    AnswerError,
    FewShotWriter,
    Roster,
    parse_characters,
    parse_dialogue,
    parse_place,
    parse_scenes,
    parse_title,
    render_prompt,
    template,
    uses_instructions,
)
from soundstage.web import create_openai_app

LOGLINE = (
    "A lighthouse keeper who has not left her island in thirty years must row to the "
    "mainland to win back the lamp's stolen lens before the winter storms."
)
CONTROLS = Controls(genre="drama", tone="tense", rating="PG", minutes=6, structure="three-act")
SHEET = ["Setup", "Inciting Incident", "Climax"]  # allocate("three-act", scene_count(6))

MAREN = Character("maren-holt", "Maren Holt", "(60s) The island's last keeper.", "she/her")
SILAS = Character(
    "silas-crewe", "Silas Crewe", "(40s) A salvage dealer.", "he/him", "", "antagonist"
)
TOVE = Character("tove-lind", "Tove Lind", "(20s) The ferry mechanic.", "they/them", "", "ally")
CAST = [
    Character(MAREN.id, MAREN.name, MAREN.description, MAREN.pronouns, "", "protagonist"),
    SILAS,
    TOVE,
]

# -- canned answers, as a completion model continues each prompt ------------------------------

TITLE = " The Lens Keeper\n"
CHARACTERS = """ Maren Holt **Pronouns:** she/her **Role:** protagonist **Description:** (60s) The \
island's last lighthouse keeper, who has not set foot on the mainland in thirty years.
**Character:** Silas Crewe **Pronouns:** he/him **Role:** villain **Description:** (40s) A \
salvage dealer who stole the lens to sell it to a collector.
**Character:** Tove Lind **Pronouns:** they / them **Role:** ally **Description:** (20s) The
ferry mechanic who owes Maren a favour.
**Character:** Maren Holt **Pronouns:** she/her **Role:** protagonist **Description:** again.
"""
SCENES = """ 1
**Plot element:** Setup
**Place:** INT. LAMP ROOM - NIGHT
**Characters:** Maren Holt
**Beat:** Maren polishes the empty lamp housing and logs a dark night for the first time.
**Scene:** 2
**Plot element:** Inciting Incident
**Place:** EXT. HARBOUR - DAY
**Characters:** maren and Tove Lind
**Beat:** Tove brings word that Silas is selling the lens on the mainland; Maren asks for a boat.
**Scene:** 3
**Plot element:** Climax
**Place:** INT. SALVAGE YARD OFFICE – NIGHT
**Characters:** Maren Holt (protagonist), Silas Crewe; Tove
**Beat:** Maren confronts Silas among crates of brass and trades her logbook for the lens.
"""
PLACE = " Brass rails circle a lamp housing with no lens in it. Wind hums in the glazing.\n"
DIALOGUE_1 = """ Maren climbs the last steps with a rag and a tin of polish.
**Dialogue:**
MAREN: (to the empty housing) Thirty years you never once went dark.
MAREN: Dark night. Lens stolen. Keeper present. There. It's in the log.
"""
DIALOGUE_2 = """ Gulls fight over a crate of fish guts. TOVE wipes oil off a wrench.
**Dialogue:**
TOVE: Silas has your lens on the mainland. He's selling it Thursday.
MAREN
(flatly)
Then I need a boat.

TOVE: You haven't been past the breakwater since I was born.
MAREN: Then it's time the breakwater saw me.
"""


def scene(n: int, *present: Character) -> Scene:
    return Scene(f"s{n}", "LAMP ROOM", SHEET[n - 1], "beat", tuple(c.id for c in present))


# -- level 1: title ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "title"),
    [
        (TITLE, "The Lens Keeper"),
        (" Proof**END**", "Proof"),
        ('Sure! Here is a title.\n**Title:** "Thin Air"\nIt evokes the danger.', "Thin Air"),
        ("**Title:** Last Tide Out\n\nExample 4.\n**Logline:** more", "Last Tide Out"),
    ],
)
def test_title_is_read_from_completion_and_chat_answers(answer: str, title: str) -> None:
    assert parse_title(answer) == title


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("   ", "the title is empty (line 1: '**Title:**')"),
        (
            " Here is an original title that fits the logline and its genre very well:",
            "not a title",
        ),
        ("**Title:** Keeper **Moral:** never give up", "unexpected field **Moral:** (line 1"),
    ],
)
def test_a_malformed_title_names_the_problem_and_the_line(answer: str, problem: str) -> None:
    with pytest.raises(AnswerError) as err:
        parse_title(answer)
    assert problem in str(err.value)


# -- level 2: characters ----------------------------------------------------------------------


def test_characters_declare_pronouns_and_roles_with_stable_ids() -> None:
    cast = parse_characters(CHARACTERS)
    assert [(c.id, c.name, c.pronouns, c.role) for c in cast] == [
        ("maren-holt", "Maren Holt", "she/her", "protagonist"),
        ("silas-crewe", "Silas Crewe", "he/him", "antagonist"),  # "villain" mapped
        ("tove-lind", "Tove Lind", "they/them", "ally"),
    ]  # the second Maren Holt is a repeat, dropped
    assert cast[2].description == "(20s) The ferry mechanic who owes Maren a favour."
    assert cast[0].gender == ""  # never inferred


def test_a_chat_style_cast_with_a_preamble_and_bullets_parses_the_same() -> None:
    chat = "Here is the cast you asked for:\n\n" + "\n".join(
        f"- {line}" for line in ("**Character:**" + CHARACTERS).splitlines()
    )
    chat = chat.replace("- ferry mechanic", "ferry mechanic")  # a wrapped line stays text
    assert parse_characters(chat) == parse_characters(CHARACTERS)


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (
            " Ada **Pronouns:** she/her **Role:** protagonist **Description:** a.\n"
            "**Character:** Bo **Pronouns:** he/him **Role:** wizard **Description:** b.",
            "unknown role 'wizard'; use one of protagonist, antagonist, ally, mentor, love "
            "interest, supporting (line 2: '**Character:** Bo",
        ),
        (
            " Ada **Role:** protagonist **Description:** a.",
            "character 'Ada' has no **Pronouns:** (line 1",
        ),
        (
            " Ada **Pronouns:** female **Role:** protagonist **Description:** a.",
            "'female' are not pronouns like she/her (line 1",
        ),
        (
            " Ada **Pronouns:** she/her **Role:** ally **Description:** a.",
            "no character has the role protagonist (line 1",
        ),
        (
            " Ada **Pronouns:** she/her **Role:** protagonist **Age:** 30",
            "unexpected field **Age:** (line 1",
        ),
        (
            "**Pronouns:** she/her **Character:** Ada",
            "**Pronouns:** before the first **Character:** (line 1",
        ),
    ],
)
def test_a_malformed_cast_names_the_problem_and_the_line(answer: str, problem: str) -> None:
    with pytest.raises(AnswerError) as err:
        parse_characters(answer)
    assert problem in str(err.value)


# -- level 3: scenes --------------------------------------------------------------------------


def test_scenes_follow_the_beat_sheet_and_map_names_to_ids() -> None:
    scenes, places = parse_scenes(SCENES, CAST, SHEET)
    assert [s.id for s in scenes] == ["s1", "s2", "s3"]
    assert [s.plot_element for s in scenes] == SHEET
    assert [s.characters for s in scenes] == [
        ("maren-holt",),
        ("maren-holt", "tove-lind"),  # a first name, lower case
        ("maren-holt", "silas-crewe", "tove-lind"),
    ]
    assert [(s.place, s.time) for s in scenes] == [
        ("LAMP ROOM", "NIGHT"),
        ("HARBOUR", "DAY"),
        ("SALVAGE YARD OFFICE", "NIGHT"),  # an en dash in the heading
    ]
    assert [(p.name, p.interior, p.description) for p in places] == [
        ("LAMP ROOM", True, ""),
        ("HARBOUR", False, ""),
        ("SALVAGE YARD OFFICE", True, ""),
    ]
    assert scenes[1].beat.startswith("Tove brings word")


def _scenes_with(old: str, new: str) -> str:
    assert old in SCENES
    return SCENES.replace(old, new)


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (
            _scenes_with("Silas Crewe; Tove", "Bob, Tove"),
            "scene 3: 'Bob' is not in the cast "
            "(line 14: '**Characters:** Maren Holt (protagonist), Bob, Tove')",
        ),
        (
            _scenes_with("**Plot element:** Climax", "**Plot element:** Midpoint"),
            "scene 3 should be the beat 'Climax', not 'Midpoint' (line 12",
        ),
        (
            _scenes_with("EXT. HARBOUR - DAY", "The harbour at dawn"),
            "scene 2: the place is not a heading like INT. KITCHEN - NIGHT (line 8",
        ),
        (
            _scenes_with("EXT. HARBOUR - DAY", "EXT. LAMP ROOM - DAY"),
            "scene 2: LAMP ROOM was INT in scene 1; a place is always inside or always outside",
        ),
        (
            _scenes_with("**Characters:** maren and Tove Lind\n", ""),
            "scene 2 has no **Characters:** (line 6: '**Scene:** 2')",
        ),
        (SCENES.split("**Scene:** 3")[0], "2 scenes instead of the 3 asked for"),
        (
            _scenes_with("**Scene:** 2\n", "**Scene 2**\n"),
            "a heading that is not a **Field:** marker (line 6: '**Scene 2**')",
        ),
        (
            SCENES + "**Scene:** 4\n**Plot element:** Coda\n",
            "more scenes than the 3 asked for (line 16: '**Scene:** 4')",
        ),
    ],
)
def test_a_malformed_outline_names_the_problem_and_the_line(answer: str, problem: str) -> None:
    with pytest.raises(AnswerError) as err:
        parse_scenes(answer, CAST, SHEET)
    assert problem in str(err.value)


def test_roster_maps_full_first_and_last_names_but_not_shared_ones() -> None:
    twins = [Character("ana-ruiz", "Ana Ruiz"), Character("ana-vale", "Ana Vale")]
    roster = Roster(twins)
    assert roster.resolve("ANA RUIZ") == "ana-ruiz" and roster.resolve("vale") == "ana-vale"
    assert roster.resolve("Ana") is None  # two Anas: only full names work
    assert "Ruiz" in roster and "Bob" not in roster


# -- level 4: places --------------------------------------------------------------------------


def test_place_description_from_completion_and_chat_answers() -> None:
    expected = "Brass rails circle a lamp housing with no lens in it. Wind hums in the glazing."
    assert parse_place(PLACE) == expected
    chat = f"**Place:** INT. LAMP ROOM\n**Description:**{PLACE}"
    assert parse_place(chat) == expected  # the echoed **Place:** is skipped
    with pytest.raises(AnswerError, match="the description is empty"):
        parse_place("  \n")
    with pytest.raises(AnswerError, match=r"more than one \*\*Description:\*\* \(line 2"):
        parse_place("**Description:** A room.\n**Description:** Another room.")


# -- level 5: dialogue ------------------------------------------------------------------------


def test_dialogue_reads_both_speech_forms_into_lines_by_id() -> None:
    d = parse_dialogue(DIALOGUE_2, scene(2, MAREN, TOVE), CAST)
    assert d.scene_id == "s2"
    assert d.action == "Gulls fight over a crate of fish guts. TOVE wipes oil off a wrench."
    assert d.lines == (
        Line("tove-lind", "Silas has your lens on the mainland. He's selling it Thursday."),
        Line("maren-holt", "Then I need a boat.", "flatly"),
        Line("tove-lind", "You haven't been past the breakwater since I was born."),
        Line("maren-holt", "Then it's time the breakwater saw me."),
    )


def test_dialogue_accepts_bold_cues_full_names_extensions_and_notes() -> None:
    answer = (
        "**Dialogue:**\n**Maren Holt:** (quietly) One more night.\n"
        "TOVE (V.O.): Radio check.\nMAREN (CONT'D): Still here.\nand still stubborn.\n\n"
        "TOVE\nOK.\n\nMAREN\n(beat)\nOK."
    )
    d = parse_dialogue(answer, scene(2, MAREN, TOVE), CAST)
    assert d.action == ""
    assert d.lines == (
        Line("maren-holt", "One more night.", "quietly"),
        Line("tove-lind", "Radio check."),
        Line("maren-holt", "Still here. and still stubborn."),
        Line("tove-lind", "OK."),  # capitals after a bare cue are the speech, not a cue
        Line("maren-holt", "OK.", "beat"),
    )


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (
            "**Dialogue:**\nMAREN: Who's there?\nHARBOURMASTER: Only me.",
            "speaker 'HARBOURMASTER' is not in the cast (line 3: 'HARBOURMASTER: Only me.')",
        ),
        (
            "**Dialogue:**\nMAREN: Who's there?\nSILAS: Only me.",
            "speaker 'SILAS' is not present in scene s2 (line 3",
        ),
        (" Waves.\nMAREN: Who's there?", "no **Dialogue:** line before the speeches (line 1"),
        (
            "**Dialogue:**\nMAREN: Who's there?\n\nThe door bangs open.",
            "text outside a speech (no NAME: before it) (line 4: 'The door bangs open.')",
        ),
        ("**Dialogue:**\nMAREN:\n\nTOVE: Hello?", "a speech has no words (line 2: 'MAREN:')"),
        ("**Dialogue:**\n", "no speeches after **Dialogue:**"),
        (
            "**Dialogue:**\n" + "MAREN: Row.\n\nTOVE: Row harder.\n\n" * 4,
            "the answer loops: a block repeats more than 3 times (line 2: 'MAREN: Row.')",
        ),
    ],
)
def test_a_malformed_scene_names_the_problem_and_the_line(answer: str, problem: str) -> None:
    with pytest.raises(AnswerError) as err:
        parse_dialogue(answer, scene(2, MAREN, TOVE), CAST)
    assert problem in str(err.value)


def test_three_repeats_are_not_yet_a_loop_and_a_cut_off_speech_is_dropped() -> None:
    answer = "**Dialogue:**\n" + "MAREN: Row.\n\nTOVE: Row harder.\n\n" * 3 + "MAREN: And the"
    d = parse_dialogue(answer, scene(2, MAREN, TOVE), CAST, truncated=True)
    assert len(d.lines) == 6 and d.lines[-1] == Line("tove-lind", "Row harder.")


# -- the prompts ------------------------------------------------------------------------------


def _examples(level: str) -> list[str]:
    body = template(level).split("Your turn.")[0]
    return [b for b in re.split(r"^Example \d\.$", body, flags=re.M)[1:]]


def _answer(example: str, marker: str) -> str:
    return example[example.index(marker) :].split("**END**")[0]


def _example_cast(example: str) -> list[Character]:
    """The example's cast: `- Name (pronouns, role): …` or `- CUE (Name, pronouns, role): …`."""
    rows = re.findall(r"^- [A-Z]+ \(([^,]+), ([^,]+), ([^)]+)\)", example, re.M)
    rows = rows or re.findall(r"^- ([^(]+?) \(([^,]+), ([^)]+)\)", example, re.M)
    assert rows, example
    return [Character(slug(name), name, "", p, "", r) for name, p, r in rows]


def test_every_template_fills_and_its_own_examples_parse() -> None:
    """The examples show the model the format: they must pass our own strict parsers."""
    for level in ("title", "characters", "scenes", "places", "dialogue"):
        assert 2 <= len(_examples(level)) <= 3, level
    for example in _examples("title"):
        assert parse_title(_answer(example, "**Title:**"))
    for example in _examples("characters"):
        assert {c.role for c in parse_characters(_answer(example, "**Character:**"))} >= {
            "protagonist",
            "antagonist",
        }
    for example in _examples("scenes"):
        sheet = re.findall(r"^\d\. ([^:]+):", example, re.M)
        cast = _example_cast(example)
        scenes, _ = parse_scenes(_answer(example, "**Scene:** 1"), cast, sheet)
        assert len(scenes) == len(sheet) == 3 and all(s.characters for s in scenes)
    for example in _examples("places"):
        assert parse_place(_answer(example, "**Description:**"))
    for example in _examples("dialogue"):
        cast = _example_cast(example)
        present = Scene("s1", "X", "x", "x", tuple(c.id for c in cast))
        assert len(parse_dialogue(_answer(example, "**Action:**"), present, cast).lines) >= 5
    with pytest.raises(KeyError):
        render_prompt("title", logline=LOGLINE)  # every placeholder must be given


# -- the generation loop ----------------------------------------------------------------------


@dataclass
class ScriptedLLM(TextBackend):
    """TEST BACKEND standing in for a paid or remote instruction-following LLM (GPT-class,
    a llama.cpp server), which cannot run offline here.

    `script(prompt, n)` returns the canned answer for the n-th call (from 0) with that
    prompt; the backend honours stop strings like a real server and records every prompt
    and seed it was sent.
    """

    model: str = "scripted"
    script: Callable[[str, int], str] = field(default=lambda prompt, n: "", repr=False)
    calls: list[tuple[str, Sampling]] = field(default_factory=list, repr=False)

    def _stream(self, prompt: str, sampling: Sampling) -> Iterator[Chunk]:
        n = sum(1 for p, _ in self.calls if p == prompt)
        self.calls.append((prompt, sampling))
        text = self.script(prompt, n)
        cuts = [i for i in (text.find(s) for s in sampling.stop) if i >= 0]
        text = text[: min(cuts)] if cuts else text
        for i in range(0, len(text), 40):  # a few chunks, like a streaming server
            yield Chunk(text[i : i + 40])
        yield Chunk("", "stop", len(prompt.split()), len(text.split()))

    def seeds(self, level_marker: str) -> list[int | None]:
        return [s.seed for p, s in self.calls if p.endswith(level_marker)]


def test_three_bad_answers_raise_one_error_naming_level_try_count_and_first_problem() -> None:
    bad = [
        " Ada **Pronouns:** she/her **Role:** wizard **Description:** a.",
        "nonsense",
        "more nonsense",
    ]
    llm = ScriptedLLM(script=lambda prompt, n: bad[n])
    sp = Screenplay(logline=LOGLINE, controls=CONTROLS)
    with pytest.raises(SoundstageError) as err:
        FewShotWriter(llm).characters(sp, seed=7)
    assert str(err.value).startswith(
        "characters: the model's answer could not be parsed after 3 tries: "
        "character 'Ada': unknown role 'wizard'; use one of protagonist, antagonist, ally, "
        "mentor, love interest, supporting (line 1: '**Character:** Ada **Pronouns:** she/her"
    )
    assert [s.seed for _, s in llm.calls] == [7, 8, 9]
    assert all(s.stop == ("**END**",) for _, s in llm.calls)


def test_a_bad_first_answer_is_resampled_with_the_next_seed() -> None:
    answers = [" Here is a title that is far too long to be any kind of film title at all", TITLE]
    llm = ScriptedLLM(script=lambda prompt, n: answers[n])
    sp = Screenplay(logline=LOGLINE, controls=CONTROLS)
    assert FewShotWriter(llm).title(sp, seed=3) == "The Lens Keeper"
    assert [s.seed for _, s in llm.calls] == [3, 4]


def _sp_for_dialogue() -> Screenplay:
    scenes, places = parse_scenes(SCENES, CAST, SHEET)
    return Screenplay(LOGLINE, "The Lens Keeper", CONTROLS, list(CAST), scenes, places)


def test_unknown_speaker_and_loop_are_resampled_then_the_most_relevant_answer_wins() -> None:
    sp = _sp_for_dialogue()
    stranger = DIALOGUE_2.replace("TOVE: You haven't", "HARBOURMASTER: You haven't")
    looping = " Waves.\n**Dialogue:**\n" + "MAREN: Row.\n\nTOVE: Row.\n\n" * 5
    off_topic = " Rain.\n**Dialogue:**\nTOVE: Nice weather.\nMAREN: For ducks, maybe."
    answers = [stranger, looping, off_topic, DIALOGUE_2]
    llm = ScriptedLLM(script=lambda prompt, n: answers[n])
    d = FewShotWriter(llm, candidates=2).dialogue(sp, sp.scenes[1], seed=20)
    assert [s.seed for _, s in llm.calls] == [20, 21, 22, 23]  # 2 failures, then 2 candidates
    assert d == parse_dialogue(DIALOGUE_2, sp.scenes[1], CAST)  # about the lens, the boat: kept


def test_dialogue_gives_up_after_three_unusable_answers() -> None:
    sp = _sp_for_dialogue()
    llm = ScriptedLLM(script=lambda prompt, n: "**Dialogue:**\nSILAS: I'm not even here.")
    with pytest.raises(SoundstageError, match="^dialogue: .* after 3 tries: speaker 'SILAS' is"):
        FewShotWriter(llm, candidates=1).dialogue(sp, sp.scenes[1], seed=0)
    assert len(llm.calls) == 3


def test_uses_instructions_is_false_only_for_the_embedded_model() -> None:
    assert uses_instructions(ScriptedLLM())
    assert not uses_instructions(load_backend("embedded"))


# -- end to end, over HTTP --------------------------------------------------------------------


@contextmanager
def serving(backend: TextBackend) -> Iterator[str]:
    """Our OpenAI-compatible server for `backend`, under uvicorn on 127.0.0.1; yields /v1."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        create_openai_app(backend, None),
        log_level="warning",
        lifespan="off",
        ws="none",
        loop="asyncio",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "test server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def script_for_the_lens_keeper(prompt: str, n: int) -> str:
    """Answers each level's prompt by its open marker; scene 2's first answer breaks the rules."""
    if prompt.endswith("**Title:**"):
        return TITLE + "**END**"
    if prompt.endswith("**Character:**"):
        return CHARACTERS + "**END**\n\nExample 3."
    if prompt.endswith("**Scene:**"):
        return SCENES + "**END**"
    if prompt.endswith("**Description:**"):
        place = re.findall(r"^\*\*Place:\*\* (.+)$", prompt, re.M)[-1]
        return f" The {place.split('. ', 1)[1].lower()}, described.**END**"
    beat = re.findall(r"^\*\*Beat:\*\* (.+)$", prompt, re.M)[-1]
    if beat.startswith("Maren polishes"):
        return DIALOGUE_1 + "**END**"
    if beat.startswith("Tove brings word"):
        return DIALOGUE_2.replace("TOVE: You", "SILAS: You") if n == 0 else DIALOGUE_2
    return (
        " Crates of brass and glass.\n**Dialogue:**\nSILAS: The lens is sold.\n"
        "MAREN: Then unsell it. Here is thirty years of weather.\nTOVE: Take the log, Silas.\n"
    )


def test_plan_and_dialogue_through_the_openai_http_stack() -> None:
    llm = ScriptedLLM(script=script_for_the_lens_keeper)
    with serving(llm) as url:
        backend = load_backend(f"openai:scripted@{url}")
        try:
            writer = FewShotWriter(backend, candidates=1)
            sp = writer.plan(LOGLINE, CONTROLS, seed=5)
            writer.write(sp, seed=5)
        finally:
            backend.close()
    assert scene_count(CONTROLS.minutes) == 3
    assert [b.name for b in allocate(CONTROLS.structure, 3)] == SHEET
    assert sp.title == "The Lens Keeper" and sp.logline == LOGLINE
    assert [(c.id, c.role) for c in sp.characters] == [
        ("maren-holt", "protagonist"),
        ("silas-crewe", "antagonist"),
        ("tove-lind", "ally"),
    ]
    assert [s.characters for s in sp.scenes] == [
        ("maren-holt",),
        ("maren-holt", "tove-lind"),
        ("maren-holt", "silas-crewe", "tove-lind"),
    ]
    assert [(p.name, p.interior, p.description) for p in sp.places] == [
        ("LAMP ROOM", True, "The lamp room, described."),
        ("HARBOUR", False, "The harbour, described."),
        ("SALVAGE YARD OFFICE", True, "The salvage yard office, described."),
    ]
    assert list(sp.dialogue) == ["s1", "s2", "s3"]
    for s in sp.scenes:
        assert {ln.speaker for ln in sp.dialogue[s.id].lines} <= set(s.characters)
    assert sp.dialogue["s2"].lines[1] == Line("maren-holt", "Then I need a boat.", "flatly")
    assert sp.dialogue["s3"].lines[0] == Line("silas-crewe", "The lens is sold.")

    # Every request went over HTTP with stop=**END**, and seeds moved on only on a retry.
    assert all(s.stop == ("**END**",) for _, s in llm.calls)
    assert llm.seeds("**Title:**") == [5] and llm.seeds("**Scene:**") == [5]
    assert len(llm.seeds("**Description:**")) == 3  # one call per unique place
    assert llm.seeds("**Action:**") == [5000, 5001, 5002, 5002]  # scene 2 retried with seed + 1

    # The scene-3 prompt carries the story so far, the end of scene 2, and the present cast.
    last = llm.calls[-1][0]
    story = last.split("Your turn.")[1]
    assert "1. Setup, LAMP ROOM: Maren polishes" in story
    assert "2. Inciting Incident, HARBOUR: Tove brings word" in story
    assert (
        "**Last speeches:**\nTOVE: You haven't been past the breakwater since I was born.\n"
        "MAREN: Then it's time the breakwater saw me.\n**Plot element:** Climax"
    ) in story
    assert "- SILAS (Silas Crewe, he/him, antagonist): (40s) A salvage dealer who stole" in story
    assert "The salvage yard office, described." in story
    budget = scene_budget(CONTROLS.minutes, 3)
    assert f"**Length:** about {round(budget / 4)} speeches" in story
    first = next(p for p, _ in llm.calls if p.endswith("**Action:**")).split("Your turn.")[1]
    assert "This is the first scene." in first and "**Last speeches:**\n(none)" in first
    assert "- MAREN (Maren Holt, she/her, protagonist)" in first and "Silas" not in first


def test_produce_uses_the_few_shot_strategy_for_an_instruction_llm(tmp_path: Path) -> None:
    """`produce` picks FewShotWriter for a non-embedded backend and logs the prompts it sent."""
    import json

    from soundstage.produce import produce

    llm = ScriptedLLM(script=script_for_the_lens_keeper)
    result = produce(LOGLINE, tmp_path / "out", llm, CONTROLS, seed=5, author="Sam")
    sp = result.screenplay
    assert sp.title == "The Lens Keeper" and [c.id for c in sp.characters][0] == "maren-holt"
    assert list(sp.dialogue) == ["s1", "s2", "s3"]
    rows = [json.loads(x) for x in (tmp_path / "out" / "log.jsonl").read_text().splitlines()]
    by_level = {r["level"]: r for r in rows}
    assert by_level["title"]["actor"] == "model:scripted"
    assert by_level["title"]["prompt"].endswith("**Title:**")
    assert by_level["dialogue"]["prompt"].endswith("**Action:**")
    assert (tmp_path / "out" / "screenplay.pdf").stat().st_size > 0
