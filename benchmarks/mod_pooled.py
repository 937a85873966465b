"""Evaluate a pooled moderation model (soundstage.moderate.pooled_train) on what it never saw.

    .venv/bin/python benchmarks/mod_pooled.py --model runs/pooled [--data ../shared/data/mod]

- OLID test A (860 tweets): ROC-AUC of the toxicity head, macro-F1 at its dev threshold
  (goal: AUC ≥ 0.86, macro-F1 ≥ 0.78);
- Stormfront's balanced test sample (478 sentences, hate vs not): ROC-AUC;
- madlibs (8,000, stratified, seed 0; never trained on): overall AUC, the Borkan bias
  metrics over the 50 identity terms, the worst BPSN (goal: min BPSN ≥ 0.80);
- the functional suite's test half: accuracy per functionality, flagged when either head
  crosses its dev threshold (goal: ≥ 0.80 overall, ≥ 0.60 each);
- throughput: texts/s over 1,000 OLID tweets in one batch call, and single-text latency
  (p50/p99 over 200 calls), on this machine's 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from soundstage.moderate.bias import MADLIBS_TERMS, bias_report, identity_masks, roc_auc  # noqa: E402
from soundstage.moderate.embed_fit import macro_f1  # noqa: E402
from soundstage.moderate.functional import FUNCTIONALITIES, cases  # noqa: E402
from soundstage.moderate.pooled_train import load_pooled, score_pooled  # noqa: E402
from soundstage.moderate.sources import read_source  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mod_loso import sample  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared/data/mod")
    args = ap.parse_args()
    top, meta = load_pooled(args.model)
    thr = meta["thresholds"]

    def score(texts: list[str]) -> np.ndarray:
        return score_pooled(top, meta, texts)

    olid = read_source("olid", args.data)
    test = olid.take(olid.split == "test")
    z = score(test.texts)
    y = test.unacceptable.astype(bool)
    print(f"OLID test A ({len(test)}): AUC {roc_auc(y, z[:, 0]):.4f}, macro-F1 at the dev "
          f"threshold {macro_f1(y, z[:, 0] >= thr['toxicity']):.4f}")  # fmt: skip
    storm = read_source("stormfront", args.data)
    st = storm.take(storm.split == "test")
    print(f"Stormfront test ({len(st)}): AUC {roc_auc(st.unacceptable, score(st.texts)[:, 0]):.4f}"
          f" (identity_attack head {roc_auc(st.hate, score(st.texts)[:, 1]):.4f})")  # fmt: skip
    mad = sample(read_source("madlibs", args.data), 8000)
    zm = score(mad.texts)[:, 0]
    report = bias_report(mad.unacceptable, zm, identity_masks(mad.texts, MADLIBS_TERMS))
    worst = min(report.rows, key=lambda r: r.bpsn_auc)
    print(
        f"madlibs (8,000): AUC {report.overall_auc:.4f}, final bias metric "
        f"{report.final_metric:.4f}, min BPSN {worst.bpsn_auc:.3f} ({worst.identity})"
    )
    suite = cases("test")
    zs = score([c.text for c in suite])
    flags = (zs[:, 0] >= thr["toxicity"]) | (zs[:, 1] >= thr["identity_attack"])
    right: dict[str, list[bool]] = defaultdict(list)
    for case, flag in zip(suite, flags, strict=True):
        right[case.functionality].append(bool(flag) == bool(case.label))
    print(f"\nfunctional suite, test half ({len(suite)}):")
    for name, (label, _, _) in FUNCTIONALITIES.items():
        print(f"| {name} | {'flag' if label else 'allow'} | {np.mean(right[name]):.2f} |")
    overall = float(np.mean([x for v in right.values() for x in v]))
    below = [n for n in FUNCTIONALITIES if np.mean(right[n]) < 0.6]
    print(f"overall {overall:.3f}; below 0.60: {', '.join(below) or 'none'}")
    texts = olid.texts[:1000]
    start = time.perf_counter()
    score(texts)
    rate = len(texts) / (time.perf_counter() - start)
    times = []
    for text in olid.texts[1000:1200]:
        t0 = time.perf_counter()
        score([text])
        times.append(1000 * (time.perf_counter() - t0))
    print(f"\nthroughput {rate:.0f} texts/s (batch of 1,000); single text p50 "
          f"{np.percentile(times, 50):.1f} ms, p99 {np.percentile(times, 99):.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
