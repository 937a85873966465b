"""Embedded model speed: time to first token and decode tokens/s, with and without the KV cache.

    python benchmarks/bench_decode.py [--tokens 256] [--repeats 3] [--json]

Greedy decoding from a ~100-token prompt. "no cache" re-encodes the whole context for every
new token, which is what the KV cache saves. Results go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

from soundstage.backends.embedded import EmbeddedBackend

PROMPT = (
    "ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east, and Juliet is "
    "the sun.\n\nJULIET:\nO Romeo, Romeo, wherefore art thou Romeo?\nDeny thy father and refuse "
    "thy name.\n\nROMEO:\nShall I hear more, or shall I speak at this?\n\nJULIET:\n"
)


def run(tokens: int, repeats: int) -> dict[str, object]:
    backend = EmbeddedBackend.load()
    backend.complete("warm up", max_tokens=8, temperature=0)
    ttft, rates = [], []
    for _ in range(repeats):
        backend.lm.tokens = []  # cold cache: the prompt must be encoded from scratch
        start = time.perf_counter()
        stream = backend.stream(PROMPT, max_tokens=tokens, temperature=0)
        first = next(stream)
        ttft.append(time.perf_counter() - start)
        decode_start = time.perf_counter()
        last = first
        for chunk in stream:
            last = chunk
        n = (last.completion_tokens or tokens) - 1
        rates.append(n / (time.perf_counter() - decode_start))
    lm = backend.lm
    ids = backend.tokenizer.encode(PROMPT).ids
    start = time.perf_counter()
    n_nocache = 32
    for i in range(n_nocache):  # full re-encode per token
        lm.prefill(ids + [0] * i, reuse=False)
    nocache = n_nocache / (time.perf_counter() - start)
    return {
        "model": backend.model,
        "params": lm.n_params,
        "prompt_tokens": len(ids),
        "decode_tokens": tokens,
        "ttft_ms_median": round(statistics.median(ttft) * 1000, 1),
        "decode_tok_s_median": round(statistics.median(rates), 1),
        "decode_tok_s_min": round(min(rates), 1),
        "no_cache_tok_s": round(nocache, 1),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.tokens, args.repeats)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")


if __name__ == "__main__":
    main()
