"""OLID test A benchmark of the fast moderation tier, side by side with alt-profanity-check.

Why: notes/moderate.md §4 sets the numbers to beat (alt-profanity-check ROC-AUC 0.838, macro-F1
0.767 at its dev threshold; TF-IDF LR 0.817). Measures, on OLID test A (860 tweets, 240 OFF):
ROC-AUC, macro-F1 / precision / recall at the dev-chosen threshold and at 0.5; throughput
(normalise + score) on a batch of OLID tweets; single-text p99 latency; and the obfuscation probe
(OFF tweets with a trigger word, rewritten as leetspeak and as spaced letters; recall at the
operating threshold vs clean recall; variants as in benchmarks/mod_obfuscation.py).

alt-profanity-check 1.9.1 pins scikit-learn and joblib exactly, so it lives in its own venv
(``--apc-venv``, created with ``python -m venv`` + ``pip install alt-profanity-check==1.9.1`` if
missing) and is scored in a subprocess that writes JSON. Its threshold is chosen on our OLID dev
split, like ours. It is never evaluated on Davidson (its training data).

    .venv/bin/python benchmarks/mod_olid.py [--data ../shared/data/mod] [--model DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.moderate.bias import (
    MADLIBS_TERMS,
    bias_report,
    identity_masks,
    read_madlibs,
    roc_auc,
)
from soundstage.moderate.classifier import Classifier
from soundstage.moderate.normalise import normalise
from soundstage.moderate.train import (
    DAVIDSON,
    best_threshold,
    load_dataset,
    macro_f1,
    read_olid_test,
)

TRIGGERS = ("ass", "asshole", "bitch", "bullshit", "crap", "damn", "dumb", "fuck", "fucking",
            "hell", "idiot", "idiots", "liar", "loser", "moron", "pathetic", "shit", "stupid",
            "sucks")  # fmt: skip
_APC_SCRIPT = """
import json, sys
from profanity_check import predict_prob
texts = json.load(sys.stdin)
json.dump([float(p) for p in predict_prob(texts)], sys.stdout)
"""


def ensure_apc(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} with alt-profanity-check 1.9.1 …", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "alt-profanity-check==1.9.1"], check=True
        )
    return python


def apc_scores(python: Path, texts: list[str]) -> np.ndarray:
    run = subprocess.run(
        [str(python), "-c", _APC_SCRIPT],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
    )
    return np.array(json.loads(run.stdout), dtype=np.float64)


def point_metrics(y: np.ndarray, p: np.ndarray, thr: float) -> dict[str, float]:
    pred = p >= thr
    tp = float((pred & (y == 1)).sum())
    return {
        "threshold": thr,
        "macro_f1": macro_f1(y, pred),
        "precision": tp / max(1.0, float(pred.sum())),
        "recall": tp / max(1.0, float((y == 1).sum())),
    }


def obfuscation(off_texts: list[str], score: Any, thr: float) -> dict[str, float]:
    """Recall at ``thr`` on OFF tweets with a trigger: clean vs leet vs spaced letters."""
    import re

    trig = re.compile(r"\b(" + "|".join(sorted(TRIGGERS, key=len, reverse=True)) + r")\b", re.I)
    leet = str.maketrans("aeiosAEIOS", "4310$4310$")
    probe = [t for t in off_texts if trig.search(t)]
    variants = {
        "clean": probe,
        "leet": [trig.sub(lambda m: m.group().translate(leet), t) for t in probe],
        "spaced": [trig.sub(lambda m: " ".join(m.group()), t) for t in probe],
    }
    out: dict[str, float] = {"n": len(probe)}
    for name, texts in variants.items():
        out[name] = float((score(texts) >= thr).mean())
    return out


def throughput(clf: Classifier, texts: list[str]) -> dict[str, float]:
    batch = texts[:1000]
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        clf.score([normalise(t).text for t in batch])
        best = min(best, time.perf_counter() - t0)
    lat = []
    for t in texts[:500]:
        t0 = time.perf_counter()
        clf.score([normalise(t).text])
        lat.append(time.perf_counter() - t0)
    big = " ".join(texts) * (1 + 1_000_000 // max(1, len(" ".join(texts))))
    big = big[:1_000_000]
    t0 = time.perf_counter()
    clf.score([normalise(big).text])
    return {
        "texts_per_s": len(batch) / best,
        "p50_ms": float(np.percentile(lat, 50) * 1e3),
        "p99_ms": float(np.percentile(lat, 99) * 1e3),
        "one_mb_s": time.perf_counter() - t0,
    }


def bias(clf: Classifier, data: Path, sample: int) -> dict[str, Any] | None:
    """Borkan et al. metrics of the toxicity score on a fixed sample of bias_madlibs_77k
    (evaluation only; never trained on). Same sample size as notes/moderate.md §4 (8,000)."""
    path = data / "conversationai_bias_eval" / "bias_madlibs_77k.csv"
    if not path.is_file():
        return None
    texts, labels = read_madlibs(path)
    idx = np.sort(np.random.default_rng(0).choice(len(texts), size=sample, replace=False))
    texts = [texts[i] for i in idx]
    labels = labels[idx]
    tox = clf.score([normalise(t).text for t in texts])[:, clf.categories.index("toxicity")]
    masks = {k: v for k, v in identity_masks(texts, MADLIBS_TERMS).items() if v.sum() >= 100}
    report = bias_report(labels, tox, masks)
    worst = sorted(report.rows, key=lambda r: r.bpsn_auc)[:3]
    return {
        "n": report.n,
        "identities": len(report.rows),
        "overall_auc": report.overall_auc,
        "final_metric": report.final_metric,
        "worst_bpsn": [(r.identity, round(r.bpsn_auc, 3)) for r in worst],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/mod"))
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--apc-venv", type=Path, default=Path("/tmp/apc-venv"))
    ap.add_argument("--no-apc", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--bias-sample", type=int, default=8000, help="0 = skip the bias probe")
    args = ap.parse_args()
    if not (args.data / "olid" / "testset-levela.tsv").is_file():
        sys.exit(f"OLID data not found in {args.data / 'olid'}")
    clf = Classifier.load(args.model)
    seed = int(clf.config["training"]["seed"])
    texts, off, _ = read_olid_test(args.data / "olid")
    y = off.astype(np.int64)
    _, dev = load_dataset(args.data, seed)  # same dev split as training (OLID rows only)
    dev_raw = [t for t, s in zip(dev.raw, dev.source, strict=True) if s == 0]
    dev_y = dev.labels[dev.source == 0, 0].astype(np.int64)
    j = clf.categories.index("toxicity")

    def ours(batch: list[str]) -> np.ndarray:
        return clf.score([normalise(t).text for t in batch])[:, j].astype(np.float64)

    results: dict[str, Any] = {}
    systems: dict[str, Any] = {"soundstage fast": (ours, clf.thresholds["toxicity"])}
    if not args.no_apc:
        python = ensure_apc(args.apc_venv)
        apc_dev = apc_scores(python, dev_raw)  # raw tweets, as it is used in the wild
        thr = best_threshold(dev_y, apc_dev)
        systems["alt-profanity-check 1.9.1"] = (lambda b: apc_scores(python, b), thr)
    off_texts = [t for t, label in zip(texts, y, strict=True) if label == 1]
    for name, (fn, thr) in systems.items():
        p = fn(texts)
        results[name] = {
            "roc_auc": roc_auc(y, p),
            "at_dev_threshold": point_metrics(y, p, thr),
            "at_0.5": point_metrics(y, p, 0.5),
            "obfuscation": obfuscation(off_texts, fn, thr),
        }
    results["soundstage fast"]["speed"] = throughput(clf, texts)
    results["soundstage fast"]["bias"] = (
        bias(clf, args.data, args.bias_sample) if args.bias_sample else None
    )
    results["model"] = f"{clf.name}@{clf.version}"
    results["davidson_note"] = f"alt-profanity-check never evaluated on {DAVIDSON}"
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"## OLID test A (n = {len(y)}, {int(y.sum())} OFF), model {results['model']}\n")
    print("| system | ROC-AUC | macro-F1 @dev thr (thr) | P | R | macro-F1 @0.5 | P | R |")
    print("|---|---|---|---|---|---|---|---|")
    for name in systems:
        r = results[name]
        d, h = r["at_dev_threshold"], r["at_0.5"]
        print(
            f"| {name} | {r['roc_auc']:.3f} | {d['macro_f1']:.3f} ({d['threshold']:.2f}) | "
            f"{d['precision']:.3f} | {d['recall']:.3f} | {h['macro_f1']:.3f} | "
            f"{h['precision']:.3f} | {h['recall']:.3f} |"
        )
    print("\n### Obfuscation probe (recall at the dev threshold; OFF tweets with a trigger word)\n")
    print("| system | n | clean | leet | spaced | leet / clean | spaced / clean |")
    print("|---|---|---|---|---|---|---|")
    for name in systems:
        o = results[name]["obfuscation"]
        print(
            f"| {name} | {o['n']:.0f} | {o['clean']:.3f} | {o['leet']:.3f} | {o['spaced']:.3f} "
            f"| {o['leet'] / max(o['clean'], 1e-9):.2f} "
            f"| {o['spaced'] / max(o['clean'], 1e-9):.2f} |"
        )
    s = results["soundstage fast"]["speed"]
    print(
        f"\nspeed (normalise + score, this machine): {s['texts_per_s']:.0f} texts/s (batch of "
        f"1,000 OLID tweets, best of 3); single text p50 {s['p50_ms']:.2f} ms, p99 "
        f"{s['p99_ms']:.2f} ms; 1 MB text {s['one_mb_s']:.2f} s"
    )
    b = results["soundstage fast"]["bias"]
    if b:
        worst = ", ".join(f"{k} {v:.3f}" for k, v in b["worst_bpsn"])
        print(
            f"\nbias probe (bias_madlibs_77k sample of {b['n']}, {b['identities']} identities with"
            f" >= 100 rows): overall AUC {b['overall_auc']:.3f}, final metric "
            f"{b['final_metric']:.3f}; worst BPSN {worst}"
        )


if __name__ == "__main__":
    main()
