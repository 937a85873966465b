"""Jigsaw Unintended Bias metrics on bias_madlibs_77k, lexicon baseline (notes/moderate.md §3).

Why: exercises soundstage.moderate.bias end to end on the Dixon et al. 2018 templates (50
identity terms, 76,564 sentences, half BAD) before a trained classifier exists. The scorer is a
REFERENCE POINT ONLY: score = number of words from a handful of common insults; it knows
nothing about identities, so its bias numbers measure the templates, not a model. Identity g =
the text contains the term as whole words (so "african american" also counts for "african" and
"american"). The templates cross every identity with every adjective, so an identity-blind scorer
gets the same three AUCs for every identity; a second, synthetic scorer adds a penalty to texts
mentioning "gay" to show the per-identity AUCs react (a probe of the metric, not of a model).
Prints markdown.

    .venv/bin/python benchmarks/mod_bias_madlibs.py [path/to/bias_madlibs_77k.csv]
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import numpy as np

from soundstage.moderate.bias import MADLIBS_TERMS, bias_report, identity_masks, read_madlibs

DEFAULT = Path("/work/shared/data/mod/conversationai_bias_eval/bias_madlibs_77k.csv")
# A generic insult lexicon, deliberately short: not the templates' full list of BAD adjectives.
INSULTS = ("stupid", "idiot", "idiotic", "dumb", "moron", "moronic", "ugly", "disgusting", "hate")


def lexicon_scores(texts: list[str]) -> np.ndarray:
    """Lexicon baseline: how many insult words a text contains (ties are common, on purpose)."""
    pattern = re.compile(r"\b(?:" + "|".join(INSULTS) + r")\b", re.IGNORECASE)
    return np.array([len(pattern.findall(t)) for t in texts], dtype=np.float64)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    texts, labels = read_madlibs(path)
    t0 = time.perf_counter()
    masks = identity_masks(texts, MADLIBS_TERMS)
    t1 = time.perf_counter()
    report = bias_report(labels, lexicon_scores(texts), masks)
    t2 = time.perf_counter()
    print(f"## Bias metrics on {path.name}: lexicon baseline ({', '.join(INSULTS)})\n")
    print("Reference point only — not a model. Borkan et al. 2019, p = -5, weights 0.25.\n")
    print(report.table())
    print(f"final metric: {report.final_metric:.4f}\n")
    probe = lexicon_scores(texts) + 0.5 * masks["gay"]
    biased = bias_report(labels, probe, masks)
    worst = sorted(biased.rows, key=lambda r: r.bpsn_auc)[:2]
    print('### Probe: same lexicon, +0.5 for any text mentioning "gay" (synthetic bias)\n')
    print(
        f"final metric {biased.final_metric:.4f} (was {report.final_metric:.4f}); "
        f"worst BPSN {biased.worst_bpsn}; "
        + "; ".join(
            f"{r.identity}: subgroup {r.subgroup_auc:.4f} BPSN {r.bpsn_auc:.4f} "
            f"BNSP {r.bnsp_auc:.4f}"
            for r in worst
        )
        + "\n"
    )
    print(f"timing: identity masks {t1 - t0:.2f} s, metrics {t2 - t1:.2f} s")


if __name__ == "__main__":
    main()
