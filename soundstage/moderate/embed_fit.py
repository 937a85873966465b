"""Training the embed tier's head: OLID / Davidson readers, the split, fitting, calibration.

Why apart from `embed_tier`: serving loads `embed_tier` in every process that moderates, and has
no use for data readers or torch training loops. This module fits the frozen-encoder head (the
v1 recipe, and the starting head that :mod:`soundstage.moderate.embed_train` fine-tunes from):

    python -m soundstage.moderate.embed_fit --data ../shared/data/mod --out DIR

It needs torch and scikit-learn (the `train` extra); the output folder is written atomically.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from soundstage.datasets import DatasetError, check_sources
from soundstage.moderate.embed_tier import (
    DEFAULT_MODEL_DIR,
    ENCODER_WEIGHTS,
    EmbedTierError,
    Head,
    cache_dir,
    embed_texts,
    sigmoid,
)

# --- data ------------------------------------------------------------------------------------

MODEL_CATEGORIES: tuple[str, ...] = ("toxicity", "insult", "identity_attack")
"""What the data supports (the same mapping as the fast tier's train.py, so the cascade blends
like with like). toxicity = OLID A "OFF" / Davidson hate or offensive (optional); insult = OLID
OFF + targeted (B "TIN", at anyone: Jigsaw's insult is "towards a person or a group") / Davidson
"neither" → 0, other Davidson rows unlabelled; identity_attack = OLID C "GRP" / Davidson "hate
speech". No data set here labels obscenity or threats on their own
(Davidson's "offensive" mixes slurs, insults and profanity), so those stay with the fast tier's
lexicon and rules."""


@dataclass(frozen=True)
class Labelled:
    """Texts with a 0/1 label per category; NaN = the source does not label that category."""

    texts: list[str]
    labels: NDArray[np.float64]  # (n, len(MODEL_CATEGORIES)), 0, 1 or NaN
    source: list[str]


def _olid_row(a: str, b: str, c: str) -> list[float]:
    off = a == "OFF"
    return [
        float(off),
        float(off and b == "TIN"),
        float(off and b == "TIN" and c == "GRP"),
    ]


def read_olid_train(data_dir: Path) -> Labelled:
    """OLID v1.0 training TSV (13,240 tweets); QUOTE_NONE because tweets contain quotes."""
    path = data_dir / "olid" / "olid-training-v1.0.tsv"
    texts, rows = [], []
    with path.open(newline="", encoding="utf-8") as f:
        for rec in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            texts.append(rec["tweet"])
            rows.append(_olid_row(rec["subtask_a"], rec["subtask_b"], rec["subtask_c"]))
    return Labelled(texts, np.array(rows, dtype=np.float64), ["olid"] * len(texts))


def read_olid_test(data_dir: Path) -> Labelled:
    """OLID test set A (860 tweets) with the B and C labels joined in (for insult / identity)."""
    olid = data_dir / "olid"

    def labels(name: str) -> dict[str, str]:
        with (olid / name).open(newline="", encoding="utf-8") as f:
            return {r[0]: r[1] for r in csv.reader(f) if r}

    a, b, c = labels("labels-levela.csv"), labels("labels-levelb.csv"), labels("labels-levelc.csv")
    texts, rows = [], []
    with (olid / "testset-levela.tsv").open(newline="", encoding="utf-8") as f:
        for rec in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            i = rec["id"]
            texts.append(rec["tweet"])
            rows.append(_olid_row(a[i], b.get(i, "NULL"), c.get(i, "NULL")))
    return Labelled(texts, np.array(rows, dtype=np.float64), ["olid"] * len(texts))


def read_davidson(data_dir: Path, toxicity: bool = True) -> Labelled:
    """Davidson et al. 2017 (24,783 tweets): class 0 hate, 1 offensive, 2 neither.

    ``toxicity=False`` leaves its toxicity column unlabelled: Davidson's "offensive" is mostly
    slurs and profanity in AAE-heavy tweets, a different notion from OLID's OFF (and a known
    dialect-bias risk: Sap et al. 2019), so it may help identity_attack but not toxicity.
    """
    path = data_dir / "davidson_hate_offensive" / "labeled_data.csv"
    texts, rows = [], []
    with path.open(newline="", encoding="utf-8") as f:
        for rec in csv.DictReader(f):
            cls = int(rec["class"])
            texts.append(rec["tweet"])
            tox = float(cls in (0, 1)) if toxicity else np.nan
            rows.append([tox, 0.0 if cls == 2 else np.nan, float(cls == 0)])
    return Labelled(texts, np.array(rows, dtype=np.float64), ["davidson"] * len(texts))


def stratified_split(
    strata: Sequence[str], dev_fraction: float, seed: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Train / dev indices with every stratum split in the same proportion (seeded)."""
    rng = np.random.default_rng(seed)
    train, dev = [], []
    keys = np.asarray(strata)
    for key in sorted(set(strata)):
        idx = np.flatnonzero(keys == key)
        rng.shuffle(idx)
        n_dev = int(round(dev_fraction * idx.size))
        dev.append(idx[:n_dev])
        train.append(idx[n_dev:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(dev))


# --- training ----------------------------------------------------------------------------------


def best_threshold(y: NDArray[np.bool_], p: NDArray[np.float64]) -> tuple[float, float]:
    """(threshold, macro-F1) maximising the macro-F1 of the two classes, over all cut points."""
    order = np.argsort(-p, kind="mergesort")
    ys, ps = y[order], p[order]
    n, n_pos = y.size, int(y.sum())
    tp = np.cumsum(ys)  # predicted positive = the top k
    k = np.arange(1, n + 1)
    fp = k - tp
    fn = n_pos - tp
    tn = n - n_pos - fp
    f1_pos = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    f1_neg = 2 * tn / np.maximum(2 * tn + fn + fp, 1)
    macro = (f1_pos + f1_neg) / 2
    # only cut between distinct scores
    valid = np.append(ps[1:] < ps[:-1], True)
    i = int(np.argmax(np.where(valid, macro, -1.0)))
    nxt = ps[i + 1] if i + 1 < n else 0.0
    return float((ps[i] + nxt) / 2), float(macro[i])


def macro_f1(y: NDArray[np.bool_], pred: NDArray[np.bool_]) -> float:
    """Mean F1 of the positive and the negative class (OffensEval's metric)."""
    out = []
    for cls in (True, False):
        tp = int(((pred == cls) & (y == cls)).sum())
        fp = int(((pred == cls) & (y != cls)).sum())
        fn = int(((pred != cls) & (y == cls)).sum())
        out.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return float(np.mean(out))


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters, chosen on the OLID dev split (never on OLID test)."""

    hidden: int = 256  # MLP hidden units; 0 = per-category logistic regression
    C: float = 1.0  # inverse L2 strength of the logistic regressions (hidden = 0)
    epochs: int = 40  # MLP: at most; the best epoch by mean dev AUC is kept
    dropout: float = 0.2
    weight_decay: float = 1e-2
    davidson: bool = True  # add Davidson et al. 2017 to the training side (never to dev)
    davidson_weight: float = 0.5  # its sample weight: 24k profanity-heavy tweets vs 12k OLID
    davidson_toxicity: bool = False  # also learn toxicity from it (hurt OLID dev: see the card)
    dev_fraction: float = 0.1
    seed: int = 13
    categories: tuple[str, ...] = MODEL_CATEGORIES


def _platt(z: NDArray[np.float64], y: NDArray[np.bool_]) -> tuple[float, float]:
    """(scale, shift) of σ(scale·z + shift) fitted by (almost) unregularised logistic loss."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e4, max_iter=1000).fit(z.reshape(-1, 1), y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


RawHead = tuple[
    NDArray[np.float64] | None, NDArray[np.float64] | None, NDArray[np.float64], NDArray[np.float64]
]
"""(hidden weights, hidden bias, output weights, output bias) before calibration."""


def _auc_or_half(y: NDArray[np.bool_], s: NDArray[np.float64]) -> float:
    """ROC AUC, or 0.5 when y has one class (tiny training runs): no information either way."""
    from soundstage.moderate.bias import roc_auc

    return roc_auc(y, s) if 0 < y.sum() < y.size else 0.5


def _fit_linear(
    X: NDArray[np.float32],
    labels: NDArray[np.float64],
    sample_weight: NDArray[np.float64],
    config: TrainConfig,
) -> RawHead:
    """One balanced logistic regression per category (sklearn), rows with a label only."""
    from sklearn.linear_model import LogisticRegression

    k = labels.shape[1]
    W, b = np.zeros((X.shape[1], k)), np.zeros(k)
    for j in range(k):
        known = ~np.isnan(labels[:, j])
        lr = LogisticRegression(C=config.C, class_weight="balanced", max_iter=3000)
        lr.fit(X[known], labels[known, j] > 0.5, sample_weight=sample_weight[known])
        W[:, j], b[j] = lr.coef_[0], lr.intercept_[0]
    return None, None, W, b


def _fit_mlp(
    X: NDArray[np.float32],
    labels: NDArray[np.float64],
    sample_weight: NDArray[np.float64],
    dev_X: NDArray[np.float32],
    dev_labels: NDArray[np.float64],
    config: TrainConfig,
) -> RawHead:
    """A shared hidden layer with one output per category, trained with torch.

    Masked, class-balanced binary cross-entropy: a source that does not label a category
    (Davidson has no insult label) contributes nothing to that output. The epoch with the best
    mean dev AUC is kept (early stopping on OLID dev, never on test).
    """
    import torch

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    known = ~np.isnan(labels)
    y = np.nan_to_num(labels)
    pos = (y * known * sample_weight[:, None]).sum(0)
    neg = ((1 - y) * known * sample_weight[:, None]).sum(0)
    k = labels.shape[1]
    net = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], config.hidden),
        torch.nn.ReLU(),
        torch.nn.Dropout(config.dropout),
        torch.nn.Linear(config.hidden, k),
    )
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=config.weight_decay)
    loss_fn = torch.nn.BCEWithLogitsLoss(
        reduction="none", pos_weight=torch.tensor(neg / np.maximum(pos, 1e-9), dtype=torch.float32)
    )
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.float32))
    Wt = torch.from_numpy((known * sample_weight[:, None]).astype(np.float32))
    dev_t = torch.from_numpy(dev_X)
    best: tuple[float, dict[str, torch.Tensor]] = (-1.0, {})
    for _ in range(config.epochs):
        net.train()
        for batch in np.array_split(rng.permutation(len(X)), max(1, len(X) // 256)):
            bt = torch.from_numpy(batch)
            opt.zero_grad()
            w = Wt[bt]
            loss = (loss_fn(net(Xt[bt]), Yt[bt]) * w).sum() / w.sum().clamp(min=1e-9)
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            z = net(dev_t).numpy().astype(np.float64)
        auc = float(np.mean([_auc_or_half(dev_labels[:, j] > 0.5, z[:, j]) for j in range(k)]))
        if auc > best[0]:
            best = (auc, {n: p.detach().clone() for n, p in net.state_dict().items()})
    state = best[1]
    return (
        state["0.weight"].numpy().T.astype(np.float64),
        state["0.bias"].numpy().astype(np.float64),
        state["3.weight"].numpy().T.astype(np.float64),
        state["3.bias"].numpy().astype(np.float64),
    )


def fit_head(
    X: NDArray[np.float32],
    labels: NDArray[np.float64],
    sample_weight: NDArray[np.float64],
    dev_X: NDArray[np.float32],
    dev_labels: NDArray[np.float64],
    config: TrainConfig,
) -> tuple[Head, dict[str, dict[str, float]]]:
    """Fit the network (MLP or linear), then Platt-calibrate and threshold each output on dev."""
    if config.hidden > 0:
        raw = _fit_mlp(X, labels, sample_weight, dev_X, dev_labels, config)
    else:
        raw = _fit_linear(X, labels, sample_weight, config)
    return calibrate_head(config.categories, raw, labels, dev_X, dev_labels)


def calibrate_head(
    categories: tuple[str, ...],
    raw: RawHead,
    labels: NDArray[np.float64],
    dev_X: NDArray[np.float32],
    dev_labels: NDArray[np.float64],
) -> tuple[Head, dict[str, dict[str, float]]]:
    """Platt-calibrate and threshold each output of a trained network on the dev split.

    ``labels`` (the training labels) only feed the report's counts.
    """
    Wh, bh, W, b = raw
    k = len(categories)
    uncalibrated = Head(categories, W, b, np.ones(k), np.zeros(k), {}, {}, Wh, bh)
    z_dev = uncalibrated.logits(dev_X)
    a, c = np.ones(k), np.zeros(k)
    thresholds: dict[str, float] = {}
    report: dict[str, dict[str, float]] = {}
    for j, cat in enumerate(categories):
        known = ~np.isnan(labels[:, j])
        y_dev = dev_labels[:, j] > 0.5
        if 0 < y_dev.sum() < y_dev.size:
            a[j], c[j] = _platt(z_dev[:, j], y_dev)
        p_dev = sigmoid(a[j] * z_dev[:, j] + c[j])
        thr, f1 = best_threshold(y_dev, p_dev) if y_dev.any() else (0.5, 0.0)
        thresholds[cat] = round(thr, 4)
        report[cat] = {
            "n_train": int(known.sum()),
            "n_train_pos": int((labels[known, j] > 0.5).sum()),
            "n_dev": int(y_dev.size),
            "n_dev_pos": int(y_dev.sum()),
            "dev_auc": round(_auc_or_half(y_dev, p_dev), 4),
            "dev_macro_f1": round(f1, 4),
        }
    head = Head(categories, W, b, a, c, thresholds, {}, Wh, bh)
    return head, report


def train_embed_tier(
    data_dir: Path,
    out_dir: Path,
    config: TrainConfig | None = None,
    limit: int | None = None,
    log: Callable[[str], None] = print,
) -> Head:
    """Train on OLID train (+ Davidson), calibrate and threshold on an OLID dev split, save.

    The dev split is stratified on the three OLID labels (seeded); OLID test is never read.
    ``limit`` keeps only the first N rows of each source (tests: seconds, not minutes). The
    model directory is written to a temporary sibling and renamed into place, so a crash never
    leaves a half-written model where :meth:`EmbedTier.load` looks.
    """
    from soundstage.moderate.normalise import normalise

    config = config or TrainConfig()
    davidson = ["davidson_hate_offensive"] if config.davidson else []
    check_sources(["all-minilm-l6-v2", "olid", *davidson])  # registry: opt-outs, licences
    olid = read_olid_train(data_dir)
    if limit is not None:
        olid = Labelled(olid.texts[:limit], olid.labels[:limit], olid.source[:limit])
    strata = ["".join(str(int(v)) for v in row) for row in olid.labels]
    tr, dev = stratified_split(strata, config.dev_fraction, config.seed)
    # embed whole sources (one cache entry each, shared with the benchmarks), then slice
    log(f"embedding {len(olid.texts)} OLID train tweets with MiniLM (cached under {cache_dir()})")
    olid_X = embed_texts([normalise(t).text for t in olid.texts], cache=True)
    X, labels, weight = olid_X[tr], olid.labels[tr], np.ones(tr.size)
    n_davidson = 0
    if config.davidson:
        dav = read_davidson(data_dir, toxicity=config.davidson_toxicity)
        if limit is not None:
            dav = Labelled(dav.texts[:limit], dav.labels[:limit], dav.source[:limit])
        log(f"embedding {len(dav.texts)} Davidson tweets")
        dav_X = embed_texts([normalise(t).text for t in dav.texts], cache=True)
        X = np.vstack([X, dav_X])
        labels = np.vstack([labels, dav.labels])
        weight = np.concatenate([weight, np.full(len(dav.texts), config.davidson_weight)])
        n_davidson = len(dav.texts)
    dev_X = olid_X[dev]
    head, report = fit_head(X, labels, weight, dev_X, olid.labels[dev], config)
    head.meta.update(
        name="moderation-embed",
        version="1",
        train={
            "olid_train": int(tr.size),
            "olid_dev": int(dev.size),
            "davidson": n_davidson,
            "config": {k: v for k, v in vars(config).items() if k != "categories"},
        },
        dev=report,
    )
    _atomic_save(head, out_dir)
    for cat, r in report.items():
        log(
            f"{cat}: dev AUC {r['dev_auc']:.4f}, macro-F1 {r['dev_macro_f1']:.4f} "
            f"at threshold {head.thresholds[cat]:.3f}"
        )
    log(f"saved {out_dir}")
    return head


def _atomic_save(head: Head, out_dir: Path, extra: dict[str, bytes] | None = None) -> None:
    """Write into a temp dir beside ``out_dir`` (+ ``extra`` files), then swap it in."""
    import shutil
    import tempfile

    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it 0700; a model directory is meant to be shared
        # keep files that are not ours (the model card) across a retrain
        if out_dir.is_dir():
            ours = {"head.npz", "config.json", ENCODER_WEIGHTS}
            for other in out_dir.iterdir():
                if other.name not in ours and other.is_file():
                    shutil.copy2(other, tmp / other.name)
        head.save(tmp)
        for name, blob in (extra or {}).items():
            (tmp / name).write_bytes(blob)
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}-old-{os.getpid()}")
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m soundstage.moderate.embed_fit --data DIR --out DIR``: train and save a head."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m soundstage.moderate.embed_fit",
        description="Train the MiniLM embed tier head on OLID (+ Davidson).",
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mod"))
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--hidden", type=int, default=TrainConfig.hidden, help="0 = linear")
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--C", type=float, default=TrainConfig.C)
    parser.add_argument("--no-davidson", action="store_true")
    parser.add_argument("--davidson-weight", type=float, default=TrainConfig.davidson_weight)
    parser.add_argument(
        "--davidson-toxicity", action="store_true", help="also train toxicity on Davidson"
    )
    parser.add_argument("--limit", type=int, default=None, help="first N rows per source")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args(argv)
    needed = [args.data / "olid" / "olid-training-v1.0.tsv"]
    if not args.no_davidson:
        needed.append(args.data / "davidson_hate_offensive" / "labeled_data.csv")
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        print(f"error: training data not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        pass
    config = TrainConfig(
        hidden=args.hidden,
        epochs=args.epochs,
        C=args.C,
        davidson=not args.no_davidson,
        davidson_weight=args.davidson_weight,
        davidson_toxicity=args.davidson_toxicity,
    )
    try:
        train_embed_tier(args.data, args.out, config, limit=args.limit)
    except (EmbedTierError, DatasetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
