"""The embedded GPT in numpy with a key/value cache: inference without torch.

Why numpy: the model is small (≈10M parameters), so one decode step is a handful of
matrix-vector products; numpy does those fast on 2 cores, and the default install stays
free of a multi-GB torch download. The maths mirrors `model.py` exactly.

Use: `lm = NumpyGPT.load(model_dir)`; `logits = lm.prefill(ids)`; then `lm.step(token)`
per new token. When the context fills up, the last half is kept and re-encoded. `prefill`
reuses the cached prefix it shares with the previous call.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

from soundstage.lm.config import ModelConfig


def layer_norm(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    centred = x - x.mean(axis=-1, keepdims=True)
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(var + 1e-5) * weight


def gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * (x * x * x))))


@dataclass
class Layer:
    ln1: np.ndarray
    qkv: np.ndarray  # (C, 3C): stored transposed so x @ qkv works on rows
    proj: np.ndarray  # (C, C)
    ln2: np.ndarray
    fc: np.ndarray  # (C, 4C)
    mlp_proj: np.ndarray  # (4C, C)


def load_weights(model_dir: Path) -> dict[str, np.ndarray]:
    shards = sorted(model_dir.glob("model*.safetensors"))
    if not shards:
        raise FileNotFoundError(f"no model*.safetensors in {model_dir}")
    weights: dict[str, np.ndarray] = {}
    for shard in shards:
        weights.update(load_file(str(shard)))
    return {k: v.astype(np.float32) for k, v in weights.items()}


class NumpyGPT:
    def __init__(self, cfg: ModelConfig, weights: dict[str, np.ndarray]) -> None:
        self.cfg = cfg
        w = weights
        self.wte = np.ascontiguousarray(w["wte.weight"])
        self.wte_t = np.ascontiguousarray(self.wte.T)
        self.wpe = w["wpe.weight"]
        self.ln_f = w["ln_f.weight"]
        self.layers = [
            Layer(
                ln1=w[f"blocks.{i}.ln1.weight"],
                qkv=np.ascontiguousarray(w[f"blocks.{i}.attn.qkv.weight"].T),
                proj=np.ascontiguousarray(w[f"blocks.{i}.attn.proj.weight"].T),
                ln2=w[f"blocks.{i}.ln2.weight"],
                fc=np.ascontiguousarray(w[f"blocks.{i}.mlp.fc.weight"].T),
                mlp_proj=np.ascontiguousarray(w[f"blocks.{i}.mlp.proj.weight"].T),
            )
            for i in range(cfg.n_layer)
        ]
        shape = (cfg.n_layer, cfg.n_head, cfg.block_size, cfg.head_dim)
        self.k_cache = np.zeros(shape, dtype=np.float32)
        self.v_cache = np.zeros(shape, dtype=np.float32)
        self.tokens: list[int] = []

    @classmethod
    def load(cls, model_dir: Path) -> NumpyGPT:
        config = json.loads((model_dir / "config.json").read_text())
        return cls(ModelConfig.from_json(config["model"]), load_weights(model_dir))

    @property
    def n_params(self) -> int:
        per_layer = sum(a.size for a in vars(self.layers[0]).values())
        return self.wte.size + self.ln_f.size + per_layer * len(self.layers)

    def prefill(self, ids: list[int], *, reuse: bool = True) -> np.ndarray:
        """Encode `ids` (the last block_size - 1 if longer); return next-token logits.

        With `reuse`, positions whose tokens match what the cache already holds are kept and
        only the new suffix is computed: a dialogue that grows turn by turn, or several
        samples from one prompt, pay for each token once.
        """
        if not ids:
            raise ValueError("prefill needs at least one token")
        keep = ids[-(self.cfg.block_size - 1) :]
        common = 0
        if reuse:
            limit = min(len(self.tokens), len(keep) - 1)  # recompute >= 1 token for its logits
            while common < limit and self.tokens[common] == keep[common]:
                common += 1
        self.tokens = self.tokens[:common]
        return self._forward(keep[common:])

    def step(self, token: int) -> np.ndarray:
        """Append one token and return the logits for the one after it."""
        if len(self.tokens) >= self.cfg.block_size:
            # Context full: keep the most recent half and re-encode it (positions are absolute).
            recent = self.tokens[-(self.cfg.block_size // 2) :] + [token]
            self.tokens = []
            return self._forward(recent)
        return self._forward([token])

    def _forward(self, ids: list[int]) -> np.ndarray:
        cfg = self.cfg
        start, t = len(self.tokens), len(ids)
        end = start + t
        x = self.wte[ids] + self.wpe[start:end]  # (t, C)
        h_dim, n_head = cfg.head_dim, cfg.n_head
        scale = 1.0 / math.sqrt(h_dim)
        mask = None
        if t > 1:  # query i (position start+i) may see keys 0..start+i
            mask = np.triu(np.full((t, end), -np.inf, dtype=np.float32), k=start + 1)
        for li, layer in enumerate(self.layers):
            qkv = layer_norm(x, layer.ln1) @ layer.qkv  # (t, 3C)
            q, k, v = (qkv[:, i * cfg.n_embd : (i + 1) * cfg.n_embd] for i in range(3))
            q = q.reshape(t, n_head, h_dim).transpose(1, 0, 2)  # (H, t, D)
            self.k_cache[li, :, start:end] = k.reshape(t, n_head, h_dim).transpose(1, 0, 2)
            self.v_cache[li, :, start:end] = v.reshape(t, n_head, h_dim).transpose(1, 0, 2)
            att = (q @ self.k_cache[li, :, :end].transpose(0, 2, 1)) * scale  # (H, t, end)
            if mask is not None:
                att = att + mask
            att = np.exp(att - att.max(axis=-1, keepdims=True))
            att /= att.sum(axis=-1, keepdims=True)
            y = (att @ self.v_cache[li, :, :end]).transpose(1, 0, 2).reshape(t, cfg.n_embd)
            x = x + y @ layer.proj
            x = x + gelu(layer_norm(x, layer.ln2) @ layer.fc) @ layer.mlp_proj
        self.tokens.extend(ids)
        return layer_norm(x[-1], self.ln_f) @ self.wte_t  # (vocab,)

    def logits_all(self, ids: list[int]) -> np.ndarray:
        """Logits for every position (tests compare this with the torch model)."""
        self.tokens = []
        out = []
        for tok in ids:
            out.append(self._forward([tok]))
        return np.stack(out)
