"""Hashed word + character n-gram TF-IDF features, vectorised over a whole batch in numpy.

Why hashing: no vocabulary to store or pickle, a fixed-size weight matrix (2**bits rows) and the
same features on every machine. Why our own hash: Python's ``hash()`` is salted per process, and
scikit-learn's HashingVectorizer would make scipy/sklearn an inference dependency. Why numpy over
the whole batch: a per-token Python loop caps throughput at a few thousand tweets/s; here each
batch is one code-point array and every n-gram hash is a handful of array operations.

Features (on already-normalised text, see :mod:`soundstage.moderate.normalise`):

- words: ``\\w+`` tokens, unigrams and bigrams (within a document);
- characters: n-grams of each word padded by one space on both sides (like scikit-learn's
  ``char_wb``), for n in ``char_ngrams``.

Hash of a code-point segment ``s[a:b]``: the polynomial ``sum(s[k] * P**(b-1-k))`` modulo 2**64,
computed for every segment at once from prefix sums of ``s[k] * P**-k`` (P is odd, so invertible
modulo 2**64). A namespace salt (word unigram, word bigram, char n-gram of length n) is mixed in,
then a splitmix-style finaliser and Fibonacci hashing map it to ``bits - 1`` bits. Word features
use the lower half of the buckets and character features the upper half, so each half is
L2-normalised on its own (as a scikit-learn FeatureUnion of two TfidfVectorizers would be).

Values: ``(1 + log(count)) * idf``, then L2 norm per (document, half).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = ["Csr", "FeatureConfig", "Featuriser", "stable_hash"]

_P = 0x100000001B3  # FNV-64 prime: odd, so it has an inverse modulo 2**64
_P_INV = pow(_P, -1, 2**64)
_FIB = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio (Fibonacci hashing)
_MIX = np.uint64(0xBF58476D1CE4E5B9)  # splitmix64 multiplier
_BIGRAM = np.uint64(0xD6E8FEB86659FD93)
_SEP = 0  # code point between documents; never produced by the tokeniser
_WORD_RE = re.compile(r"\w+")
_U64 = np.uint64


class Csr(NamedTuple):
    """A scipy-compatible CSR triple: ``csr_matrix((data, indices, indptr), shape=shape)``."""

    indptr: NDArray[np.int64]
    indices: NDArray[np.int64]
    data: NDArray[np.float32]
    n_features: int

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.indptr) - 1, self.n_features)


@dataclass(frozen=True)
class FeatureConfig:
    """Featuriser parameters; stored in the model's config.json."""

    bits: int = 18  # 2**bits buckets in all, half for words and half for characters
    char_min: int = 2
    char_max: int = 5
    word_bigrams: bool = True
    sublinear_tf: bool = True

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureConfig:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class _Powers:
    """Cached P**k and P**-k modulo 2**64, grown on demand (cumprod on uint64 wraps silently)."""

    def __init__(self) -> None:
        self.pos = np.ones(1, dtype=_U64)
        self.neg = np.ones(1, dtype=_U64)

    def get(self, n: int) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
        if len(self.pos) < n:
            size = max(n, 2 * len(self.pos))
            self.pos = _cumpow(_P, size)
            self.neg = _cumpow(_P_INV, size)
        return self.pos[:n], self.neg[:n]


def _cumpow(base: int, size: int) -> NDArray[np.uint64]:
    factors = np.full(size, base, dtype=_U64)
    factors[0] = 1
    return np.cumprod(factors, dtype=_U64)


_POWERS = _Powers()


def _finalise(h: NDArray[np.uint64], salt: int, bits: int) -> NDArray[np.int64]:
    """Mix a salt into raw polynomial hashes and keep the top ``bits`` bits."""
    h = h ^ _U64((salt * 0x9E3779B1 + 0x632BE59B) % 2**64)
    h = h ^ (h >> _U64(31))
    h = h * _MIX
    h = h ^ (h >> _U64(29))
    return ((h * _FIB) >> _U64(64 - bits)).astype(np.int64)


def stable_hash(texts: Sequence[str], bits: int = 32, salt: int = 0) -> NDArray[np.int64]:
    """The featuriser's hash of whole strings (for tests and debugging): same on every process."""
    pieces = [t.encode("utf-32-le", "surrogatepass") for t in texts]
    codes = np.frombuffer(b"".join(pieces), dtype=np.uint32).astype(_U64)
    lengths = np.array([len(p) // 4 for p in pieces], dtype=np.int64)
    ends = np.cumsum(lengths)
    return _finalise(_segment_hash(codes, ends - lengths, ends), salt, bits)


def _prefix(codes: NDArray[np.uint64]) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
    """(P**k for k = 0..len, prefix sums of codes[k] * P**-k): every segment hash in O(1)."""
    pos, neg = _POWERS.get(len(codes) + 1)
    prefix = np.zeros(len(codes) + 1, dtype=_U64)
    np.cumsum(codes * neg[: len(codes)], out=prefix[1:])
    return pos, prefix


def _segment_hash(
    codes: NDArray[np.uint64], starts: NDArray[np.int64], ends: NDArray[np.int64]
) -> NDArray[np.uint64]:
    """Polynomial hash of ``codes[a:b]`` for every (a, b), in O(len(codes) + len(starts))."""
    pos, prefix = _prefix(codes)
    if len(starts) == 0:
        return np.zeros(0, dtype=_U64)
    last = np.maximum(ends - 1, 0)
    out: NDArray[np.uint64] = pos[last] * (prefix[ends] - prefix[starts])
    return out


def _code_points(texts: Sequence[str]) -> tuple[NDArray[np.uint64], list[int]]:
    """One array for the batch: " w1 w2 " per document, separated by code point 0."""
    docs = []
    for text in texts:
        words = _WORD_RE.findall(text)
        docs.append(" " + " ".join(words) + " " if words else "")
    joined = "\x00".join(docs) + "\x00"
    raw = joined.encode("utf-32-le", "surrogatepass")
    return np.frombuffer(raw, dtype=np.uint32).astype(_U64), [len(d) for d in docs]


class Featuriser:
    """Turns normalised texts into TF-IDF rows; ``idf`` is None until :meth:`fit_idf`."""

    def __init__(self, config: FeatureConfig | None = None, idf: NDArray[Any] | None = None):
        self.config = config or FeatureConfig()
        self.n_features = 1 << self.config.bits
        if idf is not None and idf.shape != (self.n_features,):
            raise ValueError(f"idf has shape {idf.shape}, expected ({self.n_features},)")
        self.idf: NDArray[np.float32] | None = (
            None if idf is None else np.asarray(idf, dtype=np.float32)
        )

    # --- hashing ---------------------------------------------------------------------------

    def hashed(self, texts: Sequence[str]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(document index, bucket) of every feature occurrence in the batch, unsorted."""
        cfg = self.config
        half = cfg.bits - 1
        codes, _ = _code_points(texts)
        n = len(codes)
        is_sep = codes == _SEP
        is_space = codes == 32
        doc_of = np.cumsum(is_sep) - is_sep  # document index of each position
        boundary = np.flatnonzero(is_sep | is_space)
        docs: list[NDArray[np.int64]] = []
        buckets: list[NDArray[np.int64]] = []

        pos, prefix = _prefix(codes)

        # words: segments between consecutive boundaries
        w_start = boundary[:-1] + 1
        w_end = boundary[1:]
        keep = w_end > w_start
        w_start, w_end = w_start[keep], w_end[keep]
        w_hash = pos[w_end - 1] * (prefix[w_end] - prefix[w_start])
        w_doc = doc_of[w_start]
        docs.append(w_doc)
        buckets.append(_finalise(w_hash, 1, half))
        if cfg.word_bigrams and len(w_hash) > 1:
            same = w_doc[1:] == w_doc[:-1]
            pair = w_hash[:-1][same] * _BIGRAM + w_hash[1:][same]
            docs.append(w_doc[1:][same])
            buckets.append(_finalise(pair, 2, half))

        # characters: n-grams inside " word " (no separator, no interior space). Every start
        # position is hashed with slices (cheaper than gathering), then invalid ones dropped.
        spaces = np.concatenate(([0], np.cumsum(is_space)))
        seps = np.concatenate(([0], np.cumsum(is_sep)))
        offset = 1 << half
        for size in range(cfg.char_min, cfg.char_max + 1):
            m = n - size + 1  # number of start positions
            if m <= 0:
                break
            ok = (seps[size:] == seps[:m]) & (spaces[size - 1 : n] == spaces[1 : m + 1])
            if size == 2:  # "  " only occurs between two single-space paddings
                ok &= ~(is_space[:m] & is_space[1 : m + 1])
            h = pos[size - 1 : n] * (prefix[size:] - prefix[:m])
            idx = np.flatnonzero(ok)
            docs.append(doc_of[idx])
            buckets.append(_finalise(h[idx], 10 + size, half) + offset)
        return np.concatenate(docs), np.concatenate(buckets)

    def counts(self, texts: Sequence[str]) -> Csr:
        """Raw term counts per (document, bucket), CSR sorted by document then bucket."""
        doc, bucket = self.hashed(texts)
        key = doc * self.n_features + bucket
        uniq, count = np.unique(key, return_counts=True)
        rows = uniq // self.n_features
        indptr = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=len(texts)), out=indptr[1:])
        return Csr(indptr, uniq % self.n_features, count.astype(np.float32), self.n_features)

    # --- TF-IDF ----------------------------------------------------------------------------

    def fit_idf(self, counts: Csr, min_df: int = 1) -> NDArray[np.float32]:
        """Smoothed IDF as scikit-learn's (log((1 + n) / (1 + df)) + 1); buckets seen in fewer
        than ``min_df`` documents get 0, i.e. are dropped like TfidfVectorizer(min_df=...)."""
        n = counts.shape[0]
        df = np.bincount(counts.indices, minlength=self.n_features)
        idf = (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)
        idf[df < min_df] = 0
        self.idf = idf
        return idf

    def weigh(self, counts: Csr) -> Csr:
        """Sublinear TF × IDF, then L2 norm per (document, half)."""
        if self.idf is None:
            raise RuntimeError("fit_idf first (or load a model)")
        tf = 1 + np.log(counts.data) if self.config.sublinear_tf else counts.data.copy()
        data = (tf * self.idf[counts.indices]).astype(np.float32)
        n = counts.shape[0]
        rows = np.repeat(np.arange(n), np.diff(counts.indptr))
        group = rows * 2 + (counts.indices >> (self.config.bits - 1))
        norms = np.sqrt(np.bincount(group, weights=data.astype(np.float64) ** 2, minlength=2 * n))
        norms[norms == 0] = 1
        data /= norms[group].astype(np.float32)
        return Csr(counts.indptr, counts.indices, data, self.n_features)

    def transform(self, texts: Sequence[str]) -> Csr:
        return self.weigh(self.counts(texts))

    def dot(self, texts: Sequence[str], weights: NDArray[Any]) -> NDArray[np.float32]:
        """``transform(texts) @ weights`` for a (n_features, k) weight matrix, without scipy."""
        x = self.transform(texts)
        n = x.shape[0]
        out = np.zeros((n, weights.shape[1]), dtype=np.float32)
        if len(x.indices) == 0:
            return out
        w = weights[x.indices] * x.data[:, None]
        # rows are contiguous in CSR order: one reduceat over the non-empty rows' start offsets
        filled = np.flatnonzero(np.diff(x.indptr) > 0)
        out[filled] = np.add.reduceat(w, x.indptr[filled], axis=0)
        return out
