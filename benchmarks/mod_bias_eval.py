"""Identity-term bias of the moderation tiers on the Conversation AI evaluation sets.

Why: a toxicity model that ranks "I am a gay man" above "you are a disgusting idiot" turns
moderation into discrimination (Dixon et al. 2018; Perspective's 2017 failure, BPSN "gay" 0.648).
This scores every available tier — fast (hashed TF-IDF + LR, if installed), embed (MiniLM +
head) and the borderline cascade — on three EVALUATION-ONLY sets (never trained on) and prints
the Borkan et al. 2019 metrics (soundstage.moderate.bias; notes/moderate.md §3): overall AUC,
per-identity subgroup / BPSN / BNSP AUC, power mean p = −5, final metric (weights 0.25).

- ``bias_madlibs_77k.csv`` — 76,564 template sentences (Dixon et al. 2018), 50 identity terms,
  all rows by default: MiniLM embeds these short sentences at ~380/s on 2 CPU threads (~3.5 min
  the first time, then cached under /tmp); ``--madlibs-sample N`` scores a seeded sample.
- ``toxicity_{fuzzed,nonfuzzed}_testset.csv`` — 1,492 real Wikipedia comments each (248 toxic);
  the fuzzed copy swaps identity terms at random, so a gap between the two is term sensitivity.
- ``sentence_templates/{de,nl,zh-cn,hi-Latn}`` (``--languages``): overall AUC only, a seeded
  sample per language — to show the English-only tiers do not work there.

Identity g = the text mentions the term as whole words (bias.identity_masks), so "african
american" also counts for "african" and "american". ``--model DIR`` points the fast tier at
another model directory (before/after a bias mitigation); ``--embed-model DIR`` likewise.

    .venv/bin/python benchmarks/mod_bias_eval.py [--data ../shared/data/mod] [--model DIR]
        [--embed-model DIR] [--madlibs-sample 0] [--languages de,nl,zh-cn,hi-Latn]
        [--lang-sample 2000] [--min-identity 20] [--tiers fast,embed,cascade] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from soundstage.moderate.bias import (
    MADLIBS_TERMS,
    BiasReport,
    bias_report,
    identity_masks,
    read_madlibs,
    roc_auc,
)
from soundstage.moderate.embed_tier import EmbedTier, cascade, logit, sigmoid
from soundstage.moderate.normalise import normalise

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mod"
EVAL = "conversationai_bias_eval"
LANGUAGES = ("de", "nl", "zh-cn", "hi-Latn")
ROUTE = (
    0.25  # cascade: share of texts nearest the fast threshold sent to MiniLM (as mod_olid_tiers)
)


@dataclass(frozen=True)
class EvalSet:
    name: str
    texts: list[str]  # as given (identity masks are computed on these)
    labels: NDArray[np.bool_]
    note: str = ""


def _sample(n: int, k: int, seed: int) -> NDArray[np.int64]:
    if k <= 0 or k >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


def load_madlibs(data: Path, sample: int, seed: int = 0) -> EvalSet:
    texts, labels = read_madlibs(data / EVAL / "bias_madlibs_77k.csv")
    idx = _sample(len(texts), sample, seed)
    note = (
        f"seeded sample {idx.size} of {len(texts)} (seed {seed})" if idx.size < len(texts) else ""
    )
    return EvalSet("bias_madlibs_77k", [texts[i] for i in idx], labels[idx], note)


def load_wiki(data: Path, which: str) -> EvalSet:
    texts, labels = [], []
    with (data / EVAL / f"toxicity_{which}_testset.csv").open(newline="", encoding="utf-8") as f:
        for rec in csv.DictReader(f):
            texts.append(rec["comment"])
            labels.append(rec["toxic"] == "True")
    return EvalSet(f"toxicity_{which}_testset", texts, np.array(labels, dtype=bool))


def load_language(data: Path, lang: str, sample: int, seed: int = 0) -> EvalSet:
    texts, labels = [], []
    path = data / EVAL / "sentence_templates" / f"{lang}_sentence_templates.csv"
    with path.open(newline="", encoding="utf-8") as f:
        for rec in csv.DictReader(f):
            texts.append(rec["phrase"])
            labels.append(rec["toxicity"] == "toxic")
    idx = _sample(len(texts), sample, seed)
    return EvalSet(
        f"templates {lang}",
        [texts[i] for i in idx],
        np.array(labels, dtype=bool)[idx],
        f"seeded sample {idx.size} of {len(texts)}" if idx.size < len(texts) else "",
    )


# --- scorers -----------------------------------------------------------------------------------

Scorer = Callable[[list[str]], NDArray[np.float64]]


def build_scorers(args: argparse.Namespace) -> tuple[dict[str, Scorer], list[str]]:
    """name → f(normalised texts) -> toxicity probabilities; plus notes on what is missing."""
    notes: list[str] = []
    scorers: dict[str, Scorer] = {}
    tiers = set(args.tiers.split(","))
    fast_fn: Scorer | None = None
    fast_thr = 0.5
    try:
        from soundstage.moderate.classifier import Classifier

        clf = Classifier.load(args.model) if args.model else Classifier.load()
        j = list(clf.categories).index("toxicity")
        fast_thr = float(dict(getattr(clf, "thresholds", {}) or {}).get("toxicity", 0.5))

        def fast_fn(texts: list[str]) -> NDArray[np.float64]:
            return np.asarray(clf.score(texts), dtype=np.float64)[:, j]

        label = f"fast ({args.model.name})" if args.model else "fast"
        if "fast" in tiers:
            scorers[label] = fast_fn
    except Exception as exc:  # package or model absent: say so, score what exists
        notes.append(f"fast tier unavailable ({type(exc).__name__}: {exc})")
    embed = EmbedTier.load(args.embed_model)

    def embed_fn(texts: list[str]) -> NDArray[np.float64]:
        return embed.score_embeddings(embed.embed(texts, cache=True))[:, 0]

    if "embed" in tiers:
        scorers["embed"] = embed_fn
    if fast_fn is not None and "cascade" in tiers:
        f = fast_fn

        def cascade_fn(texts: list[str]) -> NDArray[np.float64]:
            p = f(texts)
            dist = np.abs(logit(p) - logit(np.array([fast_thr]))[0])
            delta = float(np.quantile(dist, ROUTE))
            z = logit(np.array([fast_thr]))[0]
            lo, hi = sigmoid(np.array([z - delta, z + delta]))
            return cascade(texts, p, lambda b: embed_fn(list(b)), (float(lo), float(hi))).scores

        scorers["cascade"] = cascade_fn
    return scorers, notes


# --- report ------------------------------------------------------------------------------------


def summarise(report: BiasReport, worst: int = 5) -> dict[str, Any]:
    rows = sorted(report.rows, key=lambda r: r.bpsn_auc)
    return {
        "n": report.n,
        "n_pos": report.n_pos,
        "overall_auc": round(report.overall_auc, 4),
        "final_metric": round(report.final_metric, 4),
        "subgroup_power_mean": round(report.subgroup_power_mean, 4),
        "bpsn_power_mean": round(report.bpsn_power_mean, 4),
        "bnsp_power_mean": round(report.bnsp_power_mean, 4),
        "worst_bpsn": [[r.identity, round(r.bpsn_auc, 4), r.n] for r in rows[:worst]],
        "worst_bnsp": [
            [r.identity, round(r.bnsp_auc, 4)]
            for r in sorted(report.rows, key=lambda r: r.bnsp_auc)[:3]
        ],
        "identities": len(report.rows),
        "skipped": len(report.skipped),
        "per_identity": {
            r.identity: [round(r.subgroup_auc, 4), round(r.bpsn_auc, 4), round(r.bnsp_auc, 4)]
            for r in report.rows
        },
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Score every set with every scorer; identities mentioned < ``min_identity`` times are left
    out (their AUCs rest on a handful of comments: Kaggle used identities with >= 500)."""
    scorers, notes = build_scorers(args)
    sets = [
        load_madlibs(args.data, args.madlibs_sample),
        load_wiki(args.data, "nonfuzzed"),
        load_wiki(args.data, "fuzzed"),
    ]
    out: dict[str, Any] = {"notes": notes, "sets": {}, "languages": {}}
    for s in sets:
        all_masks = identity_masks(s.texts, MADLIBS_TERMS)
        masks = {k: m for k, m in all_masks.items() if m.sum() >= args.min_identity}
        norm = [normalise(t).text for t in s.texts]
        rare = sorted(k for k in all_masks if k not in masks)
        note = s.note + (
            f"; {len(masks)} identities with >= {args.min_identity} mentions" if rare else ""
        )
        entry: dict[str, Any] = {"note": note.lstrip("; "), "rare": rare, "scorers": {}}
        for name, fn in scorers.items():
            t0 = time.perf_counter()
            p = fn(norm)
            entry["scorers"][name] = summarise(bias_report(s.labels, p, masks))
            entry["scorers"][name]["seconds"] = round(time.perf_counter() - t0, 1)
        out["sets"][s.name] = entry
    for lang in [x for x in args.languages.split(",") if x]:
        s = load_language(args.data, lang, args.lang_sample)
        norm = [normalise(t).text for t in s.texts]
        out["languages"][lang] = {
            "n": len(s.texts),
            "n_pos": int(s.labels.sum()),
            "note": s.note,
            "auc": {name: round(roc_auc(s.labels, fn(norm)), 4) for name, fn in scorers.items()},
        }
    return out


def markdown(out: dict[str, Any]) -> str:
    lines: list[str] = []
    for note in out["notes"]:
        lines.append(f"> {note}")
    for set_name, entry in out["sets"].items():
        lines += ["", f"## {set_name}" + (f" ({entry['note']})" if entry["note"] else ""), ""]
        lines += [
            "| scorer | n (toxic) | overall AUC | final metric | M_p subgroup | M_p BPSN "
            "| M_p BNSP | min BPSN (identity) | 5 worst BPSN |",
            "|---|---|---:|---:|---:|---:|---:|---|---|",
        ]
        for name, r in entry["scorers"].items():
            worst = r["worst_bpsn"]
            lines.append(
                f"| {name} | {r['n']} ({r['n_pos']}) | {r['overall_auc']:.4f} | "
                f"**{r['final_metric']:.4f}** | {r['subgroup_power_mean']:.4f} | "
                f"{r['bpsn_power_mean']:.4f} | {r['bnsp_power_mean']:.4f} | "
                f"{worst[0][1]:.4f} ({worst[0][0]}, n={worst[0][2]}) | "
                + ", ".join(f"{i} {v:.3f}" for i, v, _ in worst)
                + " |"
            )
    if out["languages"]:
        names = list(next(iter(out["languages"].values()))["auc"])
        lines += ["", "## Non-English sentence templates: overall AUC (English-only models)", ""]
        lines += [
            "| language | n (toxic) | " + " | ".join(names) + " |",
            "|---|---|" + "---:|" * len(names),
        ]
        for lang, r in out["languages"].items():
            lines.append(
                f"| {lang} | {r['n']} ({r['n_pos']}) | "
                + " | ".join(f"{r['auc'][n]:.4f}" for n in names)
                + " |"
            )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", type=Path, default=None, help="fast-tier model directory")
    parser.add_argument("--embed-model", type=Path, default=None)
    parser.add_argument("--tiers", default="fast,embed,cascade")
    parser.add_argument("--madlibs-sample", type=int, default=0, help="0 = all rows")
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    parser.add_argument("--lang-sample", type=int, default=2000, help="0 = all rows")
    parser.add_argument("--min-identity", type=int, default=20, help="min mentions to score")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not (args.data / EVAL / "bias_madlibs_77k.csv").is_file():
        print(f"error: {EVAL} not found under {args.data}", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(args.threads)
    out = run(args)
    print(json.dumps(out, indent=2) if args.json else markdown(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
