"""A realism critic for generated music: a GAN-style discriminator used to rerank candidates.

Issue 4 asks for a GAN component. SeqGAN (Yu et al., 2017) trains a token generator against a
discriminator by policy gradient, with each token's reward estimated from Monte Carlo rollouts
of the generator; on our 2-core CPU budget that is out of reach (dozens of full GPT rollouts per
token of every training sequence). So the discriminator is kept and the policy gradient is not:
the critic is trained adversarially at the *data* level (real corpus vs the generator's
samples), and then used as a realism score to rerank or filter best-of-N candidates, in the
spirit of discriminator rejection sampling (Azadi et al., 2019). The adversarial rounds
(generate → train critic → rerank → retrain on the harder samples) live with the caller;
`train_critic(..., init=previous)` fine-tunes last round's critic on the new samples.

What the critic sees: only the REMI body of a piece (`Bar`, `TimeSig`, `Position`, `Pitch`,
`Velocity`, `Duration`). `BOS`, `PAD`, the five conditioning tokens and everything from `EOS` on
are dropped, using the tokenizer's vocabulary, so the critic judges the music and cannot learn
that the generator is prompted with a different mix of conditions than the corpus has. Bodies
longer than `max_len` are cropped: at a random `Bar` while training, from the start when scoring.

The network, a SeqGAN-like 1-D CNN, small enough for numpy at generation time:
embedding (vocab → E) → conv1d k=5 (E → C) → ReLU → conv1d k=5, dilation 2 (C → C) → ReLU →
[mean-pool ‖ max-pool] over the body's positions → linear → one logit, "real". Convolutions
use "same" padding and every layer's output is re-masked, so a sequence scores the same alone
or in a batch with longer ones.

Training uses torch (imported inside the training functions: the default install has no torch);
scoring (`Critic.score`, `Critic.logits`) is numpy only. Weights are saved as float32
safetensors plus a JSON config; nothing is pickled.

An empty body (no tokens, or only header/special tokens) gets logit −inf, i.e. P(real) = 0.0:
the corpus has no empty pieces, and a candidate with no music must never win a rerank.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors
from threadpoolctl import ThreadpoolController

from soundstage.fileio import write_bytes_atomic

if TYPE_CHECKING:
    from soundstage.music.tokens import MusicTokenizer

# Token kinds that are not music: specials plus `tokens.CONDITION_TYPES` (not imported, since
# `soundstage.music.tokens` needs miditok, which scoring must not).
HEADER_KINDS = ("PAD", "BOS", "EOS", "Style", "Mode", "Tempo", "Density", "Emotion")
WEIGHTS_FILE = "critic.safetensors"
CONFIG_FILE = "critic.json"
FORMAT = "soundstage-music-critic/1"

Vocab = Mapping[str, int]
IdsList = Sequence[Sequence[int] | np.ndarray]


@dataclass(frozen=True)
class CriticConfig:
    """Architecture plus the few vocabulary facts needed to strip a token stream to its body."""

    vocab_size: int
    eos_id: int
    bar_id: int
    header_ids: tuple[int, ...]
    embed: int = 32
    channels: int = 64
    kernel: int = 5
    dilation: int = 2
    max_len: int = 512

    @classmethod
    def from_vocab(cls, vocab: Vocab | MusicTokenizer, **arch: int) -> CriticConfig:
        names = _vocab_dict(vocab)
        for needed in ("EOS_None", "Bar_None"):
            if needed not in names:
                raise ValueError(f"vocabulary has no {needed} token")
        header = sorted(i for t, i in names.items() if t.partition("_")[0] in HEADER_KINDS)
        return cls(
            vocab_size=max(names.values()) + 1,
            eos_id=names["EOS_None"],
            bar_id=names["Bar_None"],
            header_ids=tuple(header),
            **arch,
        )

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "header_ids": list(self.header_ids)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CriticConfig:
        return cls(**{**data, "header_ids": tuple(int(i) for i in data["header_ids"])})

    def same_vocab(self, other: CriticConfig) -> bool:
        keys = ("vocab_size", "eos_id", "bar_id", "header_ids")
        return all(getattr(self, k) == getattr(other, k) for k in keys)


def _vocab_dict(vocab: Vocab | MusicTokenizer) -> dict[str, int]:
    table = vocab if isinstance(vocab, Mapping) else vocab.vocab
    return {str(t): int(i) for t, i in table.items()}


# --- token streams -----------------------------------------------------------------------------


def body_ids(ids: Sequence[int] | np.ndarray, config: CriticConfig) -> np.ndarray:
    """The musical tokens of one stream: cut at the first EOS, drop header/special/unknown ids."""
    a = np.asarray(ids, dtype=np.int64).reshape(-1)
    eos = np.flatnonzero(a == config.eos_id)
    if eos.size:
        a = a[: eos[0]]
    a = a[(a >= 0) & (a < config.vocab_size)]
    return a[~np.isin(a, config.header_ids)]


def crop(body: np.ndarray, config: CriticConfig, rng: np.random.Generator | None) -> np.ndarray:
    """At most `max_len` tokens: from the start, or (with `rng`) from a random Bar (anywhere if
    no Bar leaves room for a full window)."""
    if body.size <= config.max_len:
        return body
    if rng is None:
        return body[: config.max_len]
    last = body.size - config.max_len
    starts = np.flatnonzero(body[: last + 1] == config.bar_id)
    start = int(rng.choice(starts)) if starts.size else int(rng.integers(0, last + 1))
    return body[start : start + config.max_len]


def pad_batch(bodies: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(ids, mask), both (batch, longest); padding is id 0 with mask False."""
    width = max([1, *(b.size for b in bodies)])
    ids = np.zeros((len(bodies), width), dtype=np.int64)
    mask = np.zeros((len(bodies), width), dtype=bool)
    for row, body in enumerate(bodies):
        ids[row, : body.size] = body
        mask[row, : body.size] = True
    return ids, mask


# --- numpy inference ---------------------------------------------------------------------------


def _conv1d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, dilation: int) -> np.ndarray:
    """'Same' 1-D convolution of x (batch, time, in) with a torch-layout (out, in, k) weight."""
    out_ch, in_ch, k = weight.shape
    span = dilation * (k - 1) + 1
    half = (span - 1) // 2
    padded = np.pad(x, ((0, 0), (half, span - 1 - half), (0, 0)))
    windows = sliding_window_view(padded, span, axis=1)[..., ::dilation]  # (B, T, in, k)
    cols = windows.reshape(-1, in_ch * k)
    out = cols @ weight.reshape(out_ch, in_ch * k).T + bias
    return out.reshape(x.shape[0], x.shape[1], out_ch)


@functools.cache
def _blas() -> ThreadpoolController:
    """Scoring is a few mid-sized matmuls: under CPU contention OpenBLAS's spinning threads make
    them several times slower than one thread, so score on one (as `backends.embedded` does)."""
    return ThreadpoolController()


def _embed_conv1(
    taps: np.ndarray, bias: np.ndarray, ids: np.ndarray, mask: np.ndarray
) -> np.ndarray:
    """'Same' conv1 of the embedded ids: im2col on the ids, then one table lookup per tap.

    Equal to `_conv1d(embed[ids] * mask, ...)`, about twice as fast (no (B·T, E·k) matmul).
    """
    k, pad_id = taps.shape[0], taps.shape[1] - 1
    half = (k - 1) // 2
    padded = np.pad(
        np.where(mask, ids, pad_id), ((0, 0), (half, k - 1 - half)), constant_values=pad_id
    )
    cols = sliding_window_view(padded, k, axis=1)  # (B, T, k)
    out = taps[0][cols[..., 0]] + bias
    for j in range(1, k):
        out += taps[j][cols[..., j]]
    return out


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z.astype(np.float64)))


@dataclass(frozen=True, eq=False)
class Critic:
    """The trained discriminator in numpy: `score(ids_list)` → P(real) per sequence."""

    config: CriticConfig
    weights: dict[str, np.ndarray]
    metrics: dict[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def _taps(self) -> np.ndarray:
        """Embedding folded into conv1: taps[j, v] = W1[:, :, j] @ embed[v]; row V (padding) = 0."""
        emb = self.weights["embed.weight"]
        emb = np.vstack([emb, np.zeros((1, emb.shape[1]), dtype=emb.dtype)])
        taps = np.einsum("ve,cek->kvc", emb, self.weights["conv1.weight"])
        return np.ascontiguousarray(taps, dtype=np.float32)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w, cfg = self.weights, self.config
        m = mask[..., None].astype(np.float32)
        h = np.maximum(_embed_conv1(self._taps, w["conv1.bias"], ids, mask), 0.0) * m
        h = np.maximum(_conv1d(h, w["conv2.weight"], w["conv2.bias"], cfg.dilation), 0.0) * m
        # After ReLU every value is >= 0, so the zeroed padding never wins the max.
        lengths = np.maximum(m.sum(axis=1), 1.0)
        feats = np.concatenate([h.sum(axis=1) / lengths, h.max(axis=1)], axis=1)
        logits: np.ndarray = feats @ w["head.weight"][0] + w["head.bias"][0]
        return logits

    def logits(self, ids_list: IdsList, *, batch_size: int = 64) -> np.ndarray:
        """Raw "real" logits (float32); −inf for an empty body. Use these to rank: no saturation."""
        bodies = [crop(body_ids(ids, self.config), self.config, None) for ids in ids_list]
        out = np.full(len(bodies), -np.inf, dtype=np.float32)
        order = [i for i in np.argsort([b.size for b in bodies], kind="stable") if bodies[i].size]
        with _blas().limit(limits=1, user_api="blas"):
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                out[rows] = self._forward(*pad_batch([bodies[i] for i in rows]))
        return out

    def score(self, ids_list: IdsList, *, batch_size: int = 64) -> np.ndarray:
        """P(real) per sequence (float64); 0.0 for an empty body."""
        return _sigmoid(self.logits(ids_list, batch_size=batch_size))

    def save(self, directory: Path | str) -> list[Path]:
        """Write critic.safetensors (float32) and critic.json, each atomically."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        tensors = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in self.weights.items()}
        blob = save_safetensors(tensors, metadata={"format": FORMAT})
        meta = {"format": FORMAT, "config": self.config.to_json(), "metrics": self.metrics}
        text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
        write_bytes_atomic(out / WEIGHTS_FILE, blob)
        write_bytes_atomic(out / CONFIG_FILE, text.encode("utf-8"))
        return [out / WEIGHTS_FILE, out / CONFIG_FILE]

    @classmethod
    def load(cls, directory: Path | str) -> Critic:
        src = Path(directory)
        meta = json.loads((src / CONFIG_FILE).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{src / CONFIG_FILE}: not a {FORMAT} file")
        config = CriticConfig.from_json(meta["config"])
        weights = load_safetensors((src / WEIGHTS_FILE).read_bytes())
        _check_shapes(config, weights)
        return cls(config, weights, meta.get("metrics", {}))


def weight_shapes(config: CriticConfig) -> dict[str, tuple[int, ...]]:
    e, c, k = config.embed, config.channels, config.kernel
    return {
        "embed.weight": (config.vocab_size, e),
        "conv1.weight": (c, e, k),
        "conv1.bias": (c,),
        "conv2.weight": (c, c, k),
        "conv2.bias": (c,),
        "head.weight": (1, 2 * c),
        "head.bias": (1,),
    }


def _check_shapes(config: CriticConfig, weights: Mapping[str, np.ndarray]) -> None:
    found = {k: tuple(v.shape) for k, v in weights.items()}
    if found != weight_shapes(config):
        raise ValueError(f"critic weights {found} do not match the config's shapes")


# --- metrics -----------------------------------------------------------------------------------


def roc_auc(real: np.ndarray, fake: np.ndarray) -> float:
    """P(score of a real > score of a fake), ties counting ½ (Mann–Whitney U from mean ranks)."""
    if real.size == 0 or fake.size == 0:
        return float("nan")
    both = np.concatenate([real, fake]).astype(np.float64)
    values, inverse, counts = np.unique(both, return_inverse=True, return_counts=True)
    mean_rank = np.cumsum(counts) - (counts - 1) / 2.0  # 1-based average rank per distinct value
    rank_sum = mean_rank[inverse[: real.size]].sum()
    return float((rank_sum - real.size * (real.size + 1) / 2.0) / (real.size * fake.size))


def evaluate(critic: Critic, real: IdsList, fake: IdsList) -> dict[str, float]:
    """AUC, accuracy and class-balanced accuracy (threshold P = 0.5) of `critic` on the data."""
    pr, pf = critic.score(real), critic.score(fake)
    hits_r, hits_f = (pr > 0.5).sum(), (pf <= 0.5).sum()
    acc_r = hits_r / max(pr.size, 1)
    acc_f = hits_f / max(pf.size, 1)
    return {
        "auc": roc_auc(pr, pf),
        "accuracy": float((hits_r + hits_f) / max(pr.size + pf.size, 1)),
        "balanced_accuracy": float((acc_r + acc_f) / 2.0),
    }


# --- torch training ----------------------------------------------------------------------------


def to_torch(config: CriticConfig, weights: Mapping[str, np.ndarray] | None = None) -> Any:
    """The same network as a torch `nn.ModuleDict` (fresh, or loaded from numpy weights)."""
    import torch
    from torch import nn

    e, c, k, d = config.embed, config.channels, config.kernel, config.dilation
    model = nn.ModuleDict(
        {
            "embed": nn.Embedding(config.vocab_size, e),
            "conv1": nn.Conv1d(e, c, k, padding=(k - 1) // 2),
            "conv2": nn.Conv1d(c, c, k, padding=d * (k - 1) // 2, dilation=d),
            "head": nn.Linear(2 * c, 1),
        }
    )
    if weights is not None:
        _check_shapes(config, weights)
        model.load_state_dict({n: torch.from_numpy(np.array(v)) for n, v in weights.items()})
    return model


def torch_logits(model: Any, ids: Any, mask: Any, dropout: float = 0.0) -> Any:
    """Logits (batch,) from padded (batch, time) long ids and bool mask tensors.

    `dropout` (training only) drops embedding and pooled-feature units; scoring uses none.
    """
    import torch
    from torch.nn.functional import dropout as drop

    m = mask.unsqueeze(1).float()  # (B, 1, T)
    h = drop(model["embed"](ids), dropout, training=dropout > 0).transpose(1, 2) * m
    h = torch.relu(model["conv1"](h)) * m
    h = torch.relu(model["conv2"](h)) * m
    feats = torch.cat([h.sum(2) / m.sum(2).clamp(min=1.0), h.amax(2)], dim=1)
    feats = drop(feats, dropout, training=dropout > 0)
    return model["head"](feats).squeeze(1)


def torch_score(critic: Critic, ids_list: IdsList) -> np.ndarray:
    """`Critic.score` computed by torch: a reference for the numpy path."""
    import torch

    model = to_torch(critic.config, critic.weights).eval()
    bodies = [crop(body_ids(ids, critic.config), critic.config, None) for ids in ids_list]
    ids, mask = pad_batch(bodies)
    with torch.no_grad():
        logits = torch_logits(model, torch.from_numpy(ids), torch.from_numpy(mask)).double()
    empty = torch.from_numpy(~mask.any(axis=1))
    return torch.sigmoid(logits).masked_fill(empty, 0.0).numpy()


def to_numpy(model: Any, config: CriticConfig, metrics: dict[str, Any] | None = None) -> Critic:
    state = {n: t.detach().cpu().float().numpy().copy() for n, t in model.state_dict().items()}
    return Critic(config, state, dict(metrics or {}))


@dataclass
class _Data:
    train: list[np.ndarray]
    train_y: np.ndarray
    held: list[np.ndarray]
    held_y: np.ndarray
    empty: dict[str, int]


def _split(
    real: IdsList, fake: IdsList, config: CriticConfig, rng: np.random.Generator, holdout: float
) -> _Data:
    """Per-class (stratified) held-out split of the non-empty bodies."""
    train: list[np.ndarray] = []
    held: list[np.ndarray] = []
    train_y: list[float] = []
    held_y: list[float] = []
    empty: dict[str, int] = {}
    for name, label, seqs in (("real", 1.0, real), ("fake", 0.0, fake)):
        bodies = [b for b in (body_ids(s, config) for s in seqs) if b.size]
        empty[name] = len(seqs) - len(bodies)
        if len(bodies) < 2:
            raise ValueError(f"need at least 2 non-empty {name} sequences, got {len(bodies)}")
        order = rng.permutation(len(bodies))
        n_held = min(max(1, round(holdout * len(bodies))), len(bodies) - 1)
        held += [bodies[i] for i in order[:n_held]]
        train += [bodies[i] for i in order[n_held:]]
        held_y += [label] * n_held
        train_y += [label] * (len(bodies) - n_held)
    return _Data(train, np.array(train_y), held, np.array(held_y), empty)


def _balanced_weights(y: np.ndarray) -> np.ndarray:
    """1 / (count of the sample's class): each class carries the same total weight."""
    n_real, n_fake = max(int(y.sum()), 1), max(int((1 - y).sum()), 1)
    return np.where(y > 0.5, 1.0 / n_real, 1.0 / n_fake).astype(np.float32)


def _batch_loss(
    model: Any, bodies: list[np.ndarray], y: np.ndarray, w: np.ndarray, dropout: float = 0.0
) -> Any:
    import torch
    from torch.nn.functional import binary_cross_entropy_with_logits

    ids, mask = pad_batch(bodies)
    logits = torch_logits(model, torch.from_numpy(ids), torch.from_numpy(mask), dropout)
    target, weight = torch.from_numpy(y.astype(np.float32)), torch.from_numpy(w)
    losses = binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (losses * weight).sum() / weight.sum()


def _heldout_loss(model: Any, data: _Data, config: CriticConfig, batch_size: int) -> float:
    """Class-balanced BCE on the held-out bodies, cropped as for scoring."""
    import torch

    model.eval()
    weights = _balanced_weights(data.held_y)
    total = 0.0
    with torch.no_grad():
        for s in range(0, len(data.held), batch_size):
            bodies = [crop(b, config, None) for b in data.held[s : s + batch_size]]
            ws = weights[s : s + batch_size]
            loss = _batch_loss(model, bodies, data.held_y[s : s + batch_size], ws)
            total += float(loss) * float(ws.sum())
    return total / float(weights.sum())


def _train_epoch(
    model: Any,
    opt: Any,
    data: _Data,
    config: CriticConfig,
    rng: np.random.Generator,
    batch: int,
    dropout: float,
) -> float:
    model.train()
    weights = _balanced_weights(data.train_y)
    order = rng.permutation(len(data.train))
    total = 0.0
    for s in range(0, len(order), batch):
        rows = order[s : s + batch]
        bodies = [crop(data.train[i], config, rng) for i in rows]
        loss = _batch_loss(model, bodies, data.train_y[rows], weights[rows], dropout)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * float(weights[rows].sum())
    return total / float(weights.sum())


def train_critic(
    real: IdsList,
    fake: IdsList,
    vocab: Vocab | MusicTokenizer,
    *,
    epochs: int = 40,
    seed: int = 0,
    init: Critic | None = None,
    log: Callable[[str], object] = print,
    max_len: int = 512,
    embed: int = 32,
    channels: int = 64,
    batch_size: int = 16,
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    dropout: float = 0.2,
    patience: int = 6,
    holdout: float = 0.2,
    threads: int | None = None,
) -> tuple[Critic, dict[str, Any]]:
    """Train real (label 1) vs fake (label 0) on token-id lists; return the critic and metrics.

    A stratified `holdout` share of each class is held out; the loss weighs both classes
    equally; Adam; the weights with the lowest held-out loss are kept, and training stops after
    `patience` epochs without improvement. With `init` (e.g. last round's critic) training starts
    from its weights and architecture (`max_len`, `embed`, `channels` are then ignored), and the
    starting point itself is a candidate (epoch 0), so `epochs=0` returns `init`'s weights.
    Metrics (`auc`, `accuracy`, `balanced_accuracy` at P = 0.5) are measured on the held-out
    split by the returned numpy critic.
    """
    import torch

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    config = _config_for(vocab, init, max_len=max_len, embed=embed, channels=channels)
    data = _split(real, fake, config, rng, holdout)
    model = to_torch(config, init.weights if init is not None else None)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    started = time.perf_counter()
    best_loss = _heldout_loss(model, data, config, batch_size)
    best_epoch, best_state = 0, _snapshot(model)
    log(f"critic epoch 0: held-out loss {best_loss:.4f}")
    ran = 0
    for epoch in range(1, epochs + 1):
        ran = epoch
        train_loss = _train_epoch(model, opt, data, config, rng, batch_size, dropout)
        loss = _heldout_loss(model, data, config, batch_size)
        log(f"critic epoch {epoch}: train loss {train_loss:.4f}, held-out loss {loss:.4f}")
        if loss < best_loss - 1e-6:
            best_loss, best_epoch, best_state = loss, epoch, _snapshot(model)
        elif epoch - best_epoch >= patience:
            break
    model.load_state_dict(best_state)
    critic = to_numpy(model, config)
    metrics = {
        **evaluate(critic, _of(data, 1.0), _of(data, 0.0)),
        "heldout_loss": best_loss,
        "best_epoch": best_epoch,
        "epochs_run": ran,
        "seconds": round(time.perf_counter() - started, 3),
        "seed": seed,
        "init": init is not None,
        "lr": lr,
        "batch_size": batch_size,
        "dropout": dropout,
        **_counts(data),
    }
    log(f"critic: held-out AUC {metrics['auc']:.3f}, accuracy {metrics['accuracy']:.3f}")
    return Critic(config, critic.weights, metrics), metrics


def _config_for(vocab: Vocab | MusicTokenizer, init: Critic | None, **arch: int) -> CriticConfig:
    config = CriticConfig.from_vocab(vocab, **arch)
    if init is None:
        return config
    if not init.config.same_vocab(config):
        raise ValueError("init critic was trained with a different vocabulary")
    return init.config


def _snapshot(model: Any) -> dict[str, Any]:
    return {n: t.detach().clone() for n, t in model.state_dict().items()}


def _of(data: _Data, label: float) -> list[np.ndarray]:
    return [b for b, y in zip(data.held, data.held_y, strict=True) if y == label]


def _counts(data: _Data) -> dict[str, int]:
    n_train_real, n_held_real = int(data.train_y.sum()), int(data.held_y.sum())
    n_train_fake, n_held_fake = len(data.train) - n_train_real, len(data.held) - n_held_real
    return {
        "n_real": n_train_real + n_held_real,
        "n_fake": n_train_fake + n_held_fake,
        "n_train_real": n_train_real,
        "n_train_fake": n_train_fake,
        "n_heldout_real": n_held_real,
        "n_heldout_fake": n_held_fake,
        "n_empty_real": data.empty["real"],
        "n_empty_fake": data.empty["fake"],
    }
