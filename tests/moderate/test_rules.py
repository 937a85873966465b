"""Rule categories fire on clear threats, self-harm and explicit sexual text, not on idioms."""

from __future__ import annotations

import pytest

from soundstage.moderate.normalise import normalise
from soundstage.moderate.rules import RULE_CATEGORIES, RULES, rule_matches, rule_scores


def score(text: str, category: str) -> float:
    return rule_scores(normalise(text).text)[category]


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I will kill you", "threat"),
        ("I'm going to hurt you", "threat"),
        ("i’m gonna find you", "threat"),
        ("You should be shot", "threat"),
        ("they deserve to be hanged", "threat"),
        ("I hope you die", "threat"),
        ("I know where you live", "threat"),
        ("I'm going to beat the shit out of you", "threat"),
        ("i w1ll k1ll y0u", "threat"),
        ("kill yourself", "S11"),
        ("KYS loser", "S11"),
        ("go hang yourself", "S11"),
        ("I want to end my life", "S11"),
        ("how do i kill myself", "S11"),
        ("i am suicidal", "S11"),
        ("suck my dick", "S12"),
        ("send nudes", "S12"),
        ("I want to fuck you", "S12"),
        ("she gave him a blowjob", "S12"),
    ],
)
def test_rules_fire(text: str, category: str) -> None:
    assert score(text, category) >= 0.5


@pytest.mark.parametrize(
    "text",
    [
        "this joke kills me",
        "that's a killer app",
        "we shoot a film in the desert next week",
        "the movie should be shot on 35mm film",
        "don't kill yourself over it, it's just homework",
        "I'll beat you at chess tomorrow",
        "I will never hurt you",
        "my phone is dead, I'm dying to see the show",
        "the hanging gardens of babylon",
        "a cock crowed at dawn",
        "the play ends with a killing",
        "I would die for this pizza",
        "I'm going to kill this presentation",
    ],
)
def test_idioms_do_not_fire(text: str) -> None:
    assert all(score(text, c) < 0.5 for c in RULE_CATEGORIES), rule_scores(normalise(text).text)


def test_scores_combine_and_stay_below_one() -> None:
    text = normalise("I will kill you. I will kill you. You should be shot.").text
    assert 0.9 < rule_scores(text)["threat"] <= 0.99


def test_matches_point_into_the_text() -> None:
    text = "ok then i will kill you"
    (match,) = list(rule_matches(text))
    assert text[match.start : match.end] == "i will kill you"
    assert match.rule.category == "threat"


def test_every_rule_is_documented() -> None:
    assert all(r.why and 0 < r.confidence < 1 for r in RULES)
    assert {r.category for r in RULES} == set(RULE_CATEGORIES)
