"""The numpy runtime must compute exactly what the torch model trained."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage.lm.config import ModelConfig
from soundstage.lm.runtime import NumpyGPT

torch = pytest.importorskip("torch", reason="the train extra (torch) is not installed")

from soundstage.lm.model import GPT  # noqa: E402

CFG = ModelConfig(vocab_size=97, block_size=16, n_layer=2, n_head=2, n_embd=32, dropout=0.0)


def _pair(seed: int = 0) -> tuple[GPT, NumpyGPT]:
    torch.manual_seed(seed)
    model = GPT(CFG).eval()
    weights = {k: v.numpy() for k, v in model.export_state().items()}
    return model, NumpyGPT(CFG, weights)


def _torch_logits(model: GPT, ids: list[int]) -> np.ndarray:
    with torch.no_grad():
        logits, _ = model(torch.tensor([ids]))
    return logits[0].numpy()


def test_cached_decoding_matches_torch_at_every_position() -> None:
    model, lm = _pair()
    ids = [int(i) for i in np.random.default_rng(1).integers(0, CFG.vocab_size, size=12)]
    ref = _torch_logits(model, ids)
    np.testing.assert_allclose(lm.logits_all(ids), ref, atol=1e-5)


def test_prefill_then_step_matches_a_full_forward() -> None:
    model, lm = _pair(3)
    ids = [5, 9, 13, 2, 77, 41, 8]
    ref = _torch_logits(model, ids)
    np.testing.assert_allclose(lm.prefill(ids[:4]), ref[3], atol=1e-5)
    for pos in range(4, len(ids)):
        np.testing.assert_allclose(lm.step(ids[pos]), ref[pos], atol=1e-5)


def test_context_overflow_keeps_the_recent_half_and_matches_torch_on_it() -> None:
    model, lm = _pair(4)
    ids = list(range(1, CFG.block_size + 1))
    lm.prefill(ids[:-1])
    lm.step(ids[-1])  # the context is now full
    assert len(lm.tokens) == CFG.block_size
    logits = lm.step(50)
    kept = ids[-(CFG.block_size // 2) :] + [50]
    assert lm.tokens == kept
    np.testing.assert_allclose(logits, _torch_logits(model, kept)[-1], atol=1e-5)


def test_long_prompts_are_cut_to_fit_the_context() -> None:
    _, lm = _pair()
    lm.prefill(list(range(40)))
    assert len(lm.tokens) == CFG.block_size - 1
    assert lm.tokens[-1] == 39


def test_prefill_reuses_a_shared_prefix_and_gives_the_same_logits() -> None:
    model, lm = _pair(5)
    ids = [3, 1, 4, 1, 5, 9, 2, 6]
    lm.prefill(ids[:5])
    lm.step(7)  # the cache now holds a continuation we are about to abandon
    logits = lm.prefill(ids)
    assert lm.tokens == ids
    np.testing.assert_allclose(logits, _torch_logits(model, ids)[-1], atol=1e-5)
    again = lm.prefill(ids)  # identical prompt: only the last token is recomputed
    np.testing.assert_allclose(again, logits, atol=1e-6)
    fresh = lm.prefill(ids, reuse=False)
    np.testing.assert_allclose(fresh, logits, atol=1e-5)
