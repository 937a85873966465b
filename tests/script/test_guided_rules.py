"""The guided writer's rules that need no model: which names it offers, which candidate
lines it throws away, which logline phrases can be people. Fast; MiniLM's word list where a
rule reads it (skipped without the writer extra)."""

from __future__ import annotations

import pytest

from soundstage.embedder import vocabulary
from soundstage.script.types import Character, Controls, Screenplay
from soundstage.script.write.checks import (
    foreign,
    good_action,
    invents_names,
    known_words,
    logline_roles,
    person_noun,
    singular,
)
from soundstage.script.write.names import NAME_LIST, draw_name, logline_gender

LIGHTHOUSE = "A retired lighthouse keeper discovers that a smuggler has stolen her lens."
TRUCKS = "Two rival food-truck owners are forced to share one parking spot."


def _cast(logline: str, *names: str) -> Screenplay:
    sp = Screenplay(logline=logline, controls=Controls())
    for i, name in enumerate(names):
        first = name.split()[0].lower()
        sp.characters.append(
            Character(
                first,
                name,
                f"(30) keeper. {name.split()[0]} wants tea.",
                "she/her",
                "woman",
                "protagonist" if i == 0 else "ally",
            )
        )
    return sp


def test_names_depend_on_the_story_and_avoid_the_casts_initials() -> None:
    sp = _cast(LIGHTHOUSE, "Ada Quill", "Bram Kruger")
    names = [draw_name(sp, "ally", "man", seed) for seed in range(40)]
    assert all(n.split()[0] in NAME_LIST["man"] for n in names)
    assert all(n.split()[1] in NAME_LIST["last"] for n in names)
    assert not {n[0] for n in names} & {"A", "B"}  # Ada and Bram have those initials
    assert not {n.split()[1] for n in names} & {"Quill", "Kruger"}
    assert len(set(names)) > 30  # seeds vary the draw
    assert names == [draw_name(sp, "ally", "man", seed) for seed in range(40)]  # reproducible
    other = _cast(TRUCKS, "Ada Quill", "Bram Kruger")
    moved = sum(draw_name(other, "ally", "man", k) != n for k, n in enumerate(names))
    assert moved > 35  # another logline, another cast


def test_the_name_list_is_real_names_without_duplicates() -> None:
    for key in ("woman", "man", "last"):
        names = NAME_LIST[key]
        assert len(names) >= 90 and len(set(names)) == len(names)
        assert all(n.isalpha() and n[0].isupper() for n in names), key


def test_invented_names_are_caught_real_and_known_ones_are_not() -> None:
    if not vocabulary():
        pytest.skip("MiniLM's word list is not installed (the writer extra)")
    sp = _cast(LIGHTHOUSE, "Ayesha Jovanovic")
    known = known_words(sp)
    assert "ayesha" in known and "lighthouse" in known
    assert invents_names("Elaena, Elna's friend, looks at the lens.", known)
    assert invents_names("The lens was built by a man named Eryk.", known)
    assert not invents_names("Ayesha Jovanovic walks to London with the lens.", known)
    assert not invents_names("She turns. The smuggler is gone.", known)


def test_action_lines_are_seen_now_not_told_or_spoken() -> None:
    known = known_words(_cast(LIGHTHOUSE, "Ayesha Jovanovic"))
    assert good_action("Ayesha turns the lens toward the sea.", known)
    assert not good_action("Ayesha had been hiding in the cottage.", known)  # past tense
    assert not good_action("I look at the sea and you look at me.", known)  # spoken
    assert not good_action("The sea in the film is calm.", known)  # about the text
    assert not good_action("THE LENS IS GONE AND NOBODY KNOWS!", known)  # shouted


def test_logline_people_and_pronouns() -> None:
    assert person_noun("smuggler") and person_noun("keeper") and person_noun("nurse")
    assert not person_noun("lens") and not person_noun("festival")
    assert singular("food-truck owners") == "food-truck owner" and singular("boss") == "boss"
    assert logline_gender(LIGHTHOUSE) == "woman"
    assert logline_gender(TRUCKS) is None
    # the subject's own noun first, then pronouns
    assert logline_gender("Two estranged sisters must run their late father's bakery.") == "woman"
    assert logline_gender("A father and son sail the coast to settle a bet with her.") == "man"
    assert logline_gender("A grandfather and his granddaughter restore a lighthouse.") == "man"
    assert logline_gender("A detective who hates the sea must find him.") == "man"
    # a gendered noun past the subject is someone else (the generator audit's pair 19)
    lawyer = "A Chinese-American lawyer defends the man accused of killing her mentor."
    assert logline_gender(lawyer) == logline_gender(lawyer.replace("Chinese-American", "white"))
    assert logline_gender(lawyer) == "woman"


def test_each_rating_keeps_its_words_out() -> None:
    from soundstage.script.controls import over_rating

    assert over_rating("Damn it, the lens is gone.", "G")
    assert not over_rating("Damn it, the lens is gone.", "PG")
    assert over_rating("This is bullshit.", "PG") and not over_rating("This is bullshit.", "PG-13")
    assert over_rating("Where's the fucking lens?", "PG-13")
    assert not over_rating("Where's the fucking lens?", "R")
    assert not over_rating("Shell, hello, scrappy, Dickens.", "G")  # whole words only


def test_a_speech_that_reads_the_prompt_back_is_caught_a_short_line_is_not() -> None:
    from soundstage.script.write.checks import reads_back
    from soundstage.script.write.guided import SYSTEM

    sheets = ["(36) astronaut. Sunita wants her grandmother's pizza recipe.", LIGHTHOUSE, SYSTEM]
    assert reads_back("You are an award-winning screenwriter who writes short films.", sheets)
    assert reads_back("A retired lighthouse keeper discovers a smuggler stole her lens.", sheets)
    assert not reads_back("You're going to make pizza.", sheets)
    assert not reads_back("Grandmother never wrote anything down, you know that.", sheets)


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("What do you want?", True),
        ("Ship is a luxury.", True),
        ("Jules looks at the sails, and he sees the stars.", True),
        ("It’s not over — not yet…", True),
        ("L'enfant, leur je ne sais pas.", False),
        ("Bien sûr, bonjour, l'arme de Jules.", False),
        ("Hola amigo, como estas hoy?", False),
    ],
)
def test_only_english_gets_in(text: str, english: bool) -> None:
    assert foreign(text) is not english


def test_a_verb_phrase_or_an_adverb_is_no_occupation() -> None:
    spans = logline_roles("A lighthouse keeper and a smuggler must work together in a storm.")
    assert "smuggler" in spans and "lighthouse keeper" in spans
    assert "work together" not in spans and "work" not in spans
    assert not person_noun("together") and not person_noun("water")
    assert person_noun("smuggler") and person_noun("owner")


def test_the_first_scene_may_happen_where_the_logline_says() -> None:
    pytest.importorskip("sentence_transformers")
    from soundstage.script.write.guided import logline_places
    from soundstage.script.write.rerank import Reranker

    reranker = Reranker()
    assert logline_places(TRUCKS, reranker)[0] == "parking spot"
    assert "island" in logline_places(
        "A lighthouse keeper and a smuggler must work together when a storm cuts off their island.",
        reranker,
    )
    assert logline_places("Two friends argue.", reranker) == []


@pytest.mark.parametrize(
    ("speech", "ok"),
    [
        (" Hi.", True),
        (" I am here.", True),
        (" I'm not going.", True),
        (" What do you want?", True),
        (" P.I.", False),  # a scene of initials
        (" YOLOVIAKIANE.", False),  # a run of capitals
        (" NOOR (V.O.) Hello.", False),  # a cue
        (' "Go," she said.', False),  # prose in quotes
    ],
)
def test_speech_pattern(speech: str, ok: bool) -> None:
    import regex

    from soundstage.script.write.guided import SPEECH

    assert (regex.fullmatch(SPEECH, speech + "\n") is not None) is ok
    if not ok:  # decoding extends prefixes: it must refuse one early, not at the end
        assert regex.fullmatch(SPEECH, speech[:4], partial=True) is None


def test_a_scene_that_ended_short_passes_its_pages_on() -> None:
    from soundstage.script.types import Dialogue, Line, Scene
    from soundstage.script.write.guided import page_budget, scene_lines

    sp = _cast(LIGHTHOUSE, "Maya Lopez", "Tomas Reyes")
    sp.controls = Controls(minutes=4)
    sp.scenes = [Scene(f"s{i}", "LIGHTHOUSE", "Setup", "Maya climbs.") for i in range(1, 5)]
    even = 4 * 55 / 4
    assert page_budget(sp, sp.scenes[0]) == pytest.approx(even)
    short = Dialogue("s1", (Line("maya", "No."), Line("tomas", "Go.")), "Rain.")
    sp.dialogue["s1"] = short
    used = scene_lines(short.action, short.lines)
    assert used < even / 2
    assert page_budget(sp, sp.scenes[1]) == pytest.approx((4 * 55 - used) / 3)
    # rewriting the short scene itself: its own lines do not count against it
    assert page_budget(sp, sp.scenes[0]) == pytest.approx(even)
    # never more than twice an even share, however short the rest came out
    for s in sp.scenes[:3]:
        sp.dialogue[s.id] = Dialogue(s.id, (), "")
    assert page_budget(sp, sp.scenes[3]) == pytest.approx(2 * even)


def test_a_speaker_who_found_nothing_to_say_yields_the_turn() -> None:
    from soundstage.script.types import Line
    from soundstage.script.write.guided import GuidedWriter

    sp = _cast(LIGHTHOUSE, "Maya Lopez", "Tomas Reyes", "Liesel Kruger")
    maya, tomas, liesel = sp.characters
    lines = [Line("maya", "Hello there.")]
    assert GuidedWriter.next_speaker(sp.characters, lines) == tomas
    assert GuidedWriter.next_speaker(sp.characters, lines, skip={"tomas"}) == liesel
    # everyone but the last speaker is stuck: the least heard of them still speaks
    assert GuidedWriter.next_speaker(sp.characters, lines, skip={"tomas", "liesel"}) == tomas


def test_quoted_speech_is_prose_not_a_line() -> None:
    from soundstage.script.write.checks import quotes

    assert quotes("She said, “I'm going.”") and quotes('He says "no".')
    assert not quotes("It’s the lens. Don't touch it.")
    assert not good_action("Hana says, “There, it’s.”", set())


@pytest.mark.parametrize(
    ("job", "young", "old"),
    [
        ("grandmother", 62, 89),
        ("retired lighthouse keeper", 58, 85),
        ("single father", 29, 58),
        ("teenage hacker", 13, 18),
        ("night-shift nurse", 18, 79),
    ],
)
def test_a_role_decides_the_ages_it_may_have(job: str, young: int, old: int) -> None:
    from soundstage.script.write.checks import age_range

    assert age_range(job) == (young, old)


def test_a_place_described_as_a_piece_of_the_script_is_refused() -> None:
    from soundstage.script.write.checks import echoes
    from soundstage.script.write.guided import PLACE_ABOUT_TEXT

    meta = "the setting of a scene where two rival food-truck owners share one parking spot."
    assert PLACE_ABOUT_TEXT.search(meta) and echoes(meta, TRUCKS)
    real = "a cracked asphalt lot behind the stadium, two trucks parked nose to nose."
    assert not PLACE_ABOUT_TEXT.search(real) and not echoes(real, TRUCKS)


@pytest.mark.parametrize(
    ("speech", "reported"),
    [
        ("You have a food allergy, she added.", True),
        ("The alien, he says, you're an astronaut.", True),
        ("The food, I don't have, they say.", True),
        ("Well, Mom says you can stay.", False),
        ("If you go, she says you can never come back.", False),
        ("You said you would come.", False),
    ],
)
def test_reported_speech_is_prose_not_a_line(speech: str, reported: bool) -> None:
    from soundstage.script.write.checks import narrates

    assert narrates(speech) is reported


def test_a_speech_that_narrates_the_cast_is_refused() -> None:
    from soundstage.script.write.checks import tells_of

    cast = {"Lena", "Abena"}
    assert tells_of("Lena looked up at her nurse, a kind-faced woman.", cast)
    assert tells_of("Abena smiled to herself.", cast)
    assert not tells_of("Dad called. He wants the records.", cast)  # not one of the cast
    assert not tells_of("Lena, look at this.", cast)


def test_an_instruction_read_back_is_no_action() -> None:
    assert not good_action("Describe Abena's day, with all her thoughts.", set())
    assert good_action("Abena slams the ledger shut.", {"abena"})
