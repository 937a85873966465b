"""Borkan et al. 2019 bias metrics: hand-computed cases, sklearn agreement, real madlibs data."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from soundstage.moderate.bias import (
    MADLIBS_TERMS,
    bias_report,
    bnsp_auc,
    bpsn_auc,
    identity_masks,
    power_mean,
    read_madlibs,
    roc_auc,
    subgroup_auc,
)

# Eight examples, four mentioning identity g. Scores chosen so each AUC differs.
#   idx  toxic score  g     role
#    0    1    0.30   no    background positive
#    1    1    0.05   no    background positive
#    2    0    0.20   no    background negative
#    3    0    0.40   no    background negative
#    4    1    0.80   yes   subgroup positive
#    5    1    0.40   yes   subgroup positive
#    6    0    0.70   yes   subgroup negative
#    7    0    0.10   yes   subgroup negative
Y = np.array([1, 1, 0, 0, 1, 1, 0, 0])
S = np.array([0.30, 0.05, 0.20, 0.40, 0.80, 0.40, 0.70, 0.10])
G = np.array([False, False, False, False, True, True, True, True])


def test_roc_auc_hand_computed() -> None:
    # pos {0.35, 0.8} vs neg {0.1, 0.4}: 0.35>0.1 ✓, 0.35<0.4 ✗, 0.8 beats both → 3/4
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    # pos {0.5, 0.9} vs neg {0.5, 0.2}: tie ½ + 1 + 1 + 1 → 3.5/4
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]) == 0.875
    # all tied → ½; perfectly reversed → 0
    assert roc_auc([True, False, True], [3, 3, 3]) == 0.5
    assert roc_auc([1, 1, 0], [0.1, 0.2, 0.3]) == 0.0


def test_roc_auc_one_class_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="both classes.*3 positive and 0 negative"):
        roc_auc([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="threshold fractional"):
        roc_auc([0.2, 0.7], [0.1, 0.2])
    with pytest.raises(ValueError, match="finite"):
        roc_auc([0, 1], [0.1, float("nan")])
    with pytest.raises(ValueError, match="shape"):
        roc_auc([0, 1], [0.1, 0.2, 0.3])


def test_three_aucs_hand_computed() -> None:
    # subgroup: pos {0.8, 0.4} vs neg {0.7, 0.1}: 0.8 beats both, 0.4 beats 0.1 only → 3/4
    assert subgroup_auc(Y, S, G) == 0.75
    # BPSN: background pos {0.3, 0.05} vs subgroup neg {0.7, 0.1}: only 0.3>0.1 → 1/4
    assert bpsn_auc(Y, S, G) == 0.25
    # BNSP: subgroup pos {0.8, 0.4} vs background neg {0.2, 0.4}: 1 + 1 + 1 + ½ (tie) → 3.5/4
    assert bnsp_auc(Y, S, G) == 0.875
    # overall: pos {0.3, 0.05, 0.8, 0.4} vs neg {0.2, 0.4, 0.7, 0.1}: 2 + 0 + 4 + 2.5 → 8.5/16
    assert roc_auc(Y, S) == 0.53125


def test_report_final_metric_hand_computed() -> None:
    report = bias_report(Y, S, {"g": G})
    # one identity: each power mean is that identity's AUC
    means = (report.subgroup_power_mean, report.bpsn_power_mean, report.bnsp_power_mean)
    assert means == pytest.approx((0.75, 0.25, 0.875))  # (x⁻⁵)^(-1/5) rounds in the last bit
    # 0.25 · (0.53125 + 0.75 + 0.25 + 0.875) = 0.25 · 2.40625
    assert report.final_metric == pytest.approx(0.6015625)
    assert report.worst_bpsn == "g"
    assert (report.rows[0].n, report.rows[0].n_pos, report.n, report.n_pos) == (4, 2, 8, 4)


def test_final_metric_formula_and_worst_bpsn() -> None:
    """A scorer that adds a bonus to one identity: its BPSN collapses and it is named worst."""
    rng = np.random.default_rng(0)
    n = 2000
    y = rng.random(n) < 0.3
    groups = {name: rng.random(n) < 0.2 for name in ("muslim", "gay", "old")}
    scores = y + rng.normal(0, 0.6, n) + 1.5 * groups["gay"]
    report = bias_report(y, scores, groups)
    assert report.worst_bpsn == "gay"
    by = {r.identity: r for r in report.rows}
    assert by["gay"].bpsn_auc < 0.5 < by["muslim"].bpsn_auc
    assert by["gay"].bnsp_auc > by["muslim"].bnsp_auc  # the bonus also hides nothing toxic
    for name, column in [
        ("subgroup_power_mean", "subgroup_auc"),
        ("bpsn_power_mean", "bpsn_auc"),
        ("bnsp_power_mean", "bnsp_auc"),
    ]:
        expected = power_mean([getattr(r, column) for r in report.rows], -5)
        assert getattr(report, name) == pytest.approx(expected)
    expected_final = 0.25 * report.overall_auc + 0.25 * (
        report.subgroup_power_mean + report.bpsn_power_mean + report.bnsp_power_mean
    )
    assert report.final_metric == pytest.approx(expected_final)
    table = report.table()
    assert table.index("| gay |") < table.index("| muslim |")  # worst BPSN first
    assert f"{report.final_metric:.4f}" in table


def test_identity_missing_a_class_is_skipped_not_crashed() -> None:
    y = np.array([1, 0, 1, 0, 0, 0])
    s = np.array([0.9, 0.1, 0.8, 0.3, 0.2, 0.4])
    identities = {
        "ok": np.array([1, 1, 0, 0, 1, 0], dtype=bool),
        "no_toxic": np.array([0, 1, 0, 1, 0, 0], dtype=bool),
        "no_clean": np.array([1, 0, 0, 0, 0, 0], dtype=bool),
        "nobody": np.zeros(6, dtype=bool),
        "all_toxic": np.array([1, 1, 1, 0, 0, 0], dtype=bool),  # BPSN: no background positive
    }
    report = bias_report(y, s, identities)
    assert [r.identity for r in report.rows] == ["ok"]
    reasons = {k.identity: k.reason for k in report.skipped}
    assert set(reasons) == {"no_toxic", "no_clean", "nobody", "all_toxic"}
    assert "no toxic example" in reasons["no_toxic"]
    assert "no non-toxic example" in reasons["no_clean"]
    assert "no example mentions" in reasons["nobody"]
    assert "every toxic example" in reasons["all_toxic"]
    assert "skipped identity" in report.table() and "no_toxic" in report.table()
    with pytest.raises(ValueError, match="no identity could be scored"):
        bias_report(y, s, {"nobody": identities["nobody"]})


def test_power_mean_properties() -> None:
    assert power_mean([0.8, 0.8, 0.8]) == pytest.approx(0.8)
    assert power_mean([1.0, 0.5], -1) == pytest.approx(2 / 3)  # harmonic mean
    # ((1 + 0.5⁻⁵) / 2)^(-1/5) = 16.5^(-0.2) ≈ 0.5708: far nearer the minimum than the mean 0.75
    assert power_mean([1.0, 0.5]) == pytest.approx(16.5**-0.2)
    values = [0.95, 0.9, 0.97, 0.6]
    assert min(values) < power_mean(values) < power_mean(values, -1) < float(np.mean(values))
    assert power_mean(values, 1) == pytest.approx(np.mean(values))
    assert power_mean(values, 0) == pytest.approx(np.exp(np.mean(np.log(values))))
    assert power_mean([0.9, 0.0]) == 0.0  # the p < 0 limit, not a ZeroDivisionError
    with pytest.raises(ValueError):
        power_mean([])
    with pytest.raises(ValueError):
        power_mean([0.5, -0.1])


def test_roc_auc_agrees_with_sklearn_on_ties() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    for trial in range(20):
        n = int(rng.integers(2, 400))
        y = rng.random(n) < rng.uniform(0.05, 0.95)
        y[0], y[1] = True, False
        # few distinct values → many ties; every other trial continuous
        s = rng.integers(0, 5, n) / 4 if trial % 2 == 0 else rng.normal(size=n) + y
        assert roc_auc(y, s) == pytest.approx(metrics.roc_auc_score(y, s), abs=1e-12)
        g = rng.random(n) < 0.3
        if (g & y).any() and (g & ~y).any():
            assert subgroup_auc(y, s, g) == pytest.approx(metrics.roc_auc_score(y[g], s[g]))


def test_identity_masks_whole_words_case_insensitive() -> None:
    texts = [
        "Queer, and proud",
        "Gayle is here",
        "a gay-friendly bar",
        "GAY",
        "transgender rights",
        "the Middle  Aged crowd",
        "middle-aged",
        "an african american writer",
        "middle school aged kids",
    ]
    masks = identity_masks(texts, ["queer", "gay", "trans", "middle aged", "african", "american"])
    got = {term: [i for i, hit in enumerate(m) if hit] for term, m in masks.items()}
    assert got == {
        "queer": [0],
        "gay": [2, 3],  # not "Gayle": whole words only
        "trans": [],  # not "transgender"
        "middle aged": [5, 6],
        "african": [7],
        "american": [7],  # terms nest like words do
    }
    assert all(m.dtype == np.bool_ and m.shape == (len(texts),) for m in masks.values())
    with pytest.raises(ValueError):
        identity_masks(texts, ["  "])


NEGATIVE = ("stupid", "idiotic", "dumb", "ugly", "disgusting", "horrible", "terrible", "hate")


def test_madlibs_report_covers_every_identity(shared: Callable[..., Path]) -> None:
    path = shared("mod", "conversationai_bias_eval", "bias_madlibs_77k.csv")
    texts, labels = read_madlibs(path)
    assert len(texts) == 76_564 and int(labels.sum()) == 38_282
    # the identity slot of "<name> is a <adjective> <identity>" holds exactly our 50 terms
    slots = {m.group(1) for t in texts if (m := re.fullmatch(r"\S+ is a \S+ (.+)", t))}
    assert slots == set(MADLIBS_TERMS)
    pattern = re.compile(r"\b(?:" + "|".join(NEGATIVE) + r")\b", re.IGNORECASE)
    scores = np.array([1.0 if pattern.search(t) else 0.0 for t in texts])
    report = bias_report(labels, scores, identity_masks(texts, MADLIBS_TERMS))
    assert [r.identity for r in report.rows] == list(MADLIBS_TERMS)
    assert report.skipped == ()
    values = [report.overall_auc, report.final_metric]
    values += [v for r in report.rows for v in (r.subgroup_auc, r.bpsn_auc, r.bnsp_auc)]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert 0.5 < report.overall_auc < 1.0  # catches some of the BAD adjectives, not all
