"""Train the symbolic music model: a small GPT over REMI + conditioning tokens.

    python -m soundstage.music.prepare --out runs/music_data
    python -m soundstage.music.train --config configs/music_cpu.toml --data runs/music_data \
        --out soundstage/models/music-remi

Same transformer and runtime as the dialogue model (`soundstage.lm`), so the numpy decoder with
its key/value cache serves both. What differs is how windows are drawn:

- **Never across a piece boundary.** Each window lies inside one piece (`*_offsets.npy`); short
  pieces are padded and the padding is ignored by the loss (target −100).
- **Every window starts with its piece's header** (`BOS Style Mode Tempo Density Emotion`),
  then a stretch of the piece that begins on a `Bar`. The conditioning tokens are therefore in
  context for every prediction, which is what lets generation steer a long cue phrase by phrase.
- **Quadrant-balanced sampling.** The corpus is mostly major dance tunes (Q1); pieces are drawn
  with weight ∝ tokens / √(pieces in their quadrant), so sad and calm pieces are seen more often
  than their share without repeating a handful of them to death.

Validation uses fixed windows (each val piece cut into consecutive header + chunk windows, up to
`max_val_windows`), so the number is comparable between runs; the best weights are kept.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from soundstage.datasets import check_sources
from soundstage.errors import SoundstageError
from soundstage.lm.config import Recipe, load_recipe
from soundstage.lm.model import GPT
from soundstage.lm.train import (
    BestKeeper,
    autocast,
    lr_at,
    pick_device,
    run_summary,
    save_model_dir,
    train_step,
)

HEADER = 6  # BOS + five conditioning tokens
IGNORE = -100


@dataclass(frozen=True)
class Split:
    """A split's token ids and its pieces, with the ids of `Bar` tokens for window starts."""

    ids: np.ndarray
    offsets: np.ndarray
    pad: int
    bar: int

    @property
    def pieces(self) -> int:
        return len(self.offsets) - 1

    def piece(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i] : self.offsets[i + 1]]


def load_split(data_dir: Path, part: str) -> Split:
    from soundstage.music.tokens import MusicTokenizer

    vocab = MusicTokenizer.load(data_dir / "tokenizer.json").vocab
    return Split(
        ids=np.load(data_dir / f"{part}.npy").astype(np.int64),
        offsets=np.load(data_dir / f"{part}_offsets.npy"),
        pad=int(vocab["PAD_None"]),
        bar=int(vocab["Bar_None"]),
    )


def window(split: Split, i: int, start: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of length `block` for piece i: header + body from `start`, padded, no crossing."""
    piece = split.piece(i)
    seq = np.concatenate([piece[:HEADER], piece[HEADER + start :]])[: block + 1]
    x = np.full(block, split.pad, dtype=np.int64)
    y = np.full(block, IGNORE, dtype=np.int64)
    x[: len(seq) - 1] = seq[:-1]
    y[: len(seq) - 1] = seq[1:]
    return x, y


class Sampler:
    """Draws training windows: piece by balanced weight, then a bar-aligned start inside it."""

    def __init__(self, split: Split, quadrant_ids: np.ndarray, block: int, seed: int) -> None:
        self.split, self.block = split, block
        self.gen = np.random.default_rng(seed)
        lengths = np.diff(split.offsets).astype(np.float64)
        _, inverse, counts = np.unique(quadrant_ids, return_inverse=True, return_counts=True)
        weights = lengths / np.sqrt(counts[inverse])
        self.p = weights / weights.sum()
        self.bars = [
            np.flatnonzero(split.piece(i)[HEADER:] == split.bar) for i in range(split.pieces)
        ]

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = [], []
        for i in self.gen.choice(self.split.pieces, size=size, p=self.p):
            body = len(self.split.piece(int(i))) - HEADER
            bars = self.bars[int(i)]
            fits = bars[bars < max(1, body - self.block // 2)]
            start = int(self.gen.choice(fits)) if len(fits) else 0
            x, y = window(self.split, int(i), start, self.block)
            xs.append(x)
            ys.append(y)
        return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


def val_windows(split: Split, block: int, limit: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Consecutive header + chunk windows of every val piece (the first `limit`)."""
    xs, ys = [], []
    chunk = block - HEADER
    for i in range(split.pieces):
        body = len(split.piece(i)) - HEADER
        for start in range(0, max(1, body - 1), chunk):
            x, y = window(split, i, start, block)
            xs.append(x)
            ys.append(y)
    gen = np.random.default_rng(0)
    pick = np.sort(gen.permutation(len(xs))[:limit])
    return torch.from_numpy(np.stack(xs)[pick]), torch.from_numpy(np.stack(ys)[pick])


@torch.no_grad()
def evaluate(model: GPT, x: torch.Tensor, y: torch.Tensor, device: str, batch: int) -> float:
    """Mean loss per predicted (non-padding) token."""
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(x), batch):
        xb, yb = x[i : i + batch].to(device), y[i : i + batch].to(device)
        with autocast(device):
            logits, _ = model(xb)
        loss = torch.nn.functional.cross_entropy(
            logits.float().view(-1, logits.size(-1)),
            yb.view(-1),
            ignore_index=IGNORE,
            reduction="sum",
        )
        total += loss.item()
        count += int((yb != IGNORE).sum())
    model.train()
    return total / max(1, count)


def quadrants(split: Split) -> np.ndarray:
    """The Emotion_* token id of each piece (the last header token)."""
    return np.array([int(split.piece(i)[HEADER - 1]) for i in range(split.pieces)])


def train(
    recipe: Recipe, data_dir: Path, out: Path, *, max_val_windows: int = 384, log_every: int = 25
) -> dict[str, Any]:
    tc, cfg = recipe.train, recipe.model
    check_sources(json.loads((data_dir / "meta.json").read_text()).get("licences", {}))
    train_split, val_split = load_split(data_dir, "train"), load_split(data_dir, "val")
    top = int(max(train_split.ids.max(), val_split.ids.max()))
    if top >= cfg.vocab_size:
        raise SystemExit(f"error: data has token id {top} >= model.vocab_size {cfg.vocab_size}")
    device = pick_device(tc.device)
    if tc.threads:
        torch.set_num_threads(tc.threads)
    torch.manual_seed(tc.seed)
    sampler = Sampler(train_split, quadrants(train_split), cfg.block_size, tc.seed)
    vx, vy = val_windows(val_split, cfg.block_size, max_val_windows)
    model = GPT(cfg).to(device)
    opt = model.configure_optimizer(tc.weight_decay, tc.learning_rate, tc.beta2)
    print(
        f"device={device} params={model.num_params() / 1e6:.2f}M "
        f"train={len(train_split.ids)} tokens/{train_split.pieces} pieces val_windows={len(vx)}",
        flush=True,
    )
    keeper = BestKeeper(tc.patience)
    step = 0
    history: list[dict[str, float]] = []
    seen = 0
    t0 = time.time()
    for step in range(tc.max_iters + 1):
        out_of_time = bool(tc.max_minutes) and (time.time() - t0) / 60 > tc.max_minutes
        if step % tc.eval_interval == 0 or step == tc.max_iters or out_of_time:
            vl = evaluate(model, vx, vy, device, 64)
            minutes = (time.time() - t0) / 60
            history.append({"step": step, "val_loss": round(vl, 4), "minutes": round(minutes, 2)})
            print(f"step {step}: val {vl:.4f} ({minutes:.1f} min, {seen} tokens)", flush=True)
            if keeper.update(vl, step, model):
                break
        if step == tc.max_iters or out_of_time:
            break
        x, y = sampler.batch(tc.batch_size)
        seen += int((y != IGNORE).sum())
        loss = train_step(model, opt, x, y, step, tc, device)
        if step % log_every == 0:
            print(f"step {step}: train {loss:.4f} lr {lr_at(step, tc):.2e}", flush=True)

    model.load_state_dict(keeper.state)
    best, best_step = keeper.best, keeper.best_step
    meta = json.loads((data_dir / "meta.json").read_text())
    summary = {
        "kind": "music",
        **run_summary(tc, device, model, step, keeper, t0),
        "tokens_seen": seen,
        "epochs": round(seen / max(1, len(train_split.ids)), 2),
        "val_perplexity": round(math.exp(best), 3),
        "data": {k: meta[k] for k in ("splits", "emotion_quadrants", "licences", "corpus")},
        "history": history,
    }
    save_model_dir(out, model, data_dir / "tokenizer.json", summary)
    print(f"best val loss {best:.4f} (ppl {math.exp(best):.2f}) at step {best_step}; wrote {out}")
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the symbolic music model.")
    parser.add_argument("--config", type=Path, default=Path("configs/music_cpu.toml"))
    parser.add_argument("--data", type=Path, default=Path("runs/music_data"))
    parser.add_argument("--out", type=Path, default=Path("runs/music_model"))
    parser.add_argument("--set", action="append", default=[], help="e.g. train.max_iters=200")
    args = parser.parse_args(argv)
    try:
        recipe = load_recipe(args.config, args.set)
    except (ValueError, OSError) as exc:
        raise SystemExit(f"error: {exc}") from None
    if not (args.data / "train_offsets.npy").exists():
        raise SystemExit(
            f"error: {args.data}/train_offsets.npy not found; run "
            "python -m soundstage.music.prepare first"
        )
    try:
        train(recipe, args.data, args.out)
    except SoundstageError as exc:
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    main()
