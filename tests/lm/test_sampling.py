from __future__ import annotations

import numpy as np

from soundstage.lm.sampling import sample_token

LOGITS = np.array([0.1, 2.0, 1.5, -1.0, 1.9], dtype=np.float32)


def test_zero_temperature_is_greedy() -> None:
    rng = np.random.default_rng(0)
    assert {sample_token(LOGITS, rng, temperature=0.0) for _ in range(20)} == {1}


def test_top_k_one_and_tiny_top_p_pick_the_likeliest() -> None:
    rng = np.random.default_rng(0)
    assert {sample_token(LOGITS, rng, temperature=1.0, top_k=1) for _ in range(50)} == {1}
    assert {sample_token(LOGITS, rng, temperature=1.0, top_p=0.01) for _ in range(50)} == {1}


def test_top_k_restricts_the_support() -> None:
    rng = np.random.default_rng(0)
    seen = {sample_token(LOGITS, rng, temperature=5.0, top_k=3) for _ in range(500)}
    assert seen == {1, 2, 4}


def test_same_seed_same_sequence_and_frequencies_follow_softmax() -> None:
    a = [sample_token(LOGITS, np.random.default_rng(7)) for _ in range(5)]
    b = [sample_token(LOGITS, np.random.default_rng(7)) for _ in range(5)]
    assert a == b
    rng = np.random.default_rng(1)
    draws = np.bincount(
        [sample_token(LOGITS, rng, temperature=1.0) for _ in range(20000)], minlength=5
    )
    expected = np.exp(LOGITS) / np.exp(LOGITS).sum()
    np.testing.assert_allclose(draws / draws.sum(), expected, atol=0.015)
