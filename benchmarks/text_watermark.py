"""Text watermark (issue #15): detection, false positives, robustness and cost.

For each writer (the embedded drama-lm on numpy; the local SmolLM2-135M on torch):
- N marked and N unmarked passages of 200 new tokens (T 0.8, top-p 0.95, varied prompts);
  TPR of `detect_text` at z > 4 (one-sided FPR 3.2e-5 ≤ 1e-4) and the z of unmarked ones;
- the same marked passages after 10% / 30% of their words are replaced by random words
  from a vocabulary (Shakespeare's and the screenplays' words), then re-tokenised;
- perplexity cost: the unmarked model's (T = 1, no penalty) perplexity of marked vs
  unmarked generations; sampling speed (tokens/s) with and without the mark.
Human text: 200-token windows of tinyshakespeare, the ebscreenplays and OLID tweets (joined
one after another), tokenised with each writer's tokenizer: z > 4 counts as a false positive.

Run: `.venv/bin/python benchmarks/text_watermark.py [--n 40] [--local-n 40] [--no-local]`
(needs ../shared/data). Prints a Markdown section for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.backends import Sampling, load_backend
from soundstage.backends.base import Message
from soundstage.backends.local import chatml
from soundstage.provenance.text_mark import (
    DELTA,
    TextWatermark,
    detect_text,
    detect_tokens,
    tokenizer_for,
)
from soundstage.settings import load_settings

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
KEY = bytes(range(32))  # a fixed key: the numbers do not depend on one installation
TOKENS = 200
SAMPLING = {"temperature": 0.8, "top_p": 0.95}
SPEAKERS = ["ROMEO", "JULIET", "KING RICHARD III", "MENENIUS", "LADY CAPULET", "PETRUCHIO"]
SITUATIONS = [
    "a night-shift nurse who finds the records room unlocked",
    "two sisters dividing their late father's boat",
    "a lighthouse keeper and a smuggler in a storm",
    "a chef who has one hour to save her restaurant",
    "a detective interviewing a child who saw too much",
]


@dataclass
class Writer:
    name: str
    spec: str
    texts: dict[str, list[str]] = field(default_factory=dict)  # by label: "plain", "marked", δ
    seconds: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    nll: dict[str, float] = field(default_factory=dict)

    @property
    def marked(self) -> list[str]:
        return self.texts["marked"]

    @property
    def plain(self) -> list[str]:
        return self.texts["plain"]


Marks = dict[str, TextWatermark | None]
DEFAULT_MARKS: Marks = {"marked": TextWatermark(KEY), "plain": None}


def sweep_marks(deltas: list[float]) -> Marks:
    return {"plain": None, **{f"{d:g}": TextWatermark(KEY, delta=d) for d in deltas}}


def human_windows(tok: Any, limit: int = 100_000) -> dict[str, list[list[int]]]:
    shakespeare = (DATA / "script/tinyshakespeare/input.txt").read_text(encoding="utf-8")
    screenplays = "\n".join(
        p.read_text(encoding="utf-8")
        for p in sorted((DATA / "script/ebscreenplays").glob("*"))
        if p.suffix == ".fountain"
    )
    with open(DATA / "mod/olid/olid-training-v1.0.tsv", encoding="utf-8") as f:
        tweets = "\n".join(row["tweet"] for row in csv.DictReader(f, delimiter="\t"))
    out = {}
    for name, text in (
        ("tinyshakespeare", shakespeare),
        ("ebscreenplays", screenplays),
        ("OLID tweets", tweets),
    ):
        ids = tok.encode(text[:2_000_000])
        out[name] = [ids[i : i + TOKENS] for i in range(0, len(ids) - TOKENS, TOKENS)][:limit]
    return out


def vocabulary() -> list[str]:
    text = (DATA / "script/tinyshakespeare/input.txt").read_text(encoding="utf-8")
    words = sorted(set(re.findall(r"[A-Za-z']+", text)))
    return words


def substitute(text: str, share: float, words: list[str], rng: random.Random) -> str:
    """Replace `share` of the words (runs of letters) by random vocabulary words."""
    spans = [m.span() for m in re.finditer(r"[A-Za-z']+", text)]
    chosen = set(rng.sample(range(len(spans)), round(share * len(spans)))) if spans else set()
    out, last = [], 0
    for i, (a, b) in enumerate(spans):
        out.append(text[last:a])
        out.append(rng.choice(words) if i in chosen else text[a:b])
        last = b
    out.append(text[last:])
    return "".join(out)


def generate_embedded(w: Writer, n: int, marks: Marks = DEFAULT_MARKS) -> None:
    settings = load_settings().model_copy(update={"watermark": False})
    backend = load_backend("embedded", settings)
    backend.complete("ROMEO:\n", max_tokens=20, seed=0)  # warm up
    for i in range(n):
        prompt = f"{SPEAKERS[i % len(SPEAKERS)]}:\n"
        for label in list(marks)[:: -1 if i % 2 else 1]:  # interleaved
            backend.watermark = marks[label]  # type: ignore[attr-defined]
            started = time.perf_counter()
            out = backend.complete(prompt, max_tokens=TOKENS, seed=i, **SAMPLING)  # type: ignore[arg-type]
            w.seconds[label] = w.seconds.get(label, 0.0) + time.perf_counter() - started
            w.tokens[label] = w.tokens.get(label, 0) + out.completion_tokens
            w.texts.setdefault(label, []).append(out.text)
    for label in marks:
        w.nll[label] = embedded_nll(backend, w.texts[label], n)


def embedded_nll(backend: Any, texts: list[str], n: int) -> float:
    """Mean per-token NLL under the plain model (T = 1) of each text after its prompt."""
    total, count = 0.0, 0
    for i, text in enumerate(texts):
        prompt = backend.tokenizer.encode(f"{SPEAKERS[i % len(SPEAKERS)]}:\n").ids
        ids = backend.tokenizer.encode(text).ids
        logits = backend.lm.prefill(prompt, reuse=False)
        for tok in ids:
            z = logits.astype(np.float64)
            total += float(np.log(np.exp(z - z.max()).sum()) + z.max() - z[tok])
            count += 1
            logits = backend.lm.step(tok)
    return total / max(count, 1)


def local_prompt(i: int) -> str:
    ask = f"Write a scene of a short film about {SITUATIONS[i % len(SITUATIONS)]}."
    return chatml([Message("user", ask)], "")


def generate_local(w: Writer, n: int, batch: int = 8, marks: Marks = DEFAULT_MARKS) -> None:
    settings = load_settings().model_copy(update={"watermark": False})
    backend = load_backend("local", settings)
    backend.complete(local_prompt(0), max_tokens=8, seed=0)  # warm up
    for b in range(math.ceil(n / batch)):
        sampling = Sampling(max_tokens=TOKENS, seed=b, **SAMPLING)  # type: ignore[arg-type]
        for label in list(marks)[:: -1 if b % 2 else 1]:  # interleaved
            backend.watermark = marks[label]  # type: ignore[attr-defined]
            started = time.perf_counter()
            outs = backend.sample(local_prompt(b), batch, sampling)
            w.seconds[label] = w.seconds.get(label, 0.0) + time.perf_counter() - started
            w.tokens[label] = w.tokens.get(label, 0) + sum(o.completion_tokens for o in outs)
            w.texts.setdefault(label, []).extend(o.text for o in outs)
    for label in marks:
        w.texts[label] = w.texts[label][:n]
        w.nll[label] = local_nll(backend.runtime, w.texts[label], batch)  # type: ignore[attr-defined]


def local_speed(runs: int = 6, tokens: int = 100) -> dict[str, float]:
    """Tokens/s of one row, marked and unmarked interleaved (batch throughput is confounded
    by rows that end at different times, so speed is measured on single samples)."""
    backend = load_backend("local", load_settings().model_copy(update={"watermark": False}))
    backend.complete(local_prompt(0), max_tokens=8, seed=0)  # warm up
    seconds, count = {"marked": 0.0, "plain": 0.0}, {"marked": 0, "plain": 0}
    for i in range(runs):
        for label in ("marked", "plain") if i % 2 else ("plain", "marked"):
            backend.watermark = TextWatermark(KEY) if label == "marked" else None  # type: ignore[attr-defined]
            started = time.perf_counter()
            out = backend.complete(local_prompt(i), max_tokens=tokens, seed=i, **SAMPLING)  # type: ignore[arg-type]
            seconds[label] += time.perf_counter() - started
            count[label] += out.completion_tokens
    return {label: count[label] / seconds[label] for label in seconds}


def local_nll(runtime: Any, texts: list[str], batch: int, most: int = 12) -> float:
    import torch

    total, count = 0.0, 0
    with torch.inference_mode():
        for i, text in enumerate(texts[:most]):
            prompt = runtime.encode(local_prompt(i // batch))
            ids = runtime.encode(text)[:TOKENS]
            runtime._ids, runtime._cache, runtime._last = [], None, None
            cache, logits = runtime.prefill(prompt, 1, len(ids) + 1)
            logits = logits.reshape(1, -1)
            for tok in ids:
                total -= torch.log_softmax(logits.reshape(-1).float(), -1)[tok].item()
                count += 1
                logits = runtime.model(torch.tensor([[tok]]), cache)
            runtime._ids, runtime._cache, runtime._last = [], None, None
    return total / max(count, 1)


def report(w: Writer, words: list[str]) -> list[str]:
    tok = tokenizer_for(w.spec)
    rng = random.Random(0)
    marked = [detect_text(t, KEY, tok) for t in w.marked]
    plain = [detect_text(t, KEY, tok) for t in w.plain]
    lines = [
        f"**{w.name}** (`{w.spec}`), {len(marked)} marked / {len(plain)} unmarked passages "
        f"of up to {TOKENS} new tokens:",
        "",
        "| passages | scored tokens (median) | mean z | min z | detected at z > 4 |",
        "|---|---|---|---|---|",
    ]

    def row(name: str, ds: list[Any]) -> None:
        zs = [d.z for d in ds]
        hit = sum(d.marked for d in ds)
        lines.append(
            f"| {name} | {statistics.median(d.units for d in ds):.0f} | "
            f"{statistics.mean(zs):.2f} | {min(zs):.2f} | {hit}/{len(ds)} "
            f"({hit / len(ds):.2f}) |"
        )

    row("marked", marked)
    row("unmarked (same prompts)", plain)
    for share in (0.1, 0.3):
        edited = [detect_text(substitute(t, share, words, rng), KEY, tok) for t in w.marked]
        row(f"marked, {share:.0%} of words substituted", edited)
    tps = {k: w.tokens[k] / w.seconds[k] for k in w.seconds}
    ppl = {k: math.exp(v) for k, v in w.nll.items()}
    lines += [
        "",
        f"Perplexity under the unmarked model (T = 1): marked {ppl['marked']:.2f}, "
        f"unmarked {ppl['plain']:.2f} ({ppl['marked'] / ppl['plain'] - 1:+.1%}). "
        f"Sampling speed: marked {tps['marked']:.1f} tok/s, unmarked {tps['plain']:.1f} "
        f"tok/s ({tps['marked'] / tps['plain'] - 1:+.1%}).",
        "",
    ]
    return lines


def sweep_report(w: Writer, words: list[str]) -> list[str]:
    """One row per δ: detection (plain, 30% of words substituted) against perplexity cost."""
    tok = tokenizer_for(w.spec)
    rng = random.Random(0)
    base = math.exp(w.nll["plain"])
    lines = [
        f"**{w.name}** (`{w.spec}`), {len(w.plain)} passages per δ "
        f"(unmarked perplexity {base:.2f}):",
        "",
        "| δ | scored tokens (median) | mean z | min z | TPR at z > 4 | TPR, 30% substituted "
        "| perplexity | cost |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, texts in w.texts.items():
        ds = [detect_text(t, KEY, tok) for t in texts]
        edited = [detect_text(substitute(t, 0.3, words, rng), KEY, tok) for t in texts]
        ppl = math.exp(w.nll[label])
        lines.append(
            f"| {'0 (unmarked)' if label == 'plain' else label} | "
            f"{statistics.median(d.units for d in ds):.0f} | "
            f"{statistics.mean(d.z for d in ds):.2f} | {min(d.z for d in ds):.2f} | "
            f"{sum(d.marked for d in ds) / len(ds):.2f} | "
            f"{sum(d.marked for d in edited) / len(ds):.2f} | {ppl:.2f} | {ppl / base - 1:+.1%} |"
        )
    return [*lines, ""]


def human_report(specs: list[str]) -> list[str]:
    lines = [
        "| human text | tokenizer | 200-token windows | mean z | sd z | max z | z > 4 (FPR) |",
        "|---|---|---|---|---|---|---|",
    ]
    for spec in specs:
        tok = tokenizer_for(spec)
        for name, windows in human_windows(tok).items():
            zs = [detect_tokens(ids, KEY).z for ids in windows]
            fp = sum(z > 4 for z in zs)
            lines.append(
                f"| {name} | {spec} | {len(zs)} | {statistics.mean(zs):.2f} | "
                f"{statistics.stdev(zs):.2f} | {max(zs):.2f} | {fp} ({fp / len(zs):.4f}) |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--local-n", type=int, default=40)
    parser.add_argument("--no-local", action="store_true")
    parser.add_argument("--speed-only", action="store_true", help="local tokens/s, one row")
    parser.add_argument("--sweep", help="comma-separated δ values: detection against cost")
    args = parser.parse_args()
    if args.sweep:
        deltas = [float(d) for d in args.sweep.split(",")]
        sweep(deltas, args.n, args.local_n, args.no_local)
        return
    if args.speed_only:
        speed = local_speed()
        print(
            f"local, one row: marked {speed['marked']:.1f} tok/s, unmarked "
            f"{speed['plain']:.1f} tok/s ({speed['marked'] / speed['plain'] - 1:+.1%})"
        )
        return
    if not DATA.exists():
        sys.exit(f"shared data not present: {DATA}")
    words = vocabulary()
    writers = [Writer("drama-lm", "embedded")]
    generate_embedded(writers[0], args.n)
    if not args.no_local:
        writers.append(Writer("SmolLM2-135M-Instruct", "local"))
        generate_local(writers[1], args.local_n)
    out = [
        "## Text watermark (issue #15)",
        "",
        f"KGW soft watermark (γ = 0.25, δ = {DELTA}, previous-token green lists; "
        "soundstage.provenance.text_mark), sampled at T 0.8, top-p 0.95; detection at "
        "z > 4 (one-sided FPR 3.2e-5). `.venv/bin/python benchmarks/text_watermark.py "
        f"--n {args.n} --local-n {args.local_n}`.",
        "",
    ]
    for w in writers:
        out += report(w, words)
    out += human_report([w.spec for w in writers])
    print("\n".join(out))


def sweep(deltas: list[float], n: int, local_n: int, no_local: bool) -> None:
    if not DATA.exists():
        sys.exit(f"shared data not present: {DATA}")
    words = vocabulary()
    marks = sweep_marks(deltas)
    out = [
        "### δ sweep",
        "",
        f"`.venv/bin/python benchmarks/text_watermark.py --sweep {','.join(map(str, deltas))} "
        f"--n {n} --local-n {local_n}` (γ 0.25, T 0.8, top-p 0.95, same prompts and seeds "
        "per δ; perplexity under the unmarked model at T = 1):",
        "",
    ]
    w = Writer("drama-lm", "embedded")
    generate_embedded(w, n, marks)
    out += sweep_report(w, words)
    print("\n".join(out), flush=True)
    out = []
    if not no_local:
        w = Writer("SmolLM2-135M-Instruct", "local")
        generate_local(w, local_n, marks=marks)
        out += sweep_report(w, words)
    print("\n".join(out))


if __name__ == "__main__":
    main()
