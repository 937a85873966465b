"""A Llama forward pass for the CPU, small enough to read (nanoGPT-style) and ~3x faster than
transformers' generic one for the decoding the writers' room does.

Why our own: the local backend decodes one token at a time for 2-4 candidate rows, and there
the time goes to reading weights and to per-call overhead, not to arithmetic:
- q, k, v are one matrix and gate, up are one matrix (4 matmuls a layer instead of 7);
- weights are int8 with a scale per output row (torch's dynamic-quantised Linear, fbgemm),
  a quarter of the memory traffic of float32, after SmoothQuant has moved the activations'
  outliers into the weights; the file's weights are 4-bit already, so this loses little
  (perplexity within 3% of float32, greedy next tokens agree, see the tests). In the down
  projections whose inputs have large outliers, the outlier channels stay float32 (found
  on the calibration prompt, not hard-coded; LLM.int8()'s decomposition);
- the head (576 x 49k, the largest matrix) runs int8 to find the EXACT_TOP best tokens,
  whose logits are then computed again in float32: sampling sees exact numbers wherever it
  can land, for a quarter of the head's memory traffic;
- the KV cache is one preallocated tensor per layer that is cropped and expanded in place,
  not a list of tensors concatenated every step;
- a prompt computes logits for its last position only (the vocabulary is 49k wide).

It reads the weights transformers writes (`model.layers.N.self_attn.q_proj.weight` …) and
its config.json, so any llama-family model converted from GGUF runs here. Correctness is
checked against transformers' own implementation in tests/backends/test_llama.py.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["KVCache", "Llama", "LlamaConfig"]

QUANTIZED = ("qkv", "out", "gate_up", "down")  # per block; see quantize()
SMOOTHING = 0.8  # SmoothQuant's alpha: 0.5 left +1.5% perplexity, 0.8 none measurable
DOWN_SMOOTHING = 0.7  # for the down projection: 0.5 and 0.9 lost 2-4% perplexity
OUTLIER = 30.0  # a down projection's input channel that reaches this stays float32
EXACT_TOP = 64  # logits recomputed in float32 after the int8 head


@dataclass(frozen=True)
class LlamaConfig:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    eps: float
    rope_theta: float
    max_positions: int
    tied: bool

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @classmethod
    def from_hf(cls, config: dict[str, Any]) -> LlamaConfig:
        rope = config.get("rope_parameters") or {}
        if config.get("model_type") != "llama" or rope.get("rope_type", "default") != "default":
            raise ValueError(
                f"not a plain llama model (model_type {config.get('model_type')!r}, "
                f"rope {rope.get('rope_type')!r})"
            )
        return cls(
            hidden=config["hidden_size"],
            layers=config["num_hidden_layers"],
            heads=config["num_attention_heads"],
            kv_heads=config.get("num_key_value_heads") or config["num_attention_heads"],
            intermediate=config["intermediate_size"],
            vocab=config["vocab_size"],
            eps=config.get("rms_norm_eps", 1e-5),
            rope_theta=rope.get("rope_theta", config.get("rope_theta", 10000.0)),
            max_positions=config.get("max_position_embeddings", 2048),
            tied=bool(config.get("tie_word_embeddings", False)),
        )


class KVCache:
    """Keys and values of `length` positions for `batch` rows, in tensors of `capacity`."""

    def __init__(self, config: LlamaConfig, batch: int, capacity: int) -> None:
        shape = (config.layers, batch, config.kv_heads, capacity, config.head_dim)
        self.config = config
        self.k = torch.empty(shape)
        self.v = torch.empty(shape)
        self.length = 0

    @property
    def batch(self) -> int:
        return int(self.k.shape[1])

    @property
    def capacity(self) -> int:
        return int(self.k.shape[3])

    def crop(self, length: int) -> None:
        """Forget every position from `length` on."""
        self.length = min(self.length, length)

    def reserve(self, capacity: int) -> None:
        """Make room for `capacity` positions, keeping what is cached."""
        if capacity <= self.capacity:
            return
        grown = KVCache(self.config, self.batch, max(capacity, 2 * self.capacity))
        grown.k[:, :, :, : self.length] = self.k[:, :, :, : self.length]
        grown.v[:, :, :, : self.length] = self.v[:, :, :, : self.length]
        self.k, self.v = grown.k, grown.v

    def expand(self, batch: int, capacity: int) -> KVCache:
        """A new cache of `batch` rows, each a copy of row 0, with room for `capacity`."""
        out = KVCache(self.config, batch, max(capacity, self.length))
        out.k[:, :, :, : self.length] = self.k[:, :1, :, : self.length]
        out.v[:, :, :, : self.length] = self.v[:, :1, :, : self.length]
        out.length = self.length
        return out


class Block(nn.Module):
    def __init__(self, c: LlamaConfig) -> None:
        super().__init__()
        self.c = c
        self.attn_norm = nn.Parameter(torch.ones(c.hidden), requires_grad=False)
        self.qkv = nn.Linear(c.hidden, (c.heads + 2 * c.kv_heads) * c.head_dim, bias=False)
        self.out = nn.Linear(c.heads * c.head_dim, c.hidden, bias=False)
        self.mlp_norm = nn.Parameter(torch.ones(c.hidden), requires_grad=False)
        self.gate_up = nn.Linear(c.hidden, 2 * c.intermediate, bias=False)
        self.down: nn.Module = nn.Linear(c.intermediate, c.hidden, bias=False)  # or a Split

    def forward(
        self, x: torch.Tensor, layer: int, cache: KVCache, rope: tuple[torch.Tensor, torch.Tensor]
    ) -> torch.Tensor:
        c = self.c
        b, t, _ = x.shape
        q, k, v = self.qkv(rms_norm(x, self.attn_norm, c.eps)).split(
            [c.heads * c.head_dim, c.kv_heads * c.head_dim, c.kv_heads * c.head_dim], dim=-1
        )
        q = rotate(q.view(b, t, c.heads, c.head_dim).transpose(1, 2), rope)
        k = rotate(k.view(b, t, c.kv_heads, c.head_dim).transpose(1, 2), rope)
        start, end = cache.length, cache.length + t
        cache.k[layer, :, :, start:end] = k
        cache.v[layer, :, :, start:end] = v.view(b, t, c.kv_heads, c.head_dim).transpose(1, 2)
        keys, values = cache.k[layer, :, :, :end], cache.v[layer, :, :, :end]
        if t == 1:  # one new position sees everything before it
            y = F.scaled_dot_product_attention(q, keys, values, enable_gqa=True)
        elif start == 0:
            y = F.scaled_dot_product_attention(q, keys, values, is_causal=True, enable_gqa=True)
        else:  # new positions after a cached prefix: causal, offset by the prefix
            mask = torch.arange(end)[None, :] <= torch.arange(start, end)[:, None]
            y = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask, enable_gqa=True)
        x = x + self.out(y.transpose(1, 2).reshape(b, t, c.heads * c.head_dim))
        gate, up = self.gate_up(rms_norm(x, self.mlp_norm, c.eps)).chunk(2, dim=-1)
        return x + self.down(F.silu(gate) * up)


class Llama(nn.Module):
    """Token ids in, the last position's logits out, the cache advanced by the ids' length."""

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab, config.hidden)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.norm = nn.Parameter(torch.ones(config.hidden), requires_grad=False)
        self.head = nn.Linear(config.hidden, config.vocab, bias=False)
        self.quick_head: nn.Module | None = None  # int8 copy of head, see quantize()
        d = config.head_dim
        inv = 1.0 / config.rope_theta ** (torch.arange(0, d, 2, dtype=torch.float32) / d)
        angles = torch.outer(torch.arange(config.max_positions, dtype=torch.float32), inv)
        angles = torch.cat([angles, angles], dim=-1)
        self.cos, self.sin = angles.cos(), angles.sin()

    @property
    def layers(self) -> list[Block]:
        return [cast(Block, b) for b in self.blocks]

    def forward(self, ids: torch.Tensor, cache: KVCache) -> torch.Tensor:
        t = ids.shape[1]
        end = cache.length + t
        if end > self.config.max_positions:
            limit = self.config.max_positions
            raise ValueError(f"{end} positions is more than the model's {limit}")
        cache.reserve(end)
        rope = (self.cos[cache.length : end], self.sin[cache.length : end])
        x = self.embed(ids)
        for layer, block in enumerate(self.layers):
            x = block(x, layer, cache, rope)
        cache.length = end
        return self.logits(rms_norm(x[:, -1], self.norm, self.config.eps))

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """The head: float32, or int8 with the EXACT_TOP best logits of each row exact."""
        if self.quick_head is None:
            return self.head(h)
        rough = self.quick_head(h)
        top = rough.topk(EXACT_TOP, dim=-1).indices
        exact = torch.einsum("bd,bkd->bk", h, self.head.weight[top])
        return rough.scatter(1, top, exact)

    @classmethod
    def load(cls, folder: Path, *, calibration: list[int] | None = None) -> Llama:
        """The model in `folder` (config.json + model.safetensors as transformers writes
        them); with `calibration` token ids, smoothed on them and quantised to int8."""
        import json

        from safetensors.torch import load_file

        config = LlamaConfig.from_hf(json.loads((folder / "config.json").read_text("utf-8")))
        w = {k: v.float() for k, v in load_file(str(folder / "model.safetensors")).items()}
        model = cls(config)
        with torch.no_grad():
            # tied models store one of the two (save_model keeps whichever it meets first)
            key = "model.embed_tokens.weight"
            embed = w[key] if key in w else w["lm_head.weight"]
            model.embed.weight.copy_(embed)
            model.head.weight.copy_(w.get("lm_head.weight", embed))
            model.norm.copy_(w["model.norm.weight"])
            for i, block in enumerate(model.layers):
                p = f"model.layers.{i}."
                block.attn_norm.copy_(w[p + "input_layernorm.weight"])
                block.mlp_norm.copy_(w[p + "post_attention_layernorm.weight"])
                block.qkv.weight.copy_(
                    torch.cat([w[p + f"self_attn.{n}_proj.weight"] for n in "qkv"], dim=0)
                )
                block.out.weight.copy_(w[p + "self_attn.o_proj.weight"])
                block.gate_up.weight.copy_(
                    torch.cat([w[p + f"mlp.{n}_proj.weight"] for n in ("gate", "up")], dim=0)
                )
                cast(nn.Linear, block.down).weight.copy_(w[p + "mlp.down_proj.weight"])
        model.eval().requires_grad_(False)
        if calibration:
            seen = calibrate(model, calibration)
            smooth(model, seen)
            quantize(model, seen)
        return model


def calibrate(model: Llama, ids: list[int]) -> dict[tuple[int, str], torch.Tensor]:
    """The largest magnitude of each input channel of every block's linear layers on `ids`,
    by (block, name)."""
    seen: dict[tuple[int, str], torch.Tensor] = {}

    def watch(key: tuple[int, str]) -> Any:
        def hook(_module: nn.Module, inputs: tuple[torch.Tensor, ...], _out: Any) -> None:
            x = inputs[0]
            seen[key] = x.abs().reshape(-1, x.shape[-1]).amax(0)

        return hook

    hooks = [
        getattr(block, name).register_forward_hook(watch((i, name)))
        for i, block in enumerate(model.layers)
        for name in ("qkv", "gate_up", "down")
    ]
    with torch.inference_mode():
        model(torch.tensor([ids]), KVCache(model.config, 1, len(ids)))
    for hook in hooks:
        hook.remove()
    return seen


def smooth(model: Llama, seen: dict[tuple[int, str], torch.Tensor]) -> None:
    """SmoothQuant (Xiao et al. 2023): move the outliers of the linear layers' inputs into
    their weights, so that int8 activations lose little. Each input channel j is divided by
    s_j = max|x_j|^alpha / max|W_j|^(1-alpha), measured by `calibrate`, and the weight's
    column j multiplied by it. The division folds into what comes before, so the float model
    computes exactly what it did: the RMSNorm weights for `qkv` and `gate_up`, the rows of
    `up` for `down` (its input is silu(gate) * up, linear in up)."""
    inter = model.config.intermediate
    with torch.no_grad():
        for i, block in enumerate(model.layers):
            for name, alpha in (("qkv", SMOOTHING), ("gate_up", SMOOTHING)):
                norm = block.attn_norm if name == "qkv" else block.mlp_norm
                norm.div_(_scale(getattr(block, name), seen[(i, name)], alpha))
            s = _scale(cast(nn.Linear, block.down), seen[(i, "down")], DOWN_SMOOTHING)
            block.gate_up.weight[inter:].div_(s[:, None])


def _scale(linear: nn.Linear, x_max: torch.Tensor, alpha: float) -> torch.Tensor:
    """Multiply `linear`'s input columns by SmoothQuant's scales and return them."""
    x = x_max.clamp(min=1e-5)
    w = linear.weight.abs().amax(0).clamp(min=1e-5)
    s = (x**alpha / w ** (1 - alpha)).clamp(min=1e-5)
    linear.weight.mul_(s)
    return s


def quantize(model: Llama, seen: dict[tuple[int, str], torch.Tensor]) -> Llama:
    """Every block's projections as int8 weights with a scale per output row, activations
    quantised per call (fbgemm). One quantisation step per call must span the largest input,
    and the down projections' inputs have outliers (SmolLM2-135M's layers 11 and 28 reach
    ~3,000 on a few channels): the input channels of a down projection that reached OUTLIER
    on calibration stay float32 (`Split`: 1 to 4 of 1,536 in 10 of SmolLM2-135M's layers,
    87 in its last), the rest int8. Keeping those 11 layers whole in float32 cost ~12% of a
    decoding step for no better perplexity (thresholds of 6-40 measured: 30 kept greedy
    agreement highest). The head gets an int8 copy that picks the
    tokens `logits` makes exact."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():  # torch.ao's eager quantisation is deprecated, not gone
        warnings.simplefilter("ignore")
        for i, block in enumerate(model.layers):
            outliers = seen[(i, "down")] >= OUTLIER
            split = bool(outliers.any())
            names = [n for n in QUANTIZED if n != "down" or not split]
            split = split and not bool(outliers.all())  # all of them: float32 throughout
            spec = dict.fromkeys(names, per_channel_dynamic_qconfig)
            quantize_dynamic(block, spec, dtype=torch.qint8, inplace=True)
            if split:
                block.down = Split(cast(nn.Linear, block.down), outliers)
        quick = nn.Sequential(nn.Linear(model.config.hidden, model.config.vocab, bias=False))
        quick[0].weight = nn.Parameter(model.head.weight.detach().clone(), requires_grad=False)
        model.quick_head = quantize_dynamic(
            quick, {"0": per_channel_dynamic_qconfig}, dtype=torch.qint8
        )
    return model


class Split(nn.Module):
    """A linear layer whose few outlier input channels (`outliers`) stay float32 and whose
    other channels are int8: LLM.int8()'s decomposition (Dettmers et al. 2022). One int8
    scale per call must span the largest input; without the outliers it is ~100x finer."""

    def __init__(self, linear: nn.Linear, outliers: torch.Tensor) -> None:
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        super().__init__()
        self.keep = torch.nonzero(outliers).flatten()
        self.rest = torch.nonzero(~outliers).flatten()
        w = linear.weight.detach()
        self.exact = nn.Parameter(w[:, self.keep].contiguous(), requires_grad=False)
        rest = nn.Sequential(nn.Linear(len(self.rest), w.shape[0], bias=False))
        rest[0].weight = nn.Parameter(w[:, self.rest].contiguous(), requires_grad=False)
        self.rough = quantize_dynamic(rest, {"0": per_channel_dynamic_qconfig}, dtype=torch.qint8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.rough(x.index_select(-1, self.rest))
        return y + F.linear(x.index_select(-1, self.keep), self.exact)


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rotate(x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Rotary position embedding, in the half-split layout transformers uses for llama."""
    cos, sin = rope
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin
