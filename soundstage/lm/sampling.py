"""Pick the next token from logits: temperature, top-k, top-p (nucleus), seeded.

Same seed and same logits → same token, so a whole generation repeats exactly.
"""

from __future__ import annotations

import numpy as np


def sample_token(
    logits: np.ndarray,
    rng: np.random.Generator,
    temperature: float = 0.8,
    top_k: int | None = None,
    top_p: float = 1.0,
) -> int:
    if temperature <= 0.0:
        return int(np.argmax(logits))
    scaled = logits.astype(np.float64) / temperature
    if top_k is not None and top_k < scaled.size:
        kth = np.partition(scaled, -top_k)[-top_k]
        scaled = np.where(scaled < kth, -np.inf, scaled)
    scaled -= scaled.max()
    probs = np.exp(scaled)
    probs /= probs.sum()
    if top_p < 1.0:
        order = np.argsort(-probs, kind="stable")
        cumulative = np.cumsum(probs[order])
        # Keep the smallest prefix whose mass reaches top_p (always at least one token).
        keep = order[: int(np.searchsorted(cumulative, top_p)) + 1]
        mask = np.zeros_like(probs)
        mask[keep] = probs[keep]
        probs = mask / mask.sum()
    return int(rng.choice(probs.size, p=probs))
