"""OLID test (subtask A, 860 tweets): fast tier vs embed tier vs ensemble vs borderline cascade.

Why: the embed tier (MiniLM + numpy head) is ~30× slower than the fast tier, so it only pays
off if blending it in on the fast tier's *borderline* texts recovers most of the full
ensemble's gain while sending few texts to MiniLM. This prints, for toxicity (and per-category
AUC for insult / identity_attack where both tiers have the head): ROC-AUC, macro-F1 at each
tier's dev-chosen threshold, macro-F1 at 0.5, the fraction of texts routed to MiniLM and texts/s.

Nothing here is tuned on OLID test. Thresholds come from each model's config (chosen on its own
OLID dev split); the ensemble / cascade threshold is the log-odds mean of the two tiers'
thresholds, and the cascade band is label-free: the ±δ logit band around the fast threshold
that holds a target fraction (default 25 %) of the fast tier's scores on OLID *test texts*
(no labels used) — the same rule a deployment would apply to its own traffic.

    .venv/bin/python benchmarks/mod_olid_tiers.py [--data ../shared/data/mod] [--json]
        [--fast-model DIR] [--embed-model DIR] [--route 0.25] [--threads 2]

Timing: one process, torch on ``--threads`` CPU threads; the machine is shared, so texts/s
(especially MiniLM's) move with load.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from soundstage.moderate.bias import roc_auc
from soundstage.moderate.embed_fit import macro_f1, read_olid_test
from soundstage.moderate.embed_tier import (
    EmbedTier,
    cascade,
    combine_logits,
    logit,
    sigmoid,
)
from soundstage.moderate.normalise import normalise

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mod"

Scorer = Callable[[Sequence[str]], NDArray[np.float64]]


def load_fast(model: Path | None) -> tuple[Any, dict[str, float]] | None:
    """The fast-tier classifier and its thresholds, or None when that package is not there."""
    try:
        from soundstage.moderate.classifier import Classifier
    except ImportError:
        return None
    try:
        clf = Classifier.load(model) if model is not None else Classifier.load()
    except Exception as exc:  # a missing or malformed model directory: report, don't crash
        print(f"fast tier unavailable: {exc}", file=sys.stderr)
        return None
    thresholds = dict(getattr(clf, "thresholds", {}) or {})
    return clf, {k: float(v) for k, v in thresholds.items()}


def fast_column(clf: Any, category: str) -> Scorer:
    j = list(clf.categories).index(category)

    def score(texts: Sequence[str]) -> NDArray[np.float64]:
        return np.asarray(clf.score(list(texts)), dtype=np.float64)[:, j]

    return score


def band_for_fraction(
    fast: NDArray[np.float64], thr: float, fraction: float
) -> tuple[float, float]:
    """The symmetric logit band around ``thr`` that holds ``fraction`` of the scores."""
    dist = np.abs(logit(fast) - logit(np.array([thr]))[0])
    delta = float(np.quantile(dist, fraction)) if fraction > 0 else 0.0
    z = logit(np.array([thr]))[0]
    lo, hi = sigmoid(np.array([z - delta, z + delta]))
    return float(lo), float(hi)


def texts_per_second(fn: Callable[[], object], n: int, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def row(name: str, y: NDArray[np.bool_], p: NDArray[np.float64], thr: float) -> dict[str, Any]:
    return {
        "model": name,
        "auc": round(roc_auc(y, p), 4),
        "macro_f1_thr": round(macro_f1(y, p >= thr), 4),
        "thr": round(thr, 3),
        "macro_f1_05": round(macro_f1(y, p >= 0.5), 4),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    test = read_olid_test(args.data)
    texts = [normalise(t).text for t in test.texts]
    n = len(texts)
    y = test.labels[:, 0] > 0.5
    embed = EmbedTier.load(args.embed_model)
    X = embed.embed(texts, cache=True)  # fine-tuned top layers when the model has them
    p_embed_all = embed.score_embeddings(X)
    p_embed = p_embed_all[:, 0]
    thr_embed = embed.thresholds.get("toxicity", 0.5)
    kind = "MLP" if embed.head.hidden_weights is not None else "LR"
    encoder = "MiniLM"
    if embed.encoder is not None:
        encoder += f", top {len(embed.encoder.layers_idx)} layers fine-tuned"
    rows = [row(f"embed tier ({encoder} + {kind})", y, p_embed, thr_embed)]
    out: dict[str, Any] = {"n": n, "n_pos": int(y.sum()), "rows": rows, "categories": {}}

    # throughput of MiniLM itself, uncached (one pass: it takes seconds); load the weights first
    embed.score(texts[:8])
    t0 = time.perf_counter()
    embed.score(texts)
    embed_tps = n / (time.perf_counter() - t0)
    rows[0]["texts_per_s"] = round(embed_tps, 1)
    rows[0]["routed"] = 1.0

    fast = load_fast(args.fast_model)
    if fast is None:
        out["note"] = "fast tier not installed: embed tier only"
    else:
        clf, fast_thresholds = fast
        fast_tox = fast_column(clf, "toxicity")
        p_fast = fast_tox(texts)
        thr_fast = fast_thresholds.get("toxicity", 0.5)
        fast_tps = texts_per_second(lambda: fast_tox(texts), n)
        r = row("fast tier (hashed TF-IDF + LR)", y, p_fast, thr_fast)
        r.update(texts_per_s=round(fast_tps, 1), routed=0.0)
        rows.insert(0, r)
        thr_ens = float(
            sigmoid(
                np.array(
                    [0.5 * logit(np.array([thr_fast]))[0] + 0.5 * logit(np.array([thr_embed]))[0]]
                )
            )[0]
        )
        p_ens = combine_logits(p_fast, p_embed)
        r = row("ensemble (mean logit, all texts)", y, p_ens, thr_ens)
        r.update(texts_per_s=round(1.0 / (1.0 / fast_tps + 1.0 / embed_tps), 1), routed=1.0)
        rows.append(r)
        by_index = {t: i for i, t in enumerate(texts)}

        def cached_embed(batch: Sequence[str]) -> NDArray[np.float64]:
            return p_embed[[by_index[t] for t in batch]]

        sweep = []
        for frac in sorted({args.route, 0.1, 0.25, 0.4, 0.6}):
            band = band_for_fraction(p_fast, thr_fast, frac)
            c = cascade(texts, p_fast, cached_embed, band)
            tps = 1.0 / (1.0 / fast_tps + c.routed_fraction / embed_tps)
            r = row(f"cascade, band {band[0]:.2f}–{band[1]:.2f}", y, c.scores, thr_ens)
            r.update(texts_per_s=round(tps, 1), routed=round(c.routed_fraction, 3))
            sweep.append((frac, r))
        chosen = next(r for f, r in sweep if f == args.route)
        rows.append(chosen)
        # measured end to end with MiniLM for real on the chosen band
        band = band_for_fraction(p_fast, thr_fast, args.route)
        t0 = time.perf_counter()
        c = cascade(texts, fast_tox(texts), lambda b: embed.score(b)[:, 0], band)
        chosen["texts_per_s_measured"] = round(n / (time.perf_counter() - t0), 1)
        out["sweep"] = [dict(r, target=f) for f, r in sweep]
        for cat in ("insult", "identity_attack"):
            if cat in embed.categories and cat in clf.categories:
                yc = (
                    test.labels[:, list(("toxicity", "insult", "identity_attack")).index(cat)] > 0.5
                )
                pe = p_embed_all[:, embed.categories.index(cat)]
                pf = fast_column(clf, cat)(texts)
                out["categories"][cat] = {
                    "n_pos": int(yc.sum()),
                    "fast_auc": round(roc_auc(yc, pf), 4),
                    "embed_auc": round(roc_auc(yc, pe), 4),
                    "ensemble_auc": round(roc_auc(yc, combine_logits(pf, pe)), 4),
                }
    if fast is None:
        for cat in ("insult", "identity_attack"):
            if cat in embed.categories:
                yc = test.labels[:, ("toxicity", "insult", "identity_attack").index(cat)] > 0.5
                pe = p_embed_all[:, embed.categories.index(cat)]
                out["categories"][cat] = {
                    "n_pos": int(yc.sum()),
                    "embed_auc": round(roc_auc(yc, pe), 4),
                }
    return out


def markdown(out: dict[str, Any]) -> str:
    lines = [
        f"## OLID test, subtask A (n = {out['n']}, {out['n_pos']} OFF)",
        "",
        "| model | ROC-AUC | macro-F1 @ dev thr (thr) | macro-F1 @ 0.5 | routed to MiniLM "
        "| texts/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in out["rows"]:
        tps = f"{r['texts_per_s']:,.0f}"
        if "texts_per_s_measured" in r:
            tps += f" (measured {r['texts_per_s_measured']:,.0f})"
        lines.append(
            f"| {r['model']} | {r['auc']:.4f} | {r['macro_f1_thr']:.4f} ({r['thr']:.3f}) | "
            f"{r['macro_f1_05']:.4f} | {r['routed']:.0%} | {tps} |"
        )
    if out.get("sweep"):
        lines += [
            "",
            "Cascade sweep (band = share of texts nearest the fast threshold):",
            "",
            "| target | band | routed | ROC-AUC | macro-F1 @ thr | texts/s |",
            "|---:|---|---:|---:|---:|---:|",
        ]
        for r in out["sweep"]:
            lines.append(
                f"| {r['target']:.0%} | {r['model'].split('band ')[1]} | {r['routed']:.1%} | "
                f"{r['auc']:.4f} | {r['macro_f1_thr']:.4f} | {r['texts_per_s']:,.0f} |"
            )
    if out["categories"]:
        lines += [
            "",
            "| category (OLID test labels B/C) | positives | fast AUC | embed AUC | ensemble AUC |",
            "|---|---:|---:|---:|---:|",
        ]
        for cat, c in out["categories"].items():
            lines.append(
                f"| {cat} | {c['n_pos']} | {c.get('fast_auc', float('nan')):.4f} | "
                f"{c['embed_auc']:.4f} | {c.get('ensemble_auc', float('nan')):.4f} |"
            )
    if "note" in out:
        lines += ["", out["note"]]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--fast-model", type=Path, default=None)
    parser.add_argument("--embed-model", type=Path, default=None)
    parser.add_argument("--route", type=float, default=0.25, help="cascade: share sent to MiniLM")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not (args.data / "olid" / "testset-levela.tsv").is_file():
        print(f"error: OLID test set not found under {args.data}", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(args.threads)
    out = run(args)
    print(json.dumps(out, indent=2) if args.json else markdown(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
