"""Fine-tune MiniLM's top layers on every source at once (issue #17; an experiment, not shipped).

    python -m soundstage.moderate.pooled_train --data ../shared/data/mod --out runs/pooled

The shipped embed tier (`embed_train`) fine-tunes on OLID alone and scores 0.852 on OLID test;
it does not carry over to other platforms. This trains the same architecture (MiniLM's bottom
layers frozen, the top `top_layers` layers and an MLP head trained) on the pooled sources of
`soundstage.moderate.sources` plus the functional suite's train half (and, by default, two
identity sources: counterfactual swaps and neutral statements, `identity_sources`), with
two heads:

- ``toxicity``: the shared `unacceptable` label of every source;
- ``identity_attack``: the `hate` label where a source has one (OLID C = GRP, Davidson hate,
  Stormfront hate), masked elsewhere.

Each source (and the suite's train half) weighs the same in the loss whatever its size;
missing labels are masked out of the loss. Held out of training, for evaluation only: OLID
test A, Stormfront's balanced test sample, the suite's test half, and madlibs (so its BPSN
AUCs stay a held-out figure). 10% of every training source is a dev split: early stopping on
the sources' mean dev AUC, and the thresholds are the dev split's macro-F1 optimum, never the
test sets'. The result is written to `--out` as ``head.npz`` + ``encoder.safetensors`` +
``config.json`` (no pickle) and evaluated by `benchmarks/mod_pooled.py`.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Pooled", "PooledConfig", "load_pooled", "pooled_data", "score_pooled", "train_pooled"]

CATEGORIES = ("toxicity", "identity_attack")
TRAIN_SOURCES = ("olid", "davidson", "wikipedia", "stormfront")


@dataclass(frozen=True)
class PooledConfig:
    top_layers: int = 2
    max_length: int = 64
    epochs: int = 2
    lr: float = 4e-5
    head_lr: float = 1e-3
    batch_size: int = 32
    hidden: int = 256
    dropout: float = 0.1
    weight_decay: float = 1e-2
    evals_per_epoch: int = 3
    dev_fraction: float = 0.1
    functional: bool = True  # the suite's train half as one more source
    augment: bool = True  # identity swaps and neutral identity statements, two more sources
    seed: int = 13


@dataclass
class Pooled:
    """Training texts with labels (NaN = not labelled), their source and weight."""

    texts: list[str]
    labels: NDArray[np.float32]  # (n, len(CATEGORIES))
    source: NDArray[np.str_]
    weight: NDArray[np.float32]  # every source sums to the same total


def pooled_data(data_dir: Path, functional: bool = True, augment: bool = False) -> Pooled:
    """The training sources (their own test splits left out), the suite's train half, and
    with `augment` two identity sources (see `identity_sources`)."""
    from soundstage.moderate.functional import cases
    from soundstage.moderate.sources import read_source

    texts: list[str] = []
    labels: list[NDArray[np.float32]] = []
    names: list[str] = []
    for name in TRAIN_SOURCES:
        s = read_source(name, data_dir)
        keep = s.split != "test"
        hate = np.where(s.hate[keep] < 0, np.nan, s.hate[keep]).astype(np.float32)
        labels.append(np.stack([s.unacceptable[keep].astype(np.float32), hate], axis=1))
        texts += [t for t, k in zip(s.texts, keep, strict=True) if k]
        names += [name] * int(keep.sum())
    if functional:
        suite = cases("train")
        texts += [c.text for c in suite]
        flag = np.array([c.label for c in suite], dtype=np.float32)
        labels.append(np.stack([flag, np.full(flag.size, np.nan, np.float32)], axis=1))
        names += ["functional"] * len(suite)
    if augment:
        for name, (more, more_labels) in identity_sources(texts, np.concatenate(labels)).items():
            texts += more
            labels.append(more_labels)
            names += [name] * len(more)
    source = np.array(names)
    weight = np.zeros(source.size, dtype=np.float32)
    for name in np.unique(source):
        weight[source == name] = 1.0 / (source == name).sum()
    weight *= weight.size / weight.sum()
    return Pooled(texts, np.concatenate(labels), source, weight)


def identity_sources(
    texts: list[str], labels: NDArray[np.float32], seed: int = 13
) -> dict[str, tuple[list[str], NDArray[np.float32]]]:
    """Counterfactual identity data (Dixon et al. 2018; Garg et al. 2019), as two sources:

    - ``identity-swaps``: every training text naming an identity term, with each term swapped
      for another of its axis ("gay" → "straight", "muslim" → "catholic") and the same labels:
      hate stays hate whoever it names, so the term itself stops being the evidence;
    - ``identity-neutral``: neutral statements naming every term (`train.NEUTRAL_TEMPLATES`),
      acceptable and not hate.
    """
    import random

    from soundstage.moderate.train import AXIS_OF, IDENTITY_AXES, IDENTITY_RE, NEUTRAL_TEMPLATES

    rng = random.Random(seed)

    def swap(m: re.Match[str]) -> str:
        axis = IDENTITY_AXES[AXIS_OF[m.group()]]
        return rng.choice([t for t in axis if t != m.group()])

    swapped, rows = [], []
    for i, text in enumerate(texts):
        lower = text.lower()
        if IDENTITY_RE.search(lower):
            swapped.append(IDENTITY_RE.sub(swap, lower))
            rows.append(i)
    neutral = [
        template.format(term, term)
        for axis in IDENTITY_AXES
        for term in axis
        for template in NEUTRAL_TEMPLATES
    ]
    zeros = np.zeros((len(neutral), len(CATEGORIES)), dtype=np.float32)
    return {
        "identity-swaps": (swapped, labels[np.array(rows, dtype=np.int64)]),
        "identity-neutral": (neutral, zeros),
    }


def _dev_split(source: NDArray[np.str_], fraction: float, seed: int) -> NDArray[np.bool_]:
    rng = np.random.default_rng(seed)
    return rng.random(source.size) < fraction


def _mean_source_auc(z: NDArray[np.float64], data: Pooled, rows: NDArray[np.int64]) -> float:
    """Mean over sources of the toxicity head's dev AUC (every source counts the same)."""
    from soundstage.moderate.bias import roc_auc

    aucs = []
    for name in np.unique(data.source[rows]):
        sel = data.source[rows] == name
        y = data.labels[rows][sel, 0]
        if 0 < y.sum() < y.size:
            aucs.append(roc_auc(y > 0.5, z[sel, 0]))
    return float(np.mean(aucs)) if aucs else 0.5


def train_pooled(
    data_dir: Path,
    out_dir: Path,
    config: PooledConfig | None = None,
    limit: int | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Fine-tune, early-stop on the dev split, calibrate thresholds on it, save to `out_dir`."""
    import torch

    from soundstage.moderate.embed_tier import base_encoder, prepare
    from soundstage.moderate.embed_train import (
        FineTuneConfig,
        TopLayers,
        encode_states,
        length_batches,
        optimiser,
    )
    from soundstage.moderate.normalise import normalise

    config = config or PooledConfig()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    data = pooled_data(data_dir, config.functional, config.augment)
    if limit is not None:  # tests: a few rows of every source
        keep = np.concatenate(
            [np.flatnonzero(data.source == s)[:limit] for s in np.unique(data.source)]
        )
        data = Pooled(
            [data.texts[i] for i in keep], data.labels[keep], data.source[keep], data.weight[keep]
        )
    is_dev = _dev_split(data.source, config.dev_fraction, config.seed)
    tr, dev = np.flatnonzero(~is_dev), np.flatnonzero(is_dev)
    bert = base_encoder()[0].auto_model
    top = TopLayers(
        bert,
        FineTuneConfig(top_layers=config.top_layers, hidden=config.hidden, dropout=config.dropout),
        len(CATEGORIES),
    )
    prepared = [prepare(normalise(t).text) for t in data.texts]
    states, mask = encode_states(prepared, config.max_length, min(top.layer_idx), log)
    lens = mask.sum(1)

    def logits(rows: NDArray[np.int64]) -> NDArray[np.float64]:
        v = top.vectors(states, mask, rows)
        with torch.inference_mode():
            return top.head(torch.from_numpy(v)).numpy().astype(np.float64)

    labels = torch.from_numpy(np.nan_to_num(data.labels, nan=0.0))
    known = torch.from_numpy(~np.isnan(data.labels)).float()
    weight = torch.from_numpy(data.weight)
    n_batches = int(np.ceil(tr.size / config.batch_size))
    opt, sched = optimiser(top, config.lr, config.head_lr, config.weight_decay,
                           n_batches * config.epochs)  # fmt: skip
    every = max(1, n_batches // config.evals_per_epoch)
    best = (-1.0, top.snapshot(), "start")
    params = [*top.layers.parameters(), *top.head.parameters()]
    bce = torch.nn.BCEWithLogitsLoss(reduction="none")
    started = time.perf_counter()
    for epoch in range(config.epochs):
        for i, batch in enumerate(length_batches(tr, lens, config.batch_size, rng)):
            top.train(True)
            opt.zero_grad()
            z = top.head(top.pooled(states, mask, batch))
            b = torch.from_numpy(batch)
            w = known[b] * weight[b, None]
            loss = (bce(z, labels[b]) * w).sum() / w.sum().clamp(min=1e-6)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            if (i + 1) % every == 0 or i + 1 == n_batches:
                auc = _mean_source_auc(logits(dev), data, dev)
                log(f"epoch {epoch + 1} batch {i + 1}/{n_batches}: mean source dev AUC {auc:.4f}")
                if auc > best[0]:
                    best = (auc, top.snapshot(), f"{epoch + 1}:{i + 1}")
    top.layers.load_state_dict(best[1][0])
    top.head.load_state_dict(best[1][1])
    log(
        f"kept {best[2]} (mean source dev AUC {best[0]:.4f}); {time.perf_counter() - started:.0f} s"
    )
    thresholds = _thresholds(logits(dev), data.labels[dev])
    meta = {
        "name": "moderation-pooled (experiment)",
        "categories": list(CATEGORIES),
        "thresholds": thresholds,
        "layers": top.layer_idx,
        "kept": best[2],
        "dev_auc": best[0],
        "rows": {str(s): int((data.source[tr] == s).sum()) for s in np.unique(data.source)},
        "config": asdict(config),
        "base": "sentence-transformers/all-MiniLM-L6-v2",
    }
    _save(out_dir, top, meta)
    log(f"saved {out_dir}")
    return meta


def _thresholds(z: NDArray[np.float64], labels: NDArray[np.float32]) -> dict[str, float]:
    """Each head's dev macro-F1 threshold, on the logit scale."""
    from soundstage.moderate.embed_fit import best_threshold

    out = {}
    for j, cat in enumerate(CATEGORIES):
        ok = ~np.isnan(labels[:, j])
        out[cat] = best_threshold(labels[ok, j] > 0.5, z[ok, j])[0]
    return out


def _save(out_dir: Path, top: Any, meta: dict[str, Any]) -> None:
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    layers = {
        f"layer.{top.layer_idx[int(k.split('.', 1)[0])]}.{k.split('.', 1)[1]}": v.contiguous()
        for k, v in top.layers.state_dict().items()
    }
    head = {f"head.{k}": v.contiguous() for k, v in top.head.state_dict().items()}
    save_file({**layers, **head}, str(out_dir / "model.safetensors"))
    (out_dir / "config.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")


def load_pooled(out_dir: Path) -> tuple[Any, dict[str, Any]]:
    """(TopLayers with the saved weights, config) for scoring."""
    from safetensors.torch import load_file

    from soundstage.moderate.embed_tier import base_encoder
    from soundstage.moderate.embed_train import FineTuneConfig, TopLayers

    meta = json.loads((out_dir / "config.json").read_text(encoding="utf-8"))
    cfg = meta["config"]
    bert = base_encoder()[0].auto_model
    top = TopLayers(
        bert, FineTuneConfig(top_layers=cfg["top_layers"], hidden=cfg["hidden"]), len(CATEGORIES)
    )
    tensors = load_file(str(out_dir / "model.safetensors"))
    top.layers.load_state_dict(
        {
            f"{top.layer_idx.index(int(k.split('.')[1]))}.{k.split('.', 2)[2]}": v
            for k, v in tensors.items()
            if k.startswith("layer.")
        }
    )
    top.head.load_state_dict({k[5:]: v for k, v in tensors.items() if k.startswith("head.")})
    top.train(False)
    return top, meta


def score_pooled(top: Any, meta: dict[str, Any], texts: Sequence[str]) -> NDArray[np.float64]:
    """(n, len(CATEGORIES)) logits for raw texts."""
    import torch

    from soundstage.moderate.embed_tier import (
        base_encoder,
        bottom_states,
        prepare,
        tokenize,
        top_pool,
    )
    from soundstage.moderate.normalise import normalise

    st = base_encoder()
    bert = st[0].auto_model
    prepared = [prepare(normalise(t).text) for t in texts]
    ids, mask = tokenize(st.tokenizer, prepared, meta["config"]["max_length"])
    out = np.zeros((len(texts), len(CATEGORIES)))
    lens = mask.sum(1).numpy()
    order = np.argsort(lens, kind="stable")
    with torch.inference_mode():
        for start in range(0, len(texts), 64):
            idx = torch.from_numpy(order[start : start + 64])
            n = int(lens[idx.numpy()].max())
            h = bottom_states(bert, ids[idx, :n], mask[idx, :n], min(top.layer_idx))
            v = top_pool(top.layers, h, mask[idx, :n])
            out[idx.numpy()] = top.head(v).numpy()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--epochs", type=int, default=PooledConfig.epochs)
    ap.add_argument("--limit", type=int, help="rows per source (smoke runs)")
    ap.add_argument("--no-functional", action="store_true")
    ap.add_argument("--no-augment", action="store_true", help="no identity swaps or statements")
    args = ap.parse_args(argv)
    config = PooledConfig(
        epochs=args.epochs, functional=not args.no_functional, augment=not args.no_augment
    )
    train_pooled(args.data, args.out, config, limit=args.limit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
