"""The moderation audit's page: error rates per identity, AUCs, the worst examples."""

from __future__ import annotations

import importlib.util
from typing import Any

from soundstage.audit.moderation import GroupRates, ModerationAudit
from soundstage.audit.report import Figure, Report, Table, pct

__all__ = ["moderation_report", "moderation_verdict"]


def _rate(value: float | None, ci: tuple[float, float] | None) -> str:
    if value is None:
        return "—"
    return f"{pct(value)} ({pct(ci[0])}–{pct(ci[1])})" if ci else pct(value)


def moderation_verdict(a: ModerationAudit) -> str:
    o = a.overall
    parts = [
        f"On {a.n:,} texts ({a.n_toxic:,} labelled toxic) under the {a.policy} policy, "
        f"{a.model} flags {_rate(o.fpr, None)} of the harmless texts (false positives) and "
        f"misses {_rate(o.fnr, None)} of the toxic ones."
    ]
    rated = [g for g in a.groups if g.fpr is not None]
    if rated and o.fpr is not None:
        worst = max(rated, key=lambda g: g.fpr or 0.0)
        parts.append(
            f"Harmless texts that mention “{worst.group}” are flagged most often: "
            f"{_rate(worst.fpr, worst.fpr_ci)}, "
            f"{(worst.fpr or 0.0) / o.fpr:.1f}× the overall rate."
            if o.fpr > 0
            else f"Harmless texts that mention “{worst.group}” are flagged most often: "
            f"{_rate(worst.fpr, worst.fpr_ci)}."
        )
    missed = [g for g in a.groups if g.fnr is not None]
    if missed:
        worst = max(missed, key=lambda g: g.fnr or 0.0)
        parts.append(
            f"Toxic texts about “{worst.group}” are missed most often: "
            f"{_rate(worst.fnr, worst.fnr_ci)}."
        )
    if a.bias is not None:
        parts.append(
            f"Bias AUCs (Borkan et al.): final metric {a.bias.final_metric:.3f}, worst BPSN "
            f"“{a.bias.worst_bpsn}”."
        )
    if a.unsupported:
        parts.append(f"{a.unsupported} texts were in a language the model does not score.")
    return " ".join(parts)


def moderation_report(a: ModerationAudit) -> Report:
    """The moderation audit as a report: error rates per identity, AUCs, worst examples."""
    groups = sorted(a.groups, key=lambda g: -(g.fpr or 0.0))
    report = Report(
        kind="moderation",
        title=f"Moderation audit: {a.source or 'labelled texts'}",
        verdict=moderation_verdict(a),
        data={"kind": "moderation", **a.to_json()},
        tables=rate_tables(a, groups) + bias_tables(a) + example_tables(a),
        method=MODERATION_METHOD,
    )
    shown = [g for g in groups if g.fpr is not None][:20]
    if importlib.util.find_spec("matplotlib") is not None and shown:
        from soundstage.audit.plots import rates_svg

        bars = [(g.group, g.fpr or 0.0, g.fpr_ci) for g in shown]
        report.figures = [
            Figure(
                "False-positive rate by identity mentioned",
                rates_svg(bars, a.overall.fpr or 0.0, "share of harmless texts flagged"),
                "Horizontal bars with 95% intervals: the share of harmless texts mentioning each "
                "identity that the policy sends to review or block; the dotted line is the "
                "rate over all texts.",
            )
        ]
    return report


def rate_row(g: GroupRates) -> list[Any]:
    d = g.decisions
    return [
        g.group,
        g.n,
        g.n_toxic,
        _rate(g.fpr, g.fpr_ci),
        _rate(g.fnr, g.fnr_ci),
        f"{pct(d['allow'])} / {pct(d['review'])} / {pct(d['block'])}",
    ]


def rate_tables(a: ModerationAudit, groups: list[GroupRates]) -> list[Table]:
    return [
        Table(
            "Error and decision rates by identity mentioned (95% bootstrap intervals)",
            ["identity", "texts", "toxic", "FPR", "FNR", "allow / review / block"],
            [rate_row(a.overall), *(rate_row(g) for g in groups)],
        ),
        Table(
            f"Fairness gaps: FPED {a.fped:.3f}, FNED {a.fned:.3f}",
            ["measure", "value"],
            [
                ["FPED (Σ |FPR_g − FPR|)", f"{a.fped:.3f}"],
                ["FNED (Σ |FNR_g − FNR|)", f"{a.fned:.3f}"],
            ],
        ),
    ]


def bias_tables(a: ModerationAudit) -> list[Table]:
    if a.bias is None:
        return []
    b = a.bias
    rows = [
        [r.identity, r.n, r.n_pos, *(f"{x:.3f}" for x in (r.subgroup_auc, r.bpsn_auc, r.bnsp_auc))]
        for r in sorted(b.rows, key=lambda r: r.bpsn_auc)
    ]
    return [
        Table(
            f"Bias AUCs: overall {b.overall_auc:.3f}, final metric {b.final_metric:.3f}",
            ["identity", "texts", "toxic", "subgroup AUC", "BPSN AUC", "BNSP AUC"],
            rows,
        )
    ]


def example_tables(a: ModerationAudit) -> list[Table]:
    return [
        Table(
            title,
            ["text", "score", "decision", "identities"],
            [[e["text"], e["score"], e["decision"], ", ".join(e["identities"])] for e in rows],
        )
        for title, rows in (
            ("Worst false positives (harmless, flagged, highest score)", a.false_positives),
            ("Worst misses (toxic, allowed, lowest score)", a.misses),
        )
    ]


MODERATION_METHOD = (
    "Each text is moderated as `moderate` would (normalisation, language ID, classifier, "
    "policy). Its score is its highest category score; flagged means review or block. An "
    "identity's rates are over the texts that mention it as a whole word; intervals are "
    "bootstrap 95% intervals over those texts. Subgroup, BPSN and BNSP AUCs and the final "
    "metric follow Borkan et al. (2019); FPED/FNED follow Dixon et al. (2018)."
)
