"""The local writer's runtime: transformers' forward pass vs ours (float32, int8 + SmoothQuant).

For each: milliseconds per decoding step with 1, 2 and 4 rows after a 400-token prompt, prompt
tokens/s, and perplexity on a screenplay page (`backends.local.CHECK_PAGE`).

    python benchmarks/bench_local_runtime.py [--json out.json]

Needs the writer extra and the model file (README command 1 installs both). Results:
docs/benchmarks.md, "The local writer's runtime".
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

import torch

from soundstage.backends.llama import KVCache, Llama
from soundstage.backends.local import CHECK_PAGE, default_gguf, load_runtime


class HF:
    """transformers' LlamaForCausalLM behind the same call as ours."""

    def __init__(self, folder: Any) -> None:
        import transformers

        self.model = transformers.AutoModelForCausalLM.from_pretrained(
            folder, dtype=torch.float32
        ).eval()

    def prompt(self, ids: list[int]) -> Any:
        out = self.model(input_ids=torch.tensor([ids]), use_cache=True)
        return out.past_key_values, out.logits[0, -1]

    def step(self, tokens: torch.Tensor, cache: Any) -> Any:
        out = self.model(input_ids=tokens, past_key_values=cache, use_cache=True)
        return out.past_key_values, out.logits[:, -1]

    def rows(self, cache: Any, n: int) -> Any:
        import copy

        cache = copy.deepcopy(cache)
        cache.batch_repeat_interleave(n)
        return cache


class Ours:
    def __init__(self, model: Llama) -> None:
        self.model = model

    def prompt(self, ids: list[int]) -> Any:
        cache = KVCache(self.model.config, 1, len(ids) + 64)
        return cache, self.model(torch.tensor([ids]), cache)[0]

    def step(self, tokens: torch.Tensor, cache: Any) -> Any:
        return cache, self.model(tokens, cache)

    def rows(self, cache: Any, n: int) -> Any:
        return cache.expand(n, cache.length + 64)


def measure(runner: Any, ids: list[int], steps: int = 30) -> dict[str, float]:
    out: dict[str, float] = {}
    with torch.inference_mode():
        prompt = torch.randint(100, 40000, (400,)).tolist()
        runner.prompt(prompt)  # warm up
        t = time.perf_counter()
        cache, _ = runner.prompt(prompt)
        out["prompt_tok_s"] = 400 / (time.perf_counter() - t)
        for n in (1, 2, 4):
            rows = runner.rows(cache, n)
            tokens = torch.randint(100, 40000, (n, 1))
            rows, _ = runner.step(tokens, rows)
            t = time.perf_counter()
            for _ in range(steps):
                rows, _ = runner.step(tokens, rows)
            out[f"step_ms_{n}"] = (time.perf_counter() - t) / steps * 1000
        cache, logits = runner.prompt(ids[:32])
        nll = 0.0
        for i in range(32, len(ids)):
            nll -= torch.log_softmax(logits.reshape(-1), -1)[ids[i]].item()
            cache, logits = runner.step(torch.tensor([[ids[i]]]), cache)
        out["perplexity"] = math.exp(nll / (len(ids) - 32))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    runtime = load_runtime(default_gguf())
    torch.set_num_threads(runtime.torch.get_num_threads())
    ids = runtime.encode(CHECK_PAGE)
    runners = {
        "transformers forward, float32": HF(runtime.folder),
        "ours, float32": Ours(Llama.load(runtime.folder)),
        "ours, int8 + SmoothQuant (default)": Ours(runtime.model),
    }
    results = {name: measure(r, ids) for name, r in runners.items()}
    print(f"{torch.get_num_threads()} threads; {len(ids)}-token page for perplexity\n")
    print("| runtime | step, 1 row | 2 rows | 4 rows | prompt | perplexity |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['step_ms_1']:.1f} ms | {r['step_ms_2']:.1f} ms | "
            f"{r['step_ms_4']:.1f} ms | {r['prompt_tok_s']:.0f} tok/s | {r['perplexity']:.2f} |"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
