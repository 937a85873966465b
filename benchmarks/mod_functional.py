"""The functional suite (soundstage.moderate.functional) run through the Moderator, per tier.

    .venv/bin/python benchmarks/mod_functional.py [--split test] [--tiers fast,ensemble] [--json]

A case is right when the community policy's decision matches its label: *flag* = review or
block, *allow* = allow. alt-profanity-check 1.9.1 runs beside it at 0.5 (it has no policy),
when installed. Reports accuracy per functionality (goal ≥ 0.60 each) and overall (goal
≥ 0.80), on the test half by default: the half no training or threshold reads.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from soundstage.moderate.functional import FUNCTIONALITIES, Case, cases  # noqa: E402


def tier_flags(tier: str, texts: list[str]) -> list[bool]:
    from soundstage.moderate.service import Moderator

    moderator = Moderator.load("community", tier=tier, explain=False)
    return [v.decision != "allow" for v in moderator.check_many(texts)]


def apc_flags(texts: list[str]) -> list[bool] | None:
    try:
        from profanity_check import predict_prob
    except ImportError:
        return None
    return [bool(p >= 0.5) for p in predict_prob(texts)]


def accuracy(suite: list[Case], flags: list[bool]) -> dict[str, float]:
    right: dict[str, list[bool]] = defaultdict(list)
    for case, flag in zip(suite, flags, strict=True):
        right[case.functionality].append(flag == bool(case.label))
    out = {f: sum(r) / len(r) for f, r in right.items()}
    out["overall"] = sum(sum(r) for r in right.values()) / len(suite)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="test", choices=("train", "test", "all"))
    ap.add_argument("--tiers", default="fast,ensemble")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    suite = cases(None if args.split == "all" else args.split)
    texts = [c.text for c in suite]
    results = {f"{t} tier": accuracy(suite, tier_flags(t, texts)) for t in args.tiers.split(",")}
    flags = apc_flags(texts)
    if flags is not None:
        results["alt-profanity-check"] = accuracy(suite, flags)
    if args.json:
        print(json.dumps(results))
        return
    systems = list(results)
    counts: dict[str, int] = defaultdict(int)
    for c in suite:
        counts[c.functionality] += 1
    print(f"{len(suite)} cases ({args.split} half)\n")
    print("| functionality | gold | cases | " + " | ".join(systems) + " |")
    print("|---|---|---|" + "---|" * len(systems))
    for name, (label, _, _) in FUNCTIONALITIES.items():
        cells = " | ".join(f"{results[s][name]:.2f}" for s in systems)
        print(f"| {name} | {'flag' if label else 'allow'} | {counts[name]} | {cells} |")
    cells = " | ".join(f"**{results[s]['overall']:.3f}**" for s in systems)
    print(f"| **overall** | | {len(suite)} | {cells} |")
    for s in systems:
        below = [n for n in FUNCTIONALITIES if results[s][n] < 0.6]
        print(f"\n{s}: {len(below)} functionalities below 0.60: {', '.join(below) or 'none'}")


if __name__ == "__main__":
    main()
