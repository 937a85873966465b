"""Hashed n-gram featuriser: exact counts, scipy-compatible CSR, L2 norms, stable hashing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from soundstage.moderate.features import Csr, FeatureConfig, Featuriser, stable_hash

TEXTS = ["you are an idiot", "", "have a lovely day", "ab", "idiot idiot idiot"]


def fitted(bits: int = 16) -> Featuriser:
    feat = Featuriser(FeatureConfig(bits=bits))
    feat.fit_idf(feat.counts(TEXTS))
    return feat


def test_counts_enumerate_word_and_char_ngrams() -> None:
    # "ab": 1 unigram, no bigram; " ab " gives 3 char 2-grams, 2 3-grams, 1 4-gram, 0 5-grams
    counts = Featuriser(FeatureConfig(bits=20)).counts(["ab"])
    assert counts.data.sum() == 1 + 3 + 2 + 1
    # two words: 2 unigrams + 1 bigram + chars of " ab " and " cd "
    counts = Featuriser(FeatureConfig(bits=20)).counts(["ab cd"])
    assert counts.data.sum() == 2 + 1 + 2 * (3 + 2 + 1)


def test_empty_text_gives_an_empty_row() -> None:
    x = fitted().transform(["", "   ", "hello"])
    assert list(np.diff(x.indptr))[:2] == [0, 0]
    assert np.diff(x.indptr)[2] > 0


def test_rows_do_not_depend_on_the_rest_of_the_batch() -> None:
    feat = fitted()
    alone = feat.transform(["you are an idiot"])
    batch = feat.transform(TEXTS)
    n = alone.indptr[1]
    np.testing.assert_array_equal(batch.indices[: batch.indptr[1]], alone.indices[:n])
    np.testing.assert_allclose(batch.data[: batch.indptr[1]], alone.data[:n])


def test_csr_triple_loads_in_scipy_and_dot_matches() -> None:
    csr_matrix = pytest.importorskip("scipy.sparse").csr_matrix  # scipy: train extra only
    feat = fitted()
    x = feat.transform(TEXTS)
    matrix = csr_matrix((x.data, x.indices, x.indptr), shape=x.shape)
    weights = np.random.default_rng(0).normal(size=(feat.n_features, 3)).astype(np.float32)
    np.testing.assert_allclose(feat.dot(TEXTS, weights), matrix @ weights, rtol=1e-5, atol=1e-5)


def test_each_half_is_l2_normalised() -> None:
    feat = fitted()
    x = feat.transform(["you are an idiot"])
    half = x.indices >= feat.n_features // 2
    assert np.sum(x.data[half] ** 2) == pytest.approx(1.0, rel=1e-5)
    assert np.sum(x.data[~half] ** 2) == pytest.approx(1.0, rel=1e-5)


def test_repeated_words_are_sublinear() -> None:
    counts = Featuriser(FeatureConfig(bits=20)).counts(["idiot idiot idiot"])
    assert counts.data.max() >= 3  # the unigram "idiot" occurs three times
    feat = fitted(20)
    x = feat.weigh(counts)
    raw = feat.weigh(Csr(counts.indptr, counts.indices, np.ones_like(counts.data), 1 << 20))
    assert not np.allclose(x.data, raw.data)


def test_min_df_drops_rare_buckets() -> None:
    feat = Featuriser(FeatureConfig(bits=16))
    idf = feat.fit_idf(feat.counts(TEXTS), min_df=2)
    x = feat.counts(["have a lovely day"])
    assert (idf[x.indices] == 0).any()


def test_never_raises_on_odd_strings() -> None:
    feat = fitted()
    x = feat.transform(["\ud800 lone surrogate", "\x00\x01 control", "😀 emoji", "ｆｕｌｌ"])
    assert x.shape == (4, feat.n_features)


def test_hash_is_stable_across_processes() -> None:
    texts = ["idiot", "hello world", "ünïcødé"]
    here = stable_hash(texts).tolist()
    counts = Featuriser(FeatureConfig(bits=18)).counts(texts)
    code = (
        "import json; from soundstage.moderate.features import *; "
        f"t = {texts!r}; c = Featuriser(FeatureConfig(bits=18)).counts(t); "
        "print(json.dumps([stable_hash(t).tolist(), c.indices.tolist()]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    there_hash, there_indices = json.loads(out.stdout)
    assert there_hash == here
    assert there_indices == counts.indices.tolist()
    assert len(set(here)) == 3
