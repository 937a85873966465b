"""Valence/arousal of hand-written texts whose quadrant nobody would argue about."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from soundstage.music.emotion import analyze, lexicon, quadrant

FUNERAL = "Mourners gather at the graveside in the rain. The widow weeps; the coffin is lowered."
BRAWL = "A brawl breaks out in the tavern: fists fly, a bottle smashes, men shout, blood spills!"
WEDDING = "At the wedding the couple dance, guests laugh and cheer, music and joy fill the hall."
DAWN = "A quiet dawn over the meadow. Mist, a gentle breeze, the village asleep in peace."


@pytest.mark.parametrize(
    ("text", "expected"), [(FUNERAL, "Q3"), (BRAWL, "Q2"), (WEDDING, "Q1"), (DAWN, "Q4")]
)
def test_clear_scenes_land_in_their_quadrant(text: str, expected: str) -> None:
    emotion = analyze(text)
    assert emotion.quadrant == expected
    assert emotion.quadrant == quadrant(emotion.valence, emotion.arousal)
    assert emotion.confidence > 0.4
    assert len(emotion.top_words) == 5


def test_top_words_explain_the_score() -> None:
    assert {"weeps", "coffin"} <= set(analyze(FUNERAL).top_words)
    assert "brawl" in analyze(BRAWL).top_words


def test_negation_flips_valence_for_three_words_within_a_clause() -> None:
    assert analyze("She is happy.").valence > 0.2
    negated = analyze("She is not happy.")
    assert negated.valence < 0
    assert negated.top_words == ("not happy",)
    assert analyze("We don't ever feel sad").valence > 0  # "n't" negates, two words on
    assert analyze("Not at all, we are happy").valence > 0  # the comma ends the scope
    assert analyze("not one two three happy").valence > 0  # out of the 3-word scope


def test_intensifier_exclamation_short_speeches_and_questions_raise_arousal() -> None:
    assert analyze("very angry").arousal > analyze("angry").arousal
    assert analyze("very angry").top_words == ("very angry",)
    calm = ["The garden is calm and the tea is warm, we rest here all afternoon long."]
    base = analyze("", calm * 3)
    assert analyze("", [calm[0] + "!"] * 3).arousal > base.arousal
    assert analyze("", [calm[0]] + ["Now.", "Go!", "Where?"]).arousal > base.arousal
    questions = analyze("", [calm[0][:-1] + "?"] * 3)
    assert questions.arousal > base.arousal
    assert questions.valence < base.valence


def test_early_modern_forms() -> None:
    assert analyze("Alas, what woe!").quadrant in {"Q2", "Q3"}
    assert analyze("Alas, what woe").quadrant == "Q3"
    assert analyze("Such mirth and merry revels").quadrant == "Q1"
    neutral = analyze("thee thou thy hath")
    assert (neutral.valence, neutral.arousal, neutral.top_words) == (0.0, 0.0, ())


def test_empty_and_unknown_text_is_neutral_with_no_confidence() -> None:
    for text in ("", "zzz qqq", "   "):
        e = analyze(text)
        assert (e.valence, e.arousal, e.confidence, e.top_words) == (0.0, 0.0, 0.0, ())


@pytest.mark.parametrize(
    "text",
    [
        "very very " * 50 + "murder rage terror explosion!!!!!",
        "so calm sleep peace " * 40,
        "not " * 30 + "joy " * 30,
        "!?" * 100,
    ],
)
def test_scores_stay_in_range(text: str) -> None:
    e = analyze(text, [text, "No!", "Why?"], narrative_weight=5)
    assert -1 <= e.valence <= 1 and -1 <= e.arousal <= 1
    assert 0 <= e.confidence <= 1


def test_lexicon_is_ours_sized_and_in_range() -> None:
    raw = json.loads(resources.files("soundstage.music").joinpath("lexicon_va.json").read_text())
    assert "Apache-2.0" in raw["licence"] and "NRC" in raw["licence"]
    words = lexicon()
    assert len(words) >= 300
    assert all(-1 <= v <= 1 and -1 <= a <= 1 for v, a in words.values())
    assert all(w == w.lower() and " " not in w for w in words)
