"""Train the embedded dialogue model.

    python -m soundstage.lm.prepare --out runs/lm_data
    python -m soundstage.lm.train --config configs/lm_cpu.toml --data runs/lm_data --out runs/lm

Runs on CPU (`device = "cpu"`) or a GPU (`auto` picks CUDA when present). Evaluates on the
validation split every `eval_interval` steps and keeps the best weights (early stopping),
then writes a model directory: config.json (model config, training summary, metrics),
tokenizer.json and float16 safetensors shards of at most 15 MB each.
"""

from __future__ import annotations

import argparse
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from soundstage.datasets import check_sources
from soundstage.errors import SoundstageError
from soundstage.lm.config import ModelConfig, Recipe, TrainConfig, load_recipe, write_json
from soundstage.lm.model import GPT

SHARD_BYTES = 15 * 1024 * 1024


def pick_device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def get_batch(
    data: np.ndarray, cfg: ModelConfig, batch: int, gen: np.random.Generator, device: str
) -> tuple[torch.Tensor, torch.Tensor]:
    starts = gen.integers(0, len(data) - cfg.block_size - 1, size=batch)
    x = np.stack([data[s : s + cfg.block_size] for s in starts]).astype(np.int64)
    y = np.stack([data[s + 1 : s + 1 + cfg.block_size] for s in starts]).astype(np.int64)
    return torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)


def lr_at(step: int, tc: TrainConfig) -> float:
    """Linear warmup, then cosine decay to min_lr at max_iters."""
    if step < tc.warmup_iters:
        return tc.learning_rate * (step + 1) / tc.warmup_iters
    progress = min(1.0, (step - tc.warmup_iters) / max(1, tc.max_iters - tc.warmup_iters))
    return tc.min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (tc.learning_rate - tc.min_lr)


@torch.no_grad()
def val_loss(model: GPT, data: np.ndarray, cfg: ModelConfig, device: str, batch: int) -> float:
    """Mean loss over non-overlapping windows covering the whole validation split."""
    model.eval()
    n = (len(data) - 1) // cfg.block_size
    starts = np.arange(n) * cfg.block_size
    total, count = 0.0, 0
    for i in range(0, n, batch):
        s = starts[i : i + batch]
        x = torch.from_numpy(np.stack([data[j : j + cfg.block_size] for j in s]).astype(np.int64))
        y = torch.from_numpy(
            np.stack([data[j + 1 : j + 1 + cfg.block_size] for j in s]).astype(np.int64)
        )
        with autocast(device):
            _, loss = model(x.to(device), y.to(device))
        assert loss is not None
        total += loss.item() * len(s)
        count += len(s)
    model.train()
    return total / count


@dataclass
class BestKeeper:
    """Keeps the weights with the best validation loss; says when patience has run out."""

    patience: int
    best: float = math.inf
    best_step: int = 0
    stale: int = 0
    state: dict[str, torch.Tensor] = field(default_factory=dict)

    def update(self, loss: float, step: int, model: torch.nn.Module) -> bool:
        """Record one evaluation; True when training should stop early."""
        if loss < self.best:
            self.best, self.best_step, self.stale = loss, step, 0
            self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return False
        self.stale += 1
        if self.patience and self.stale >= self.patience:
            print(f"early stop: no improvement for {self.stale} evals", flush=True)
            return True
        return False


def run_summary(
    tc: TrainConfig, device: str, model: GPT, steps: int, keeper: BestKeeper, began: float
) -> dict[str, Any]:
    """The facts every training run records in its config.json (best weights already loaded)."""
    return {
        "train": asdict(tc),
        "device": device,
        "device_name": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "params": model.num_params(),
        "steps": steps,
        "best_step": keeper.best_step,
        "minutes": round((time.time() - began) / 60, 2),
        "val_loss": round(keeper.best, 4),
        "torch": torch.__version__,
    }


def train_step(
    model: GPT,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    step: int,
    tc: TrainConfig,
    device: str,
) -> float:
    """One optimiser step at the scheduled learning rate, with gradient clipping; the loss."""
    for group in opt.param_groups:
        group["lr"] = lr_at(step, tc)
    with autocast(device):
        _, loss = model(x.to(device), y.to(device))
    assert loss is not None
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
    opt.step()
    return float(loss.item())


def autocast(device: str) -> Any:
    if device == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


def save_model_dir(out: Path, model: GPT, tokenizer: Path, summary: dict[str, Any]) -> list[Path]:
    """Write config.json, tokenizer.json and float16 shards to a temp dir, then rename."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    state = {k: v.half() for k, v in model.export_state().items()}
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name in sorted(state):
        nbytes = state[name].numel() * 2
        if size + nbytes > SHARD_BYTES and shards[-1]:
            shards.append({})
            size = 0
        shards[-1][name] = state[name]
        size += nbytes
    paths = []
    for i, shard in enumerate(shards, 1):
        path = tmp / f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(path), metadata={"format": "pt"})
        paths.append(out / path.name)
    shutil.copy(tokenizer, tmp / "tokenizer.json")
    write_json(tmp / "config.json", {"model": model.cfg.to_json(), **summary})
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return paths


def train(recipe: Recipe, data_dir: Path, out: Path, log_every: int = 50) -> dict[str, Any]:
    tc = recipe.train
    check_sources(_read_meta(data_dir).get("sources", []))  # opted out since prepare?
    meta_vocab = int(np.load(data_dir / "train.npy", mmap_mode="r").max()) + 1
    cfg = recipe.model
    if meta_vocab > cfg.vocab_size:
        raise SystemExit(
            f"error: data has token id {meta_vocab - 1} >= vocab_size {cfg.vocab_size}"
        )
    device = pick_device(tc.device)
    if tc.threads:
        torch.set_num_threads(tc.threads)
    torch.manual_seed(tc.seed)
    gen = np.random.default_rng(tc.seed)
    train_data = np.load(data_dir / "train.npy")
    val_data = np.load(data_dir / "val.npy")
    model = GPT(cfg).to(device)
    opt = model.configure_optimizer(tc.weight_decay, tc.learning_rate, tc.beta2)
    print(f"device={device} params={model.num_params() / 1e6:.2f}M train_tokens={len(train_data)}")

    keeper = BestKeeper(tc.patience)
    history: list[dict[str, float]] = []
    t0 = time.time()
    step = 0
    for step in range(tc.max_iters + 1):
        if step % tc.eval_interval == 0 or step == tc.max_iters:
            vl = val_loss(model, val_data, cfg, device, max(tc.batch_size, 32))
            history.append({"step": step, "val_loss": vl, "minutes": (time.time() - t0) / 60})
            print(f"step {step}: val {vl:.4f} ({(time.time() - t0) / 60:.1f} min)", flush=True)
            if keeper.update(vl, step, model):
                break
        if step == tc.max_iters or (tc.max_minutes and (time.time() - t0) / 60 > tc.max_minutes):
            break
        x, y = get_batch(train_data, cfg, tc.batch_size, gen, device)
        loss = train_step(model, opt, x, y, step, tc, device)
        if step % log_every == 0:
            print(f"step {step}: train {loss:.4f} lr {lr_at(step, tc):.2e}", flush=True)

    model.load_state_dict(keeper.state)
    best, best_step = keeper.best, keeper.best_step
    meta = _read_meta(data_dir)
    chars_per_token = meta.get("val_chars", 0) / max(1, meta.get("val_tokens", 1))
    summary = {
        **run_summary(tc, device, model, step, keeper, t0),
        "val_perplexity": round(math.exp(best), 2),
        # Bits per character make BPE losses comparable with char-level models.
        "val_bits_per_char": round(best / math.log(2) / chars_per_token, 4)
        if chars_per_token
        else None,
        "data": meta,
        "history": history,
    }
    save_model_dir(out, model, data_dir / "tokenizer.json", summary)
    print(f"best val loss {best:.4f} (ppl {math.exp(best):.1f}) at step {best_step}; wrote {out}")
    return summary


def _read_meta(data_dir: Path) -> dict[str, Any]:
    import json

    path = data_dir / "meta.json"
    return json.loads(path.read_text()) if path.exists() else {}


def main() -> None:
    parser = argparse.ArgumentParser(description="Train the embedded dialogue model.")
    parser.add_argument("--config", type=Path, default=None, help="TOML recipe (configs/lm_*.toml)")
    parser.add_argument("--data", type=Path, default=Path("runs/lm_data"))
    parser.add_argument("--out", type=Path, default=Path("runs/lm"))
    parser.add_argument(
        "--set", action="append", default=[], help="override, e.g. train.max_iters=200"
    )
    args = parser.parse_args()
    try:
        recipe = load_recipe(args.config, args.set)
    except (ValueError, OSError) as exc:
        raise SystemExit(f"error: {exc}") from None
    if not (args.data / "train.npy").exists():
        raise SystemExit(f"error: {args.data}/train.npy not found; run soundstage.lm.prepare first")
    try:
        train(recipe, args.data, args.out)
    except SoundstageError as exc:
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    main()
