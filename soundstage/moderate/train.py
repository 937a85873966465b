"""Train the fast-tier moderation heads (hashed TF-IDF → logistic regression) on OLID + Davidson.

Why this recipe (notes/moderate.md §4): a linear model over word and character n-grams trains in
a few minutes on two cores, scores > 10k texts/s with numpy alone, and its spans are cheap to
explain. scikit-learn is imported here only: inference (:mod:`classifier`) needs numpy.

Data (``data_dir`` = ``../shared/data/mod``): OLID v1.0 training set (13,240 tweets) and Davidson
et al. 2017 (24,783 tweets). A stratified 10% of OLID train (and of Davidson) is held out as
*dev*: Platt calibration, operating thresholds and the choice of C use dev only; OLID *test* is
only measured, never tuned on. Label mapping (−1 = "no label for this head", row left out):

==================  =====================================  ======================================
head                OLID (A / B / C)                        Davidson class (0 hate, 1 off, 2 none)
==================  =====================================  ======================================
toxicity            A = OFF                                 0 or 1 (only with davidson_toxicity)
insult              B = TIN (targeted) ; NOT → 0            −1
obscene             B = UNT ; NOT → 0 ; TIN → −1            1 → 1 ; 2 → 0 ; 0 → −1
identity_attack     C = GRP ; everything else → 0           0 → 1 ; 1, 2 → 0
==================  =====================================  ======================================

``obscene`` is a weak proxy (untargeted offence / offensive-without-hate), said so in the card.

``identity_balance`` (bias mitigation, Dixon et al. 2018 style; on by default because it raised
the bias-probe final metric 0.941 → 0.946 at equal OLID ROC-AUC, see the model card):
(1) counterfactual copies of training texts that mention an identity term, with the term swapped
for another of the same axis (same label), so no single term carries the label; (2) a few
hundred non-toxic sentences mentioning identity terms, written from our own templates (not the
bias-evaluation templates, which are never trained on).

    python -m soundstage.moderate.train --data ../shared/data/mod \\
        --out soundstage/models/moderation-fast
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from soundstage.datasets import check_sources
from soundstage.errors import SoundstageError
from soundstage.fileio import file_sha256
from soundstage.moderate.bias import roc_auc
from soundstage.moderate.features import Csr, FeatureConfig, Featuriser
from soundstage.moderate.normalise import normalise

__all__ = [
    "AXIS_OF",
    "HEADS",
    "IDENTITY_AXES",
    "IDENTITY_RE",
    "NEUTRAL_TEMPLATES",
    "Dataset",
    "load_dataset",
    "main",
    "train",
]

HEADS: tuple[str, ...] = ("toxicity", "insult", "obscene", "identity_attack")
VERSION = "1.0.0"
OLID_TRAIN = "olid/olid-training-v1.0.tsv"
DAVIDSON = "davidson_hate_offensive/labeled_data.csv"
Progress = Callable[[str, float], None]


@dataclass
class Dataset:
    """Texts (already normalised) with one label column per head (−1 = unlabelled)."""

    texts: list[str]
    labels: NDArray[np.int8]  # (n, len(HEADS))
    source: NDArray[np.int8]  # 0 = OLID, 1 = Davidson, 2 = synthetic
    weight: NDArray[np.float32]
    raw: list[str]  # the texts before normalisation (benchmarks score other systems on these)

    def subset(self, idx: NDArray[np.int64]) -> Dataset:
        return Dataset(
            [self.texts[i] for i in idx],
            self.labels[idx],
            self.source[idx],
            self.weight[idx],
            [self.raw[i] for i in idx],
        )

    @staticmethod
    def concat(parts: Sequence[Dataset]) -> Dataset:
        return Dataset(
            [t for p in parts for t in p.texts],
            np.concatenate([p.labels for p in parts]),
            np.concatenate([p.source for p in parts]),
            np.concatenate([p.weight for p in parts]),
            [t for p in parts for t in p.raw],
        )


def _olid_labels(a: str, b: str, c: str) -> list[int]:
    off = a == "OFF"
    return [
        int(off),
        int(off and b == "TIN"),
        1 if off and b == "UNT" else (-1 if off else 0),
        int(off and c == "GRP"),
    ]


# toxicity and insult are OLID-only by default: adding Davidson did not raise dev AUC for
# toxicity (0.819 OLID-only vs 0.818 with Davidson at weight 0.5), so the simpler data wins.
_DAVIDSON_LABELS = {0: [1, -1, -1, 1], 1: [1, -1, 1, 0], 2: [0, -1, 0, 0]}


def read_olid_train(path: Path) -> tuple[list[str], NDArray[np.int8]]:
    """OLID training TSV (QUOTE_NONE: tweets contain unbalanced quotes)."""
    texts: list[str] = []
    labels: list[list[int]] = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) != 5 or row[0] == "id":
                continue
            texts.append(row[1])
            labels.append(_olid_labels(row[2], row[3], row[4]))
    return texts, np.array(labels, dtype=np.int8)


def read_olid_test(folder: Path) -> tuple[list[str], NDArray[np.int8], NDArray[np.int8]]:
    """OLID test set A: texts, OFF labels, and GRP (identity-targeted) labels from level C."""

    def labels(name: str) -> dict[str, str]:
        with (folder / name).open(encoding="utf-8", newline="") as f:
            return {r[0]: r[1] for r in csv.reader(f) if len(r) == 2 and r[0] != "id"}

    a, c = labels("labels-levela.csv"), labels("labels-levelc.csv")
    texts: list[str] = []
    off: list[int] = []
    grp: list[int] = []
    with (folder / "testset-levela.tsv").open(encoding="utf-8", newline="") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) != 2 or row[0] not in a:
                continue
            texts.append(row[1])
            off.append(int(a[row[0]] == "OFF"))
            grp.append(int(c.get(row[0]) == "GRP"))
    return texts, np.array(off, dtype=np.int8), np.array(grp, dtype=np.int8)


def read_davidson(path: Path) -> tuple[list[str], NDArray[np.int8]]:
    texts: list[str] = []
    labels: list[list[int]] = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            texts.append(row["tweet"])
            labels.append(_DAVIDSON_LABELS[int(row["class"])])
    return texts, np.array(labels, dtype=np.int8)


def _stratified_split(
    key: NDArray[np.int64], fraction: float, rng: np.random.Generator
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Indices (train, dev): ``fraction`` of every stratum goes to dev."""
    dev: list[NDArray[np.int64]] = []
    for value in np.unique(key):
        idx = rng.permutation(np.flatnonzero(key == value))
        dev.append(idx[: round(len(idx) * fraction)])
    dev_idx = np.sort(np.concatenate(dev))
    train_idx = np.setdiff1d(np.arange(len(key)), dev_idx)
    return train_idx, dev_idx


def load_dataset(
    data_dir: Path,
    seed: int,
    davidson_weight: float = 0.5,
    dev_fraction: float = 0.1,
    davidson_toxicity: bool = False,
) -> tuple[Dataset, Dataset]:
    """(train, dev) from OLID train + Davidson, normalised, split stratified by label pattern."""
    rng = np.random.default_rng(seed)
    o_texts, o_labels = read_olid_train(data_dir / OLID_TRAIN)
    d_texts, d_labels = read_davidson(data_dir / DAVIDSON)
    if not davidson_toxicity:
        d_labels[:, HEADS.index("toxicity")] = -1
    parts_train: list[Dataset] = []
    parts_dev: list[Dataset] = []
    for texts, labels, source, weight in (
        (o_texts, o_labels, 0, 1.0),
        (d_texts, d_labels, 1, davidson_weight),
    ):
        data = Dataset(
            [normalise(t).text for t in texts],
            labels,
            np.full(len(texts), source, dtype=np.int8),
            np.full(len(texts), weight, dtype=np.float32),
            list(texts),
        )
        key = (labels.astype(np.int64) + 1) @ (3 ** np.arange(labels.shape[1]))
        tr, dv = _stratified_split(key, dev_fraction, rng)
        parts_train.append(data.subset(tr))
        parts_dev.append(data.subset(dv))
    return Dataset.concat(parts_train), Dataset.concat(parts_dev)


# --- identity balancing ------------------------------------------------------------------------

# Our own lists (not the evaluation templates' vocabulary file); swaps stay within an axis.
IDENTITY_AXES: tuple[tuple[str, ...], ...] = (
    ("gay", "straight", "lesbian", "bisexual", "queer", "transgender", "trans", "homosexual",
     "heterosexual", "lgbt"),
    ("black", "white", "asian", "latino", "hispanic", "african", "european", "mexican", "indian",
     "chinese", "arab"),
    ("muslim", "christian", "jewish", "catholic", "buddhist", "hindu", "sikh", "atheist"),
    ("man", "woman", "men", "women", "male", "female", "girl", "boy"),
    ("old", "young", "elderly", "teenage"),
    ("blind", "deaf", "disabled", "autistic"),
)  # fmt: skip
AXIS_OF = {t: i for i, axis in enumerate(IDENTITY_AXES) for t in axis}
IDENTITY_RE = re.compile(r"\b(" + "|".join(sorted(AXIS_OF, key=len, reverse=True)) + r")\b")
NEUTRAL_TEMPLATES = (
    "my neighbour is {} and we cook dinner together on sundays",
    "as a {} person i loved this film",
    "the {} community centre opens at nine",
    "{} people were at the meeting and asked good questions",
    "she wrote a book about growing up {}",
    "we interviewed {} voters about the election",
    "being {} is part of who i am",
    "the festival celebrates {} artists and musicians",
    "he is {} and works as a nurse",
    "our team has {} and non {} members",
)


def identity_augment(data: Dataset, seed: int) -> Dataset:
    """Counterfactual swaps of identity terms plus neutral identity mentions (label 0)."""
    rng = random.Random(seed)
    texts: list[str] = []
    rows: list[int] = []
    for i, text in enumerate(data.texts):
        if data.source[i] == 2 or not IDENTITY_RE.search(text):
            continue

        def swap(m: re.Match[str]) -> str:
            axis = IDENTITY_AXES[AXIS_OF[m.group()]]
            return rng.choice([t for t in axis if t != m.group()])

        texts.append(IDENTITY_RE.sub(swap, text))
        rows.append(i)
    swapped = data.subset(np.array(rows, dtype=np.int64))
    swapped.texts = texts
    swapped.raw = list(texts)
    swapped.weight = swapped.weight * 0.5
    neutral = [
        template.format(term, term) for axis in IDENTITY_AXES for term in axis
        for template in NEUTRAL_TEMPLATES
    ]  # fmt: skip
    synthetic = Dataset(
        neutral,
        np.zeros((len(neutral), len(HEADS)), dtype=np.int8),
        np.full(len(neutral), 2, dtype=np.int8),
        np.full(len(neutral), 0.5, dtype=np.float32),
        list(neutral),
    )
    return Dataset.concat([data, swapped, synthetic])


# --- fitting -----------------------------------------------------------------------------------


def _csr(x: Csr) -> Any:
    from scipy.sparse import csr_matrix

    return csr_matrix((x.data, x.indices, x.indptr), shape=x.shape)


def _fit_head(x: Any, y: NDArray[np.int8], w: NDArray[np.float32], c: float, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    mask = y >= 0
    model = LogisticRegression(
        C=c, class_weight="balanced", solver="liblinear", max_iter=200, random_state=seed
    )
    model.fit(x[mask], y[mask], sample_weight=w[mask])
    return model


def _fit_nb_head(
    x: Any, y: NDArray[np.int8], w: NDArray[np.float32], c: float, seed: int
) -> tuple[NDArray[np.float32], float]:
    """Logistic regression on features scaled by the NB log-count ratio r (Wang & Manning
    2012). x·(r∘v) is linear in x, so the head folds back into one weight vector r∘v."""
    mask = y >= 0
    xm, ym = x[mask], y[mask]
    pos = np.asarray(xm[ym == 1].sum(axis=0)).ravel() + 1.0
    neg = np.asarray(xm[ym == 0].sum(axis=0)).ravel() + 1.0
    r = np.log((pos / pos.sum()) / (neg / neg.sum())).astype(np.float32)
    from scipy.sparse import diags

    model = _fit_head(x @ diags(r), y, w, c, seed)
    return (r * model.coef_[0]).astype(np.float32), float(model.intercept_[0])


def _blend(
    x_dev: Any,
    a: tuple[NDArray[np.float32], float],
    b: tuple[NDArray[np.float32], float],
    mix: float,
) -> tuple[NDArray[np.float32], float]:
    """(1 - mix)·a + mix·b, each scaled by the spread of its dev decision values first."""
    sa = float(np.std(x_dev @ a[0] + a[1])) or 1.0
    sb = float(np.std(x_dev @ b[0] + b[1])) or 1.0
    w = ((1 - mix) * a[0] / sa + mix * b[0] / sb).astype(np.float32)
    return w, (1 - mix) * a[1] / sa + mix * b[1] / sb


def _platt(z: NDArray[np.float64], y: NDArray[np.int8]) -> tuple[float, float]:
    """Sigmoid calibration p = 1 / (1 + exp(-(a z + b))) fitted on dev decision values."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e4, solver="lbfgs", max_iter=1000)
    model.fit(z.reshape(-1, 1), y)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def macro_f1(y: NDArray[Any], pred: NDArray[np.bool_]) -> float:
    """Mean of the F1 of the positive and of the negative class."""
    yb = y.astype(bool)
    out = 0.0
    for cls_y, cls_p in ((yb, pred), (~yb, ~pred)):
        tp = float((cls_y & cls_p).sum())
        denom = float(cls_y.sum() + cls_p.sum())
        out += 2 * tp / denom if denom else 0.0
    return out / 2


def best_threshold(y: NDArray[Any], p: NDArray[np.float64]) -> float:
    """Threshold in [0.05, 0.95] that maximises macro-F1 on (dev) labels."""
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2)
    scores = [macro_f1(y, p >= t) for t in grid]
    return float(grid[int(np.argmax(scores))])


def _write_atomic(out_dir: Path, config: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> None:
    """Write into a temp dir beside ``out_dir``, then swap it in (keeps other files, e.g. the
    model card, that already live in ``out_dir``)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; a packaged model must be readable
    try:
        if out_dir.is_dir():
            for item in out_dir.iterdir():
                if item.is_file() and item.name not in ("config.json", "weights.npz"):
                    shutil.copy2(item, tmp / item.name)
        np.savez(tmp / "weights.npz", **arrays)  # type: ignore[arg-type]
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        old = out_dir.with_name(f".{out_dir.name}-old-{os.getpid()}")
        if out_dir.exists():
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def train(
    data_dir: Path,
    out_dir: Path,
    *,
    seed: int = 13,
    progress: Progress | None = None,
    bits: int = 18,
    cs: Sequence[float] = (0.5, 1.0, 2.0, 4.0),
    davidson_weight: float = 0.5,
    davidson_toxicity: bool = False,
    identity_balance: bool = True,
    nb_mix: float = 0.5,
    nb_c: float = 4.0,
    float16: bool = True,
    limit: int | None = None,
) -> dict[str, Any]:
    """Train, calibrate and write the model directory; returns the config written.

    ``cs``: C values tried per head, the best dev ROC-AUC wins. ``limit``: use only the first
    ``limit`` rows of each split (tests). ``nb_mix``: weight of an NB-weighted logistic regression
    (NBSVM-style, Wang & Manning 2012; C = ``nb_c``) blended into each head, kept only where it
    raises dev ROC-AUC (0 disables). OLID test metrics are measured and stored when the test
    files are present, but nothing is chosen on them.
    """
    report = progress or (lambda _msg, _frac: None)
    t0 = time.perf_counter()
    data_dir = Path(data_dir)
    for rel in (OLID_TRAIN, DAVIDSON):
        if not (data_dir / rel).is_file():
            raise SoundstageError(
                f"training data missing: {data_dir / rel}",
                hint="pass --data pointing at ../shared/data/mod (OLID and Davidson)",
            )
    check_sources(["olid", "davidson_hate_offensive"])  # registry: opt-outs and licences
    report("loading data", 0.0)
    tr, dev = load_dataset(data_dir, seed, davidson_weight, davidson_toxicity=davidson_toxicity)
    if limit is not None:
        tr, dev = (
            tr.subset(np.arange(min(limit, len(tr.texts)))),
            dev.subset(np.arange(min(limit, len(dev.texts)))),
        )
    if identity_balance:
        tr = identity_augment(tr, seed)
    feat = Featuriser(FeatureConfig(bits=bits))
    report("featurising", 0.1)
    counts = feat.counts(tr.texts)
    feat.fit_idf(counts, min_df=2)
    x_tr = _csr(feat.weigh(counts))
    x_dev = _csr(feat.transform(dev.texts))
    weights = np.zeros((feat.n_features, len(HEADS)), dtype=np.float32)
    bias = np.zeros(len(HEADS), dtype=np.float32)
    heads: dict[str, Any] = {}
    for j, head in enumerate(HEADS):
        report(f"fitting {head}", 0.2 + 0.7 * j / len(HEADS))
        y_dev = dev.labels[:, j]
        dev_mask = y_dev >= 0
        if head == "toxicity":  # the operating point is for OLID-like text
            dev_mask &= dev.source == 0
        best: tuple[float, float, Any] | None = None
        for c in cs:
            model = _fit_head(x_tr, tr.labels[:, j], tr.weight, c, seed)
            z = model.decision_function(x_dev[dev_mask])
            auc = roc_auc(y_dev[dev_mask], z)
            if best is None or auc > best[0]:
                best = (auc, c, model)
        assert best is not None
        auc, c, model = best
        w = model.coef_[0].astype(np.float32)
        b0 = float(model.intercept_[0])
        mix = 0.0
        if nb_mix > 0:
            w_nb, b_nb = _fit_nb_head(x_tr, tr.labels[:, j], tr.weight, nb_c, seed)
            w_mix, b_mix = _blend(x_dev[dev_mask], (w, b0), (w_nb, b_nb), nb_mix)
            z_mix = x_dev[dev_mask] @ w_mix + b_mix
            auc_mix = roc_auc(y_dev[dev_mask], z_mix)
            if auc_mix > auc:  # keep the blend only where dev says it helps
                auc, w, b0, mix = auc_mix, w_mix, b_mix, nb_mix
        if float16:
            w = w.astype(np.float16).astype(np.float32)
        weights[:, j] = w
        bias[j] = b0
        z = (x_dev[dev_mask] @ w + bias[j]).astype(np.float64)
        a, b = _platt(z, y_dev[dev_mask])
        p = 1 / (1 + np.exp(-(a * z + b)))
        heads[head] = {
            "C": c,
            "nb_mix": mix,
            "platt": [a, b],
            "threshold": best_threshold(y_dev[dev_mask], p),
            "dev_auc": round(auc, 4),
            "dev_n": int(dev_mask.sum()),
            "dev_pos": int(y_dev[dev_mask].sum()),
        }
    config: dict[str, Any] = {
        "name": "moderation-fast",
        "version": VERSION,
        "kind": "hashed word+char n-gram TF-IDF, one linear head per category (LR + NB-LR blend)",
        "features": feat.config.to_json(),
        "heads": list(HEADS),
        "calibration": heads,
        "window": {"chars": 1000, "overlap": 200},
        "training": {
            "seed": seed,
            "davidson_weight": davidson_weight,
            "davidson_toxicity": davidson_toxicity,
            "identity_balance": identity_balance,
            "n_train": len(tr.texts),
            "n_dev": len(dev.texts),
            "limit": limit,
            "files": {rel: file_sha256(data_dir / rel) for rel in (OLID_TRAIN, DAVIDSON)},
            "seconds": 0.0,
        },
        "metrics": {},
    }
    arrays: dict[str, NDArray[Any]] = {
        "weights": weights.astype(np.float16 if float16 else np.float32),
        "bias": bias,
        "idf": feat.idf.astype(np.float16 if float16 else np.float32)
        if feat.idf is not None
        else np.zeros(0, np.float32),
    }
    report("measuring OLID test", 0.92)
    test_dir = data_dir / "olid"
    if (test_dir / "testset-levela.tsv").is_file() and (test_dir / "labels-levelc.csv").is_file():
        config["metrics"] = olid_test_metrics(test_dir, feat, weights, bias, heads)
    config["training"]["seconds"] = round(time.perf_counter() - t0, 1)
    _write_atomic(Path(out_dir), config, arrays)
    report("done", 1.0)
    return config


def olid_test_metrics(
    folder: Path,
    feat: Featuriser,
    weights: NDArray[np.float32],
    bias: NDArray[np.float32],
    heads: dict[str, Any],
) -> dict[str, Any]:
    """ROC-AUC and macro-F1 on OLID test A (toxicity) and GRP-vs-rest (identity_attack)."""
    texts, off, grp = read_olid_test(folder)
    z = feat.dot([normalise(t).text for t in texts], weights) + bias
    out: dict[str, Any] = {"olid_test_n": len(texts)}
    for head, y in (("toxicity", off), ("identity_attack", grp)):
        j = HEADS.index(head)
        a, b = heads[head]["platt"]
        p = 1 / (1 + np.exp(-(a * z[:, j] + b)))
        out[head] = {
            "roc_auc": round(roc_auc(y, p), 4),
            "macro_f1_at_threshold": round(macro_f1(y, p >= heads[head]["threshold"]), 4),
            "macro_f1_at_0.5": round(macro_f1(y, p >= 0.5), 4),
        }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mod"))
    parser.add_argument("--out", type=Path, default=Path("soundstage/models/moderation-fast"))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--bits", type=int, default=18)
    parser.add_argument("--davidson-weight", type=float, default=0.5)
    parser.add_argument(
        "--identity-balance",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="counterfactual identity swaps + neutral identity mentions (default: on)",
    )
    parser.add_argument("--nb-mix", type=float, default=0.5)
    args = parser.parse_args(argv)
    missing = [rel for rel in (OLID_TRAIN, DAVIDSON) if not (args.data / rel).is_file()]
    if missing:
        print(f"error: training data not found in {args.data}: {', '.join(missing)}",
              file=sys.stderr)  # fmt: skip
        return 2

    def progress(msg: str, frac: float) -> None:
        print(f"[{frac:4.0%}] {msg}", file=sys.stderr, flush=True)

    try:
        config = train(
            args.data,
            args.out,
            seed=args.seed,
            progress=progress,
            bits=args.bits,
            davidson_weight=args.davidson_weight,
            identity_balance=args.identity_balance,
            nb_mix=args.nb_mix,
        )
    except SoundstageError as exc:  # e.g. a source refused by the data registry
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(config["metrics"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
