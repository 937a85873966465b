"""The recommender audit's page: exposure by popularity, calibration, accuracy per group and
the re-ranker's trade-off curve."""

from __future__ import annotations

import importlib.util
from typing import Any

from soundstage.audit.recs import RecsAudit, Tradeoff
from soundstage.audit.report import Figure, Report, Table, pct

__all__ = ["recs_report", "recs_verdict"]


def recs_verdict(a: RecsAudit) -> str:
    plain = a.plain
    top = a.exposure_deciles[-1]
    parts = [
        f"{a.model} gives {pct(top)} of all recommendation slots to the most popular tenth of "
        f"the catalogue (which holds {pct(a.interaction_deciles[-1])} of the interactions); "
        f"{pct(plain.aplt)} of each list is long-tail, and {pct(plain.coverage)} of the "
        f"catalogue is ever recommended (exposure Gini {plain.gini:.2f}).",
        "Lists are miscalibrated against each user's genre history by KL "
        f"{plain.miscalibration:.3f}.",
    ]
    if plain.group_ndcg:
        best = max(plain.group_ndcg, key=lambda g: plain.group_ndcg[g])
        worst = min(plain.group_ndcg, key=lambda g: plain.group_ndcg[g])
        parts.append(
            f"NDCG@{a.k} is {plain.group_ndcg[best]:.3f} for {best} and "
            f"{plain.group_ndcg[worst]:.3f} for {worst} (gap {plain.gap:.3f})."
        )
    chosen = best_tradeoff(a)
    if chosen is not None:
        cost = 1 - chosen.ndcg / plain.ndcg if plain.ndcg else 0.0
        parts.append(
            f"Calibrated re-ranking at λ = {chosen.lam:g} cuts miscalibration to "
            f"{chosen.miscalibration:.3f} "
            f"({chosen.miscalibration / plain.miscalibration - 1:+.0%}) "
            f"for {cost:.1%} of NDCG; the group gap moves to {chosen.gap:.3f} "
            f"({chosen.gap / plain.gap - 1:+.0%}"
            + (
                f", inside the plain gap's 95% interval {_interval(plain.gap_ci)}: not a "
                "measurable change)."
                if plain.gap_ci and plain.gap_ci[0] <= chosen.gap <= plain.gap_ci[1]
                else ")."
            )
            if plain.gap and plain.miscalibration
            else f"Calibrated re-ranking at λ = {chosen.lam:g} costs {cost:.1%} of NDCG."
        )
    return " ".join(parts)


def best_tradeoff(a: RecsAudit, budget: float = 0.03) -> Tradeoff | None:
    """The largest λ whose NDCG loss stays within `budget` (3%), if any λ > 0 does."""
    plain = a.plain
    within = [t for t in a.tradeoff[1:] if plain.ndcg and t.ndcg >= (1 - budget) * plain.ndcg]
    return max(within, key=lambda t: t.lam) if within else None


def _interval(ci: list[float]) -> str:
    return f"{ci[0]:.3f}–{ci[1]:.3f}" if ci else "—"


def _row(t: Tradeoff, plain: Tradeoff) -> list[Any]:
    groups = ", ".join(f"{g} {v:.3f}" for g, v in t.group_ndcg.items())
    loss = 1 - t.ndcg / plain.ndcg if plain.ndcg else 0.0
    gap = f"{t.gap:.4f} ({_interval(t.gap_ci)})" if t.gap_ci else f"{t.gap:.4f}"
    change = f"{-loss:+.1%}" if t is not plain else "—"
    return [f"{t.lam:g}", f"{t.ndcg:.4f}", change, groups or "—", gap,
            f"{t.miscalibration:.3f}", pct(t.aplt), pct(t.coverage), f"{t.gini:.3f}"]  # fmt: skip


def recs_report(a: RecsAudit, source: str = "") -> Report:
    tables = [
        Table(
            f"Calibrated re-ranking: what each λ costs and buys (k = {a.k}, {a.users} users)",
            [
                "λ",
                f"NDCG@{a.k}",
                "change",
                "NDCG by group",
                "group gap (95% interval)",
                "miscalibration (KL)",
                "APLT",
                "coverage",
                "Gini",
            ],  # fmt: skip
            [_row(t, a.plain) for t in a.tradeoff],
        ),
        Table(
            "Exposure by popularity decile (1 = least popular tenth of items)",
            ["decile", "share of slots", "share of interactions"],
            [
                [d + 1, pct(s), pct(i)]
                for d, (s, i) in enumerate(
                    zip(a.exposure_deciles, a.interaction_deciles, strict=True)
                )
            ],
        ),
    ]
    if a.kinds:
        tables.append(
            Table(
                "Exposure by kind",
                ["kind", "share of slots", "share of items"],
                [[k, pct(v["slots"]), pct(v["items"])] for k, v in a.kinds.items()],
            )
        )
    if a.group_sizes:
        tables.append(
            Table("Users per group", ["group", "users"], [[g, n] for g, n in a.group_sizes.items()])
        )
    report = Report(
        kind="recs",
        title=f"Recommender audit: {a.model}{f' on {source}' if source else ''}",
        verdict=recs_verdict(a),
        data={"kind": "recs", "source": source, **a.to_json()},
        tables=tables,
        method=RECS_METHOD,
    )
    if importlib.util.find_spec("matplotlib") is not None:
        from soundstage.audit.plots import deciles_svg, group_ci_svg, lorenz_svg, tradeoff_svg

        report.figures = [
            Figure(
                "Who gets the slots: exposure by popularity decile",
                deciles_svg(a.exposure_deciles, a.interaction_deciles),
                "Bars: each popularity decile's share of recommendation slots beside its share "
                "of training interactions; a list that followed popularity exactly would match.",
            ),
            Figure(
                "The re-ranker's trade-off",
                tradeoff_svg([(t.lam, t.ndcg, t.miscalibration, t.gap) for t in a.tradeoff]),
                "Lines over λ: NDCG, miscalibration (KL) and the group gap, each relative to "
                "λ = 0.",
            ),
        ]
        chosen = best_tradeoff(a)
        curves = [("the model", a.plain.lorenz)]
        if chosen is not None:
            curves.append((f"re-ranked, λ = {chosen.lam:g}", chosen.lorenz))
        report.figures.insert(
            1,
            Figure(
                "Exposure Lorenz curve",
                lorenz_svg(curves),
                f"The cumulative share of slots held by the least-exposed items; the model's "
                f"Gini is {a.plain.gini:.2f} (0 = equal exposure, 1 = one item gets every slot).",
            ),
        )
        if a.plain.group_ndcg:
            report.figures.append(
                Figure(
                    f"NDCG@{a.k} by group, 95% bootstrap intervals",
                    group_ci_svg(
                        [
                            (g, v, a.plain.group_ci.get(g, []))
                            for g, v in a.plain.group_ndcg.items()
                        ],
                        f"NDCG@{a.k} (the model as it is)",
                    ),
                    "Bars: mean NDCG per user group with its 95% interval from 1,000 bootstrap "
                    f"resamples; gap {a.plain.gap:.3f} (95% interval "
                    f"{_interval(a.plain.gap_ci)}).",
                )
            )
    return report


RECS_METHOD = (
    "The model is fitted on the training events and ranks every unseen item for each test "
    "user; the audit keeps each user's 100 best candidates. Exposure deciles cut the items with "
    "training interactions into ten equal groups by popularity. Miscalibration is Steck's "
    "KL(p ‖ q̃) between the genres of a user's history and of their list (α = 0.01). The "
    "re-ranker is Steck's greedy calibrated re-ranking, (1 − λ)·relevance − λ·KL, with the "
    "model's scores min–max scaled per user; serving offers it as calibration=λ. Group NDCG "
    "is the mean over the users of each group (Fairlearn MetricFrame); the gap is the largest "
    "minus the smallest; intervals are 95% bootstrap intervals over 1,000 resamples of users "
    "within each group."
)
