"""The packaged fast-tier model: ranking, categories, spans in original coordinates, long texts."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from soundstage.moderate.classifier import DEFAULT_MODEL, Classifier, windows
from soundstage.moderate.normalise import normalise
from soundstage.moderate.types import CATEGORIES


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier.load()


def scores(clf: Classifier, texts: list[str], category: str) -> np.ndarray:
    return clf.score([normalise(t).text for t in texts])[:, clf.categories.index(category)]


def test_loads_packaged_model_without_pickle(clf: Classifier) -> None:
    with np.load(DEFAULT_MODEL / "weights.npz", allow_pickle=False) as npz:
        assert npz["weights"].shape[0] == clf.featuriser.n_features
    assert (DEFAULT_MODEL / "MODEL_CARD.md").is_file()
    assert clf.categories == tuple(CATEGORIES)
    assert clf.name == "moderation-fast" and clf.version
    assert (DEFAULT_MODEL / "weights.npz").stat().st_size < 8_000_000


def test_offensive_ranks_above_benign(clf: Classifier) -> None:
    bad = ["you are a fucking idiot", "shut up you stupid bitch", "all of you are worthless scum"]
    good = ["have a lovely day", "the film opens in cinemas on friday", "thanks for the recipe"]
    tox = scores(clf, bad + good, "toxicity")
    assert tox[:3].min() > tox[3:].max()
    assert tox[:3].min() > clf.thresholds["toxicity"] > tox[3:].max()


def test_evasions_score_like_the_clean_text(clf: Classifier) -> None:
    clean, leet, spaced, hidden = scores(
        clf,
        ["you idiot", "y0u 1d10t", "you i d i o t", "you i\u200bd\u200bi\u200bo\u200bt"],
        "toxicity",
    )
    assert leet == pytest.approx(clean, abs=1e-6)
    assert spaced == pytest.approx(clean, abs=1e-6)
    assert hidden == pytest.approx(clean, abs=1e-6)


def test_rule_and_derived_categories(clf: Classifier) -> None:
    row = clf.score_one("I will kill you, you worthless idiot")
    assert row["threat"] >= 0.8 and row["S1"] == row["threat"]
    assert row["S10"] == row["identity_attack"]
    expected = np.sqrt(row["toxicity"] * max(row["threat"], row["identity_attack"]))
    assert row["severe_toxicity"] == pytest.approx(expected, rel=1e-5)
    calm = clf.score_one("this joke kills me, what a killer app")
    assert calm["threat"] == 0.0 and calm["severe_toxicity"] < row["severe_toxicity"]
    assert clf.score_one("kill yourself")["S11"] >= 0.8


def test_empty_and_odd_strings_never_raise(clf: Classifier) -> None:
    out = clf.score(["", "   ", "\ud800\udfff\x00\x07", "\u200b" * 50, "😀" * 3000])
    assert out.shape == (5, len(CATEGORIES))
    assert (out[:2] == 0).all()
    assert np.isfinite(out).all() and (out >= 0).all() and (out <= 1).all()
    assert clf.score([]).shape == (0, len(CATEGORIES))
    assert clf.explain("", ["toxicity"]) == []


def test_span_points_at_the_word_in_original_coordinates(clf: Classifier) -> None:
    for text, word in [
        ("what a lovely day, you idiot", "idiot"),
        ("what a lovely day, you 1d10t", "1d10t"),
        ("what a lovely day, you i\u200bd\u200bi\u200bo\u200bt", "i\u200bd\u200bi\u200bo\u200bt"),
        ("what a lovely day, f u c k you", "f u c k"),
    ]:
        spans = clf.explain(text, ["toxicity"])
        assert spans, text
        best = spans[0]
        assert text[best.start : best.end] == best.text
        assert word in best.text, (text, spans)
        assert best.category == "toxicity" and best.weight > 0


def test_threat_span_covers_the_phrase(clf: Classifier) -> None:
    text = "Nice scene. I will kill you tomorrow."
    spans = [s for s in clf.explain(text, ["threat"]) if s.category == "threat"]
    assert spans and "kill" in spans[0].text
    assert text[spans[0].start : spans[0].end] == spans[0].text


def test_long_text_keeps_one_toxic_paragraph(clf: Classifier) -> None:
    scene = "INT. KITCHEN - NIGHT. Maria pours the tea and talks about the garden. "
    big = (scene * (1_000_000 // len(scene) + 1))[:1_000_000]
    toxic = " You are a fucking worthless idiot and I will kill you. "
    text = big[:600_000] + toxic + big[600_000:]
    t0 = time.perf_counter()
    got = clf.score([normalise(text).text])[0]
    elapsed = time.perf_counter() - t0
    calm = clf.score([normalise(big).text])[0]
    tox = clf.categories.index("toxicity")
    assert got[tox] > calm[tox] and got[tox] > clf.thresholds["toxicity"]
    assert got[clf.categories.index("threat")] >= 0.8
    assert elapsed < 6  # well under 2 s on an idle core; slack for shared CI machines
    spans = clf.explain(text, ["toxicity"])
    assert spans and 600_000 <= spans[0].start < 600_000 + len(toxic)


def test_windows_cover_the_text_at_whitespace() -> None:
    text = " ".join(f"word{i}" for i in range(2000))
    spans = windows(text, 1000, 200)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    for (_, b1), (a2, _) in zip(spans, spans[1:], strict=False):
        assert a2 < b1  # overlap
        assert text[a2 - 1] == " " and (b1 == len(text) or text[b1] == " ")
    assert windows("short", 1000, 200) == [(0, 5)]
    assert windows("x" * 5000, 1000, 200)[-1][1] == 5000


def test_score_one_matches_batch(clf: Classifier) -> None:
    text = "ＹＯＵ ＡＲＥ ＡＮ ＩＤＩＯＴ"
    one = clf.score_one(text)
    batch = clf.score([normalise(text).text, "other text"])[0]
    assert [one[c] for c in clf.categories] == pytest.approx(batch.tolist(), abs=1e-6)


def test_jigsaw_sample_smoke(clf: Classifier, shared: Callable[..., Path]) -> None:
    import csv

    path = shared("mod", "jigsaw_toxic_sample", "test_examples.csv")
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    y = np.array([int(r["toxic"]) for r in rows])
    s = scores(clf, [r["comment_text"] for r in rows], "toxicity")
    assert s[y == 1].mean() > s[y == 0].mean()
