"""`Moderator`: the one path from text to verdict, with the shipped model and policies."""

from __future__ import annotations

import importlib.util

import pytest

from soundstage.moderate.service import MAX_BYTES, Moderator, TextError
from soundstage.moderate.types import SEVERITY, Verdict

TOXIC = "you are a stupid worthless idiot, shut up"
BENIGN = "What a lovely film, thanks for sharing the trailer"


@pytest.fixture(scope="module")
def moderator() -> Moderator:
    return Moderator.load("community")


def test_verdicts_follow_the_policy_and_keep_input_order(moderator: Moderator) -> None:
    verdicts = moderator.check_many([BENIGN, TOXIC, "I will kill you tonight"])
    assert [v.decision for v in verdicts] == ["allow", verdicts[1].decision, "block"]
    assert verdicts[1].decision == "review"
    assert {h.category for h in verdicts[1].hits} >= {"toxicity", "insult"}
    assert verdicts[0].spans == [] and verdicts[1].spans  # explanations only when flagged
    assert all(v.policy == moderator.policy.id and v.tier == "fast" for v in verdicts)
    assert Verdict.from_json(verdicts[1].to_json()) == verdicts[1]


def test_surface_changes_the_decision() -> None:
    chat = Moderator.load("community", "chat").check(TOXIC)
    default = Moderator.load("community").check(TOXIC)
    assert chat.scores == default.scores
    assert default.decision == "review"
    assert chat.decision == ("block" if chat.scores["toxicity"] >= 0.97 else "allow")
    texts = [BENIGN, TOXIC, "this movie is crap", "meh, boring plot", "shut up"]
    kids = Moderator.load("kids").check_many(texts)
    community = Moderator.load("community").check_many(texts)
    strictness = [
        SEVERITY[k.decision] - SEVERITY[c.decision] for k, c in zip(kids, community, strict=True)
    ]
    assert min(strictness) >= 0 and max(strictness) > 0  # kids is never laxer, sometimes stricter


def test_edge_cases(moderator: Moderator) -> None:
    empty = moderator.check("   ")
    assert empty.decision == "allow" and "empty text" in empty.notes[0]
    assert moderator.check("a" * MAX_BYTES).chars == MAX_BYTES  # exactly 1 MiB is fine
    with pytest.raises(TextError) as info:
        moderator.check_many([BENIGN, "é" * (MAX_BYTES // 2 + 1)])  # 2 bytes a character
    assert info.value.index == 1
    with pytest.raises(TextError, match="must be a string"):
        moderator.check_many([b"bytes"])  # type: ignore[list-item]
    odd = moderator.check("\ud800 lone surrogate \x00 and controls \u202e")
    assert odd.decision in ("allow", "review", "block")


def test_a_long_text_with_one_bad_paragraph_is_not_diluted(moderator: Moderator) -> None:
    clean = "The harbour was quiet that morning and the boats came in one by one. " * 300
    verdict = moderator.check(clean + " You are a worthless idiot and I will kill you. " + clean)
    assert verdict.decision == "block"
    assert any("kill" in s.text for s in verdict.spans)


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None, reason="content extra missing"
)
def test_cascade_asks_minilm_only_about_borderline_texts() -> None:
    cascade = Moderator.load("community", tier="cascade")
    fast = Moderator.load("community")
    texts = [BENIGN, "I will kill you tonight you worthless idiot", "you people are such a joke"]
    verdicts = cascade.check_many(texts)
    fast_verdicts = fast.check_many(texts)
    assert [v.tier for v in verdicts][:2] == ["fast", "fast"]  # clear cases: fast tier only
    borderline = fast_verdicts[2].scores["toxicity"]
    assert 0.27 < borderline < 0.73 and verdicts[2].tier == "fast+embed"
    assert verdicts[2].scores["toxicity"] != borderline
    assert "moderation-embed" in verdicts[2].model
    assert verdicts[0].scores == fast_verdicts[0].scores


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None, reason="content extra missing"
)
def test_ensemble_asks_minilm_about_every_non_empty_text() -> None:
    ensemble = Moderator.load("community", tier="ensemble")
    long_text = "The harbour was quiet that morning. " * 20 + "You are a worthless idiot."
    german = "Du bist ein Idiot und ich hasse dich, verschwinde endlich"
    verdicts = ensemble.check_many([BENIGN, TOXIC, "", long_text, german])
    # empty text, text longer than MiniLM reads and unsupported languages keep the fast score
    assert [v.tier for v in verdicts] == ["fast+embed", "fast+embed", "fast", "fast", "fast"]
    fast = Moderator.load("community").check(BENIGN)
    assert verdicts[0].scores["toxicity"] != fast.scores["toxicity"]
    assert verdicts[0].scores["threat"] == fast.scores["threat"]  # rules are not blended


def test_unknown_tier_is_refused() -> None:
    from soundstage.errors import SoundstageError

    with pytest.raises(SoundstageError, match="unknown tier 'slow'"):
        Moderator.load("community", tier="slow")
