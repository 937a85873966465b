"""The pooled sources (labels mapped onto one scheme) and the functional suite's halves."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from soundstage.errors import SoundstageError
from soundstage.moderate.functional import FUNCTIONALITIES, IDENTITIES, cases
from soundstage.moderate.sources import read_source


def test_every_source_maps_onto_the_shared_labels(shared: Callable[..., Path]) -> None:
    data = shared("mod")
    olid = read_source("olid", data)
    assert Counter(olid.split.tolist()) == {"train": 13240, "test": 860}
    test = olid.take(olid.split == "test")
    assert int(test.unacceptable.sum()) == 240  # OLID test A: 240 OFF
    davidson = read_source("davidson", data)
    assert len(davidson) == 24783 and int(davidson.hate.sum()) == 1430
    assert int(davidson.unacceptable.sum()) == 1430 + 19190  # hate or offensive
    storm = read_source("stormfront", data)
    assert len(storm) == 1196 + 9507  # "relation" and "idk/skip" left out
    assert (storm.unacceptable == storm.hate).all()
    wiki = read_source("wikipedia", data)
    assert int(wiki.unacceptable.sum()) == 248 and (wiki.hate == -1).all()
    with pytest.raises(SoundstageError, match="no moderation source 'reddit'"):
        read_source("reddit", data)


def test_functional_halves_share_no_template() -> None:
    train, test = cases("train"), cases("test")
    assert len(train) + len(test) == len(cases())
    for name in FUNCTIONALITIES:
        a = {c.template for c in train if c.functionality == name}
        b = {c.template for c in test if c.functionality == name}
        assert a and b and not a & b, name
    assert not {c.text for c in train} & {c.text for c in test}


def test_functional_cases_are_filled_and_labelled() -> None:
    everything = cases()
    assert not [c.text for c in everything if "{" in c.text or "}" in c.text]
    assert {c.label for c in everything} == {0, 1}
    per_identity = Counter(c.target for c in everything if c.target)
    assert set(per_identity) == {i.name for i in IDENTITIES}
    assert len(set(per_identity.values())) == 1  # every identity in every identity template
    counts = Counter((c.functionality, c.split) for c in everything)
    assert min(counts.values()) >= 5  # enough cases to give each functionality a rate
    assert "I will find where you live and kill you." in {c.text for c in everything}


def test_pooled_training_data_leaves_the_test_sets_out(shared: Callable[..., Path]) -> None:
    from soundstage.moderate.pooled_train import pooled_data

    data = pooled_data(shared("mod"))
    olid = read_source("olid", shared("mod"))
    test = set(olid.take(olid.split == "test").texts)
    assert not (test - set(olid.take(olid.split == "train").texts)) & set(data.texts)
    assert len(test & set(data.texts)) == 4  # four OLID test tweets are also in OLID train
    assert "madlibs" not in set(data.source.tolist())
    totals = {s: float(data.weight[data.source == s].sum()) for s in set(data.source.tolist())}
    assert max(totals.values()) == pytest.approx(min(totals.values()), rel=1e-4)
    assert np.isnan(data.labels[data.source == "wikipedia", 1]).all()
    test_half = {c.text for c in cases("test")}
    assert not test_half & set(data.texts)


def test_identity_sources_swap_terms_and_keep_labels() -> None:
    from soundstage.moderate.pooled_train import identity_sources

    labels = np.array([[1, 1], [0, np.nan], [1, 0]], dtype=np.float32)
    found = identity_sources(["Gay people are vermin", "nice weather", "muslim idiot"], labels)
    swapped, swapped_labels = found["identity-swaps"]
    assert len(swapped) == 2 and "gay" not in swapped[0] and swapped[0].endswith("are vermin")
    assert "muslim" not in swapped[1] and swapped_labels.tolist() == [[1, 1], [1, 0]]
    neutral, neutral_labels = found["identity-neutral"]
    assert "as a homosexual person i loved this film" in neutral
    assert not neutral_labels.any()


@pytest.mark.slow
def test_pooled_training_round_trip(shared: Callable[..., Path], tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from soundstage.moderate.pooled_train import (
        CATEGORIES,
        PooledConfig,
        load_pooled,
        score_pooled,
        train_pooled,
    )

    meta = train_pooled(
        shared("mod"), tmp_path, PooledConfig(epochs=1), limit=40, log=lambda m: None
    )
    assert set(meta["thresholds"]) == set(CATEGORIES) and meta["rows"]["stormfront"] > 0
    assert (tmp_path / "model.safetensors").read_bytes()[:8] != b"\x80\x04\x95"  # not a pickle
    top, loaded = load_pooled(tmp_path)
    assert loaded["layers"] == [4, 5]
    z = score_pooled(top, loaded, ["you are an idiot", "what a lovely day", ""])
    assert z.shape == (3, len(CATEGORIES)) and np.isfinite(z).all()
