"""Keyed green-list watermark for every token sampler soundstage drives, and its detector.

The scheme is the soft watermark of Kirchenbauer et al., "A Watermark for Large Language
Models" (ICML 2023, arXiv 2301.10226), "KGW", with a context of one token:

- **Embed**. Before token t is sampled, the previous token's id picks a pseudo-random
  *green list* G, a fraction γ of the vocabulary, and δ is added to every green logit.
  Sampling then goes on as usual (temperature, top-k/top-p, a regex or grammar mask), so
  high-entropy steps lean green while low-entropy ones (a forced token) keep their choice.
- **Detect**. Re-tokenise the text, count green tokens |s|_G among T scored tokens and
  compute z = (|s|_G − γT) / √(Tγ(1−γ)). Unmarked text is green with probability γ at each
  step whatever its author, so z is ≈ N(0, 1) under the null; z > 4 is a one-sided
  false-positive rate of 3.2e-5. As in the paper's `ignore_repeated_bigrams` option, each
  (previous, token) pair is scored once, so a repeated line cannot pile up evidence.

**How green is decided** (scheme "kgw1-hmac-sha256-splitmix64", γ = 0.25; δ = 1.5 for text,
2.0 for the music model's tokens):

    seed(prev)      = first 8 bytes (little-endian) of HMAC-SHA256(key, prev as uint32 LE)
    h(prev, v)      = splitmix64_finalizer(seed(prev) + v · 0x9E3779B97F4A7C15  mod 2^64)
    v is green      ⇔ h(prev, v) < ⌊γ · 2^64⌋

One HMAC per step; the per-token hash is integer arithmetic on uint64 arrays, which numpy
does the same on every platform and version (no RNG stream, no torch), so a text made
with torch on one machine is detected with numpy on another. Green membership is a keyed
coin per (prev, v) pair, not an exact γ|V| slice of a permutation: the null distribution
(each token green with probability γ) is the same, and the detector needs neither the
vocabulary size nor the model. The whole vocabulary is hashed in ~0.1 ms (4 k tokens) to
~1 ms (49 k); masks are cached per previous token.

**Where it is applied**: `soundstage.backends.load_backend(spec, settings)` gives the
`embedded` (numpy) and `local` (torch) backends a `TextWatermark` built from the
installation's key (`soundstage.provenance.keys.watermark_key`) when `settings.watermark`
is true (the default; `SOUNDSTAGE_WATERMARK=0` turns it off); the music model gets it from
`soundstage.music.setup.load_composer`. Remote `openai:` backends sample on the server and
cannot be marked. Limits (see docs/provenance.md): low-entropy text (near-greedy decoding,
slug lines, names) carries little mark; a one-token context makes the green lists
learnable from many outputs (spoofing) and paraphrase erodes the mark; detection needs the
key, so text from another installation reads as unmarked.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from soundstage.provenance.types import Detection

if TYPE_CHECKING:
    from soundstage.settings import Settings

__all__ = [
    "DELTA",
    "MUSIC_DELTA",
    "GAMMA",
    "MIN_TOKENS",
    "SCHEME",
    "Z_THRESHOLD",
    "TextWatermark",
    "WatermarkLogitsProcessor",
    "detect_text",
    "detect_tokens",
    "green_mask",
    "is_green",
    "text_watermark",
]

SCHEME = "kgw1-hmac-sha256-splitmix64"
GAMMA = 0.25
DELTA = 1.5
"""Text: δ 1.5 keeps TPR 1.00 at z > 4 on 200-token passages for both writers and costs
+10–16% perplexity, where δ 2.0 cost +31–67% (docs/benchmarks.md, "δ sweep"); δ 1.0 missed
17% of SmolLM2's passages."""
MUSIC_DELTA = 2.0
"""Music tokens: unchanged (the mark there is a second layer under the audio watermark)."""
Z_THRESHOLD = 4.0
MIN_TOKENS = 25  # fewer scored tokens: "too short to tell"
CACHE_SIZE = 512  # green masks kept per watermark (one per previous token)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _seed(key: bytes, prev: int) -> np.uint64:
    digest = hmac.new(key, int(prev).to_bytes(4, "little", signed=False), hashlib.sha256)
    return np.uint64(int.from_bytes(digest.digest()[:8], "little"))


def _hash(seed: np.uint64 | np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser of seed + v·golden, elementwise on uint64 arrays (wraps)."""
    x = tokens.astype(np.uint64) * _GOLDEN + seed
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def _cut(gamma: float) -> np.uint64:
    if not 0.0 < gamma < 1.0:
        raise ValueError(f"gamma must be in (0, 1), got {gamma}")
    return np.uint64(min(int(gamma * 2.0**64), 2**64 - 1))


def green_mask(key: bytes, prev: int, vocab_size: int, gamma: float = GAMMA) -> np.ndarray:
    """Which of the `vocab_size` tokens are green after `prev` (a bool array)."""
    return _hash(_seed(key, prev), np.arange(vocab_size, dtype=np.uint64)) < _cut(gamma)


def is_green(key: bytes, prev: int, token: int, gamma: float = GAMMA) -> bool:
    """Green membership of one token (what the detector computes per scored pair)."""
    return bool(_hash(_seed(key, prev), np.array([token], dtype=np.uint64))[0] < _cut(gamma))


@dataclass
class TextWatermark:
    """A key plus γ and δ: biases logits in the samplers (numpy or torch)."""

    key: bytes = field(repr=False)
    gamma: float = GAMMA
    delta: float = DELTA
    _masks: OrderedDict[tuple[int, int], np.ndarray] = field(
        default_factory=OrderedDict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if len(self.key) < 16:
            raise ValueError("a watermark key needs at least 16 bytes")
        _cut(self.gamma)

    def green(self, prev: int, vocab_size: int) -> np.ndarray:
        """The green mask after `prev` (cached; least recently used masks are dropped)."""
        slot = (int(prev), int(vocab_size))
        mask = self._masks.get(slot)
        if mask is None:
            mask = green_mask(self.key, slot[0], vocab_size, self.gamma)
            self._masks[slot] = mask
            if len(self._masks) > CACHE_SIZE:
                self._masks.popitem(last=False)
        else:
            self._masks.move_to_end(slot)
        return mask

    def bias(self, logits: np.ndarray, prev: int) -> np.ndarray:
        """`logits` (one vector, numpy) with δ added to the green tokens; a new array."""
        mask = self.green(prev, logits.shape[-1])
        return np.where(mask, logits + np.asarray(self.delta, dtype=logits.dtype), logits)

    def processor(self) -> WatermarkLogitsProcessor:
        return WatermarkLogitsProcessor(self)


class WatermarkLogitsProcessor:
    """A `transformers` LogitsProcessor (duck-typed: `(input_ids, scores) -> scores`).

    Row r of `scores` (batch, vocab) is biased by the green list of `input_ids[r, -1]`.
    Works in `model.generate(logits_processor=LogitsProcessorList([...]))` and in our own
    decoding loop (backends/local.py), without importing transformers here.
    """

    def __init__(self, watermark: TextWatermark) -> None:
        self.watermark = watermark

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        scores = scores.clone()
        vocab = int(scores.shape[-1])
        for row, prev in enumerate(input_ids[:, -1].tolist()):
            if prev < 0:  # a finished row in our batch decoder
                continue
            mask = torch.from_numpy(self.watermark.green(int(prev), vocab))
            scores[row, mask] += self.watermark.delta
        return scores


class TextTokenizer(Protocol):
    def encode(self, text: str) -> Any: ...


def _ids(tokenizer: TextTokenizer, text: str) -> list[int]:
    """Token ids from a `tokenizers.Tokenizer` (Encoding.ids) or a list-returning encoder."""
    out = tokenizer.encode(text)
    ids = getattr(out, "ids", out)
    return [int(i) for i in ids]


def p_value(z: float) -> float:
    """One-sided upper-tail p-value of a standard normal z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def detect_tokens(
    token_ids: Sequence[int],
    key: bytes,
    gamma: float = GAMMA,
    *,
    z_threshold: float = Z_THRESHOLD,
    ignore_repeated: bool = True,
) -> Detection:
    """The KGW z-test over consecutive (prev, token) pairs of `token_ids`.

    The first token has no known predecessor and is not scored. With `ignore_repeated`,
    each distinct pair counts once. Fewer than MIN_TOKENS scored pairs → never `marked`.
    """
    pairs = list(zip(token_ids[:-1], token_ids[1:], strict=True))
    if ignore_repeated:
        pairs = list(dict.fromkeys(pairs))
    green = 0
    if pairs:
        prevs, toks = (np.array(col, dtype=np.int64) for col in zip(*pairs, strict=True))
        unique, where = np.unique(prevs, return_inverse=True)
        seeds = np.array([_seed(key, int(p)) for p in unique], dtype=np.uint64)
        green = int((_hash(seeds[where], toks) < _cut(gamma)).sum())
    scored = len(pairs)
    z = (green - gamma * scored) / math.sqrt(scored * gamma * (1 - gamma)) if scored else 0.0
    short = scored < MIN_TOKENS
    note = f"too short to tell ({scored} tokens; need ≥ {MIN_TOKENS})" if short else ""
    return Detection(
        kind="text",
        z=round(z, 4),
        p_value=p_value(z),
        threshold=z_threshold,
        fpr=p_value(z_threshold),
        units=scored,
        marked=not short and z > z_threshold,
        note=note or f"{green} of {scored} tokens green (γ = {gamma})",
    )


def detect_text(
    text: str, key: bytes, tokenizer: TextTokenizer, gamma: float = GAMMA, **kwargs: Any
) -> Detection:
    """Tokenise `text` with the writing model's tokenizer and run `detect_tokens`."""
    return detect_tokens(_ids(tokenizer, text), key, gamma, **kwargs)


def text_watermark(settings: Settings, delta: float = DELTA) -> TextWatermark | None:
    """This installation's watermark, or None when `settings.watermark` is off."""
    if not settings.watermark:
        return None
    from soundstage.provenance.keys import watermark_key

    return TextWatermark(watermark_key(settings), delta=delta)


class _Encoder:
    """A tokenizer's `encode` as the samplers use it (no special tokens added)."""

    def __init__(self, tokenizer: Any, *, hf: bool) -> None:
        self.tokenizer = tokenizer
        self.hf = hf

    def encode(self, text: str) -> list[int]:
        if self.hf:
            return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)


def tokenizer_for(spec: str) -> TextTokenizer:
    """The tokenizer of the model a backend spec names: detection needs no weights.

    `embedded[:dir]` reads the model dir's tokenizer.json; `local` the tokenizer the local
    runtime converted from the GGUF (cached), else transformers reads it from the GGUF;
    `local:/x.gguf` and `llamacpp:/x.gguf` the same way. `openai:` is never watermarked.
    """
    from tokenizers import Tokenizer

    from soundstage.backends import parse_spec
    from soundstage.errors import SoundstageError

    kind, arg = parse_spec(spec)
    if kind == "openai":
        raise SoundstageError(
            f"{spec}: remote backends are not watermarked (the server samples the tokens)",
            hint="detection works for text from the local, embedded and llamacpp backends",
        )
    if kind == "embedded":
        from soundstage.backends.embedded import resolve_model_dir

        return _Encoder(
            Tokenizer.from_file(str(resolve_model_dir(arg or None) / "tokenizer.json")), hf=False
        )
    from pathlib import Path

    from soundstage.backends.local import cache_root, default_gguf
    from soundstage.fileio import file_sha256

    gguf = Path(arg).expanduser() if arg else default_gguf()
    if not gguf.is_file():
        raise SoundstageError(f"model file {gguf} does not exist")
    cached = cache_root() / "local" / file_sha256(gguf)[:16] / "tokenizer.json"
    if cached.is_file():
        return _Encoder(Tokenizer.from_file(str(cached)), hf=False)
    from transformers import AutoTokenizer

    return _Encoder(AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name), hf=True)
