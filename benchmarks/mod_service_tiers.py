"""OLID test AUC through the `Moderator` service, per tier — what users get from `--tier`.

Why: benchmarks/mod_olid_tiers.py measures the tiers as models with a label-free band chosen
for 25% routing; the service routes by the policy's review thresholds (±1 logit) instead and
skips texts MiniLM cannot read whole. This checks the service reproduces the model numbers.

    .venv/bin/python benchmarks/mod_service_tiers.py [--data ../shared/data/mod] [--policy P]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from soundstage.moderate.bias import roc_auc
from soundstage.moderate.service import TIERS, Moderator

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "mod")
    parser.add_argument("--policy", default="community")
    args = parser.parse_args()
    olid = args.data / "olid"
    rows = [line.split("\t") for line in (olid / "testset-levela.tsv").read_text().splitlines()]
    with (olid / "labels-levela.csv").open(encoding="utf-8") as handle:
        labels = {r[0]: r[1] == "OFF" for r in csv.reader(handle)}
    texts, y = [r[1] for r in rows[1:]], [labels[r[0]] for r in rows[1:]]
    print(f"| tier (policy {args.policy}) | ROC-AUC toxicity | routed to MiniLM | texts/s |")
    print("|---|---|---|---|")
    for tier in TIERS:
        moderator = Moderator.load(args.policy, tier=tier, explain=False)
        moderator.check_many(texts[:20])  # load MiniLM outside the timing
        started = time.perf_counter()
        verdicts = moderator.check_many(texts)
        rate = len(texts) / (time.perf_counter() - started)
        auc = roc_auc(y, [v.scores["toxicity"] for v in verdicts])
        routed = sum(v.tier != "fast" for v in verdicts) / len(verdicts)
        print(f"| {tier} | {auc:.4f} | {routed:.0%} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
