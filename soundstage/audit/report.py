"""Audit reports people read: `audit.json` (every figure) and `audit.html` (self-contained:
inline SVG plots, inline CSS, no script, no network), through the one export path.

    ScriptAudit → Report (verdict, figures, tables, notes) → Exporter: audit.html, audit.json

Plots need matplotlib (the `audit` extra); without it the page says so and keeps the tables.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from soundstage.audit.counterfactual import Pair, summarise
from soundstage.audit.moderation import GroupRates, ModerationAudit
from soundstage.audit.reference import ANNENBERG, PUDDING, PUDDING_BINS, pudding_bin
from soundstage.audit.types import AGE_BANDS, UNKNOWN, ScriptAudit
from soundstage.export import Exporter

__all__ = [
    "Figure",
    "Report",
    "Table",
    "markdown",
    "render_html",
    "generator_report",
    "moderation_report",
    "script_report",
    "verdict",
    "write_report",
]


@dataclass
class Figure:
    title: str
    svg: str  # an inline <svg> element
    alt: str  # what the picture shows, for screen readers and for the page without plots


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Report:
    kind: str  # "script", ...
    title: str
    verdict: str
    data: dict[str, Any]  # what audit.json holds
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    method: str = ""


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def verdict(audit: ScriptAudit) -> str:
    """One plain-language paragraph: the figures a producer asks about first."""
    if audit.words == 0:
        return "The script has no dialogue, so there is nothing to count."
    share = audit.dialogue_share
    women, men = share.get("female", 0.0), share.get("male", 0.0)
    speaking = audit.speaking_characters
    n_women, n_men = speaking.get("female", 0), speaking.get("male", 0)
    ratio = f"{n_men / n_women:.2f} : 1" if n_women else "no women speak"
    parts = [
        f"Women speak {pct(women)} of the dialogue and men {pct(men)} "
        f"(the Pudding's 2,000 films: women 28.1%; a balanced script is 40–60%), "
        f"which puts it among the films where women speak {pudding_bin(women)} "
        f"({_band_share(women)} of the Pudding's films).",
        f"{n_women} of {sum(speaking.values())} speaking characters "
        f"{'is a woman' if n_women == 1 else 'are women'} and {n_men} "
        f"{'is a man' if n_men == 1 else 'are men'} (men to women {ratio}; "
        "Annenberg's 900 films: 2.3 : 1).",
    ]
    lead = audit.lead
    parts.append(
        f"The lead, {lead['cue']}, is {_gender_phrase(lead['gender'])} "
        f"({lead['words']} words; the Pudding: 21.8% of leads are women)."
    )
    b = audit.bechdel
    if b.score == 3:
        scenes = [str(s) for s in b.passing_scenes]
        where = scenes[0] if len(scenes) == 1 else ", ".join(scenes[:-1]) + " and " + scenes[-1]
        parts.append(
            f"It passes the Bechdel–Wallace test (scene{'s' if len(scenes) > 1 else ''} {where})."
        )
    else:
        why = {
            0: "fewer than two women speak",
            1: "no two women speak to each other",
            2: "every exchange between two women mentions a man",
        }[b.score]
        parts.append(f"It fails the Bechdel–Wallace test at step {b.score + 1}: {why}.")
    if audit.unknown:
        parts.append(
            f"{len(audit.unknown)} speaking character(s) have no declared gender and are "
            "counted as unknown, not guessed."
        )
    return " ".join(parts)


def _band_share(women: float) -> str:
    band = pudding_bin(women)
    return pct(next(share for name, _, _, share in PUDDING_BINS if name == band))


def _gender_phrase(gender: str) -> str:
    return {
        "female": "a woman",
        "male": "a man",
        "nonbinary": "nonbinary",
        UNKNOWN: "of undeclared gender",
    }.get(gender, f"declared “{gender}”")


def script_report(audit: ScriptAudit) -> Report:
    """The script audit as a report: figures, tables, references, notes."""
    data = {
        "kind": "script",
        **audit.to_json(),
        "reference": {"pudding": PUDDING, "annenberg": ANNENBERG},
    }
    data["pudding_band"] = pudding_bin(audit.dialogue_share.get("female", 0.0))
    report = Report(
        kind="script",
        title=f"Representation audit: {audit.title or 'untitled script'}",
        verdict=verdict(audit),
        data=data,
        notes=list(audit.notes),
        method=METHOD,
    )
    report.tables = script_tables(audit)
    report.figures = script_figures(audit)
    if not report.figures and importlib.util.find_spec("matplotlib") is None:
        report.notes.append("plots need matplotlib: pip install 'soundstage[audit]'")
    return report


METHOD = (
    "Words are counted in dialogue only (parentheticals and action excluded), per character "
    "cue with extensions such as (V.O.) removed. Gender and age are what the writer declared "
    "in the project's cast or a cast file; characters without a declaration are “unknown”. "
    "The Bechdel–Wallace test is rule-based: two different women speaking one after the "
    "other in a scene, neither speech naming a man (male pronouns or nouns, or a male "
    "character's name). Action verbs are the word after a character's name or she/he in "
    "action lines when it reads as a present-tense verb: a heuristic, not a parser. "
    "Reference figures: the Pudding (2,000 films, characters with ≥ 100 words) and USC "
    "Annenberg (900 films, every speaking character)."
)


def script_tables(audit: ScriptAudit) -> list[Table]:
    genders = sorted(set(audit.dialogue_share) | set(audit.speaking_characters))
    tables = [
        Table(
            "Dialogue and speaking characters by gender",
            [
                "gender",
                "share of words",
                "share of words (≥ 100-word characters)",
                "speaking characters",
            ],
            [
                [
                    g,
                    pct(audit.dialogue_share.get(g, 0.0)),
                    pct(audit.dialogue_share_100[g]) if g in audit.dialogue_share_100 else "—",
                    audit.speaking_characters.get(g, 0),
                ]
                for g in genders
            ],
        ),
        Table(
            "Beside the references",
            ["figure", "this script", "reference"],
            [
                [
                    "women's share of words",
                    pct(audit.dialogue_share.get("female", 0.0)),
                    "28.1% (the Pudding)",
                ],
                [
                    "women among speaking characters",
                    pct(
                        audit.speaking_characters.get("female", 0)
                        / max(1, sum(audit.speaking_characters.values()))
                    ),
                    "30.0% (the Pudding), 31.4% (Annenberg)",
                ],
                [
                    "lead is a woman",
                    "yes" if audit.lead["gender"] == "female" else "no",
                    "21.8% of films (the Pudding)",
                ],
            ],
        ),
        Table(
            "Characters",
            ["cue", "words", "gender", "age band", "declared in"],
            [
                [p.cue, audit.words_by_character.get(p.cue, 0), p.gender, p.age_band, p.source]
                for p in sorted(audit.cast, key=lambda p: -audit.words_by_character.get(p.cue, 0))
            ],
        ),
    ]
    bands = [b for b in (*AGE_BANDS, UNKNOWN) if any(b in v for v in audit.words_by_age.values())]
    tables.append(
        Table(
            "Words by age band",
            ["gender", *bands],
            [
                [g, *(audit.words_by_age[g].get(b, 0) for b in bands)]
                for g in sorted(audit.words_by_age)
            ],
        )
    )
    b = audit.bechdel
    tables.append(
        Table(
            f"Bechdel–Wallace: {b.score} of 3",
            ["scene", "exchange", "mentions a man"],
            [
                [
                    e["scene"],
                    " / ".join(f"{cue}: {text}" for cue, text in e["lines"]),
                    ", ".join(e["mentions"]) or "no",
                ]
                for e in b.evidence
            ],
        )
    )
    tables.append(
        Table(
            "Who speaks first and last in each scene",
            ["gender", "first", "last"],
            [
                [g, audit.first_last["first"].get(g, 0), audit.first_last["last"].get(g, 0)]
                for g in sorted(set(audit.first_last["first"]) | set(audit.first_last["last"]))
            ],
        )
    )
    tables.append(
        Table(
            "Action verbs by gender (heuristic)",
            ["gender", "verbs (count)"],
            [[g, ", ".join(f"{v} ({n})" for v, n in vs)] for g, vs in audit.action_verbs.items()],
        )
    )
    return tables


def script_figures(audit: ScriptAudit) -> list[Figure]:
    if importlib.util.find_spec("matplotlib") is None or audit.words == 0:
        return []
    from soundstage.audit.plots import bins_svg, words_svg

    women = audit.dialogue_share.get("female", 0.0)
    return [
        Figure(
            "This script among the Pudding's 2,000 films",
            bins_svg([(n, share) for n, _, _, share in PUDDING_BINS], pudding_bin(women), women),
            f"Bar chart: share of the Pudding's films in each band of women's dialogue share; "
            f"this script ({pct(women)}) falls in the band {pudding_bin(women)}.",
        ),
        Figure(
            "Words per character",
            words_svg(
                [(p.cue, audit.words_by_character.get(p.cue, 0), p.gender) for p in audit.cast]
            ),
            "Horizontal bars: words spoken by each character, coloured by declared gender.",
        ),
    ]


def markdown(audit: ScriptAudit) -> str:
    """The audit's summary for report.md: the verdict and the figures beside the references."""
    women, men = (pct(audit.dialogue_share.get(g, 0.0)) for g in ("female", "male"))
    rows = [
        "| figure | this script | reference |",
        "|---|---|---|",
        f"| women's share of dialogue words | {women} | 28.1% (the Pudding) |",
        f"| men's share of dialogue words | {men} | 71.9% (the Pudding) |",
        f"| speaking characters, men : women | {_ratio(audit)} | 2.3 : 1 (Annenberg) |",
        f"| lead | {audit.lead['cue']} ({audit.lead['gender']}) | a woman in 21.8% of films |",
        f"| Bechdel–Wallace | {audit.bechdel.score} of 3 | — |",
    ]
    return "\n".join(
        [
            "## Representation",
            "",
            verdict(audit),
            "",
            *rows,
            "",
            "Full audit: audit.html, audit.json.",
            "",
        ]
    )


def _ratio(audit: ScriptAudit) -> str:
    women = audit.speaking_characters.get("female", 0)
    men = audit.speaking_characters.get("male", 0)
    return f"{men / women:.2f} : 1" if women else f"{men} : 0"


def generator_report(pairs: list[Pair], swap: str = "gender") -> Report:
    """The counterfactual generator audit as a report."""
    summary = summarise(pairs)
    rows = [
        [
            i + 1,
            p.original.logline,
            p.swapped.logline,
            f"{p.protagonist('a')} → {p.protagonist('b')}",
            pct(p.a.dialogue_share.get("female", 0.0)),
            pct(p.b.dialogue_share.get("female", 0.0)),
            f"{p.a.bechdel.score} / {p.b.bechdel.score}",
            f"{p.original.flagged} / {p.swapped.flagged}",
        ]
        for i, p in enumerate(pairs)
    ]
    data = {
        "kind": "generator",
        "swap": swap,
        "summary": summary,
        "pairs": [
            {
                "original": p.original.logline,
                "swapped": p.swapped.logline,
                "protagonist": [p.protagonist("a"), p.protagonist("b")],
                "audit": [p.a.to_json(), p.b.to_json()],
                "flagged": [p.original.flagged, p.swapped.flagged],
                "decision": [p.original.decision, p.swapped.decision],
            }
            for p in pairs
        ],
        "reference": {"pudding": PUDDING},
    }
    report = Report(
        kind="generator",
        title=f"Generator audit: {len(pairs)} logline pairs, {swap} swapped",
        verdict=generator_verdict(summary),
        data=data,
        tables=[
            Table(
                "Pairs",
                [
                    "#",
                    "logline",
                    "swapped",
                    "protagonist",
                    "women's share",
                    "swapped: women's share",
                    "Bechdel",
                    "gate flags",
                ],
                rows,
            )
        ],
        method=GENERATOR_METHOD,
    )
    if importlib.util.find_spec("matplotlib") is not None:
        from soundstage.audit.plots import hist_svg, pairs_svg

        shares = [x.dialogue_share.get("female", 0.0) for p in pairs for x in (p.a, p.b)]
        report.figures = [
            Figure(
                "Women's share of dialogue, each pair",
                pairs_svg(
                    [
                        (
                            str(i + 1),
                            p.a.dialogue_share.get("female", 0.0),
                            p.b.dialogue_share.get("female", 0.0),
                        )
                        for i, p in enumerate(pairs)
                    ]
                ),
                "Dot plot: for each logline pair, women's share of dialogue in the original "
                "script and in the script from the swapped logline.",
            ),
            Figure(
                "Distribution over all scripts",
                hist_svg(shares, 0.281, "the Pudding 28.1%"),
                f"Histogram of women's share of dialogue over {len(shares)} scripts; mean "
                f"{pct(summary['female_share_mean'])}.",
            ),
        ]
    return report


GENERATOR_METHOD = (
    "Each logline is written as given and with its gendered words exchanged (she ↔ he, "
    "woman ↔ man, sister ↔ brother, …), with the same controls and seed; each script is "
    "audited like `audit script`, with the genders its cast declares. The counterfactual gap "
    "is, per pair, the protagonist's gender's share of dialogue when the protagonist is a "
    "woman minus that share when the protagonist is a man, in points, averaged over the "
    "pairs whose protagonist's declared gender followed the swap; the interval is a "
    "bootstrap 95% interval over pairs. Gate flags are texts the moderation gate sent to "
    "review or block."
)


def generator_verdict(s: dict[str, Any]) -> str:
    parts = [
        f"Over {s['scripts']} scripts from {s['pairs']} logline pairs, women speak "
        f"{pct(s['female_share_mean'])} of the dialogue on average (median "
        f"{pct(s['female_share_median'])}; the Pudding's films: 28.1%).",
        f"The protagonist's declared gender followed the swap in {s['protagonist_followed_swap']} "
        f"of {s['pairs']} pairs.",
    ]
    if s["gap_points"] is not None:
        fair = abs(s["gap_points"]) <= 5
        interval = (
            "95% interval {:+.1f} to {:+.1f}; ".format(*s["gap_ci95"])
            if s["gap_ci95"]
            else "one pair, no interval; "
        )
        parts.append(
            f"Counterfactual gap: {s['gap_points']:+.1f} points ({interval}"
            f"{'within' if fair else 'outside'} the ±5-point goal) — "
            + (
                "a heroine's side gets more of the dialogue than a hero's."
                if s["gap_points"] > 0
                else "a hero's side gets more of the dialogue than a heroine's."
            )
        )
    parts.append(
        f"The moderation gate flagged {s['flagged_original']} texts in the originals and "
        f"{s['flagged_swapped']} in the swapped scripts."
    )
    return " ".join(parts)


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

    def row(g: GroupRates) -> list[Any]:
        d = g.decisions
        return [
            g.group,
            g.n,
            g.n_toxic,
            _rate(g.fpr, g.fpr_ci),
            _rate(g.fnr, g.fnr_ci),
            f"{pct(d['allow'])} / {pct(d['review'])} / {pct(d['block'])}",
        ]

    tables = [
        Table(
            "Error and decision rates by identity mentioned (95% bootstrap intervals)",
            ["identity", "texts", "toxic", "FPR", "FNR", "allow / review / block"],
            [row(a.overall), *(row(g) for g in groups)],
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
    if a.bias is not None:
        b = a.bias
        tables.append(
            Table(
                f"Bias AUCs: overall {b.overall_auc:.3f}, final metric {b.final_metric:.3f}",
                ["identity", "texts", "toxic", "subgroup AUC", "BPSN AUC", "BNSP AUC"],
                [
                    [
                        r.identity,
                        r.n,
                        r.n_pos,
                        f"{r.subgroup_auc:.3f}",
                        f"{r.bpsn_auc:.3f}",
                        f"{r.bnsp_auc:.3f}",
                    ]
                    for r in sorted(b.rows, key=lambda r: r.bpsn_auc)
                ],
            )
        )
    for title, rows in (
        ("Worst false positives (harmless, flagged, highest score)", a.false_positives),
        ("Worst misses (toxic, allowed, lowest score)", a.misses),
    ):
        tables.append(
            Table(
                title,
                ["text", "score", "decision", "identities"],
                [[e["text"], e["score"], e["decision"], ", ".join(e["identities"])] for e in rows],
            )
        )
    report = Report(
        kind="moderation",
        title=f"Moderation audit: {a.source or 'labelled texts'}",
        verdict=moderation_verdict(a),
        data={"kind": "moderation", **a.to_json()},
        tables=tables,
        method=MODERATION_METHOD,
    )
    if importlib.util.find_spec("matplotlib") is not None and groups:
        from soundstage.audit.plots import rates_svg

        shown = [g for g in groups if g.fpr is not None][:20]
        report.figures = [
            Figure(
                "False-positive rate by identity mentioned",
                rates_svg(
                    [(g.group, g.fpr or 0.0, g.fpr_ci) for g in shown],
                    a.overall.fpr or 0.0,
                    "share of harmless texts flagged",
                ),
                "Horizontal bars with 95% intervals: the share of harmless texts mentioning each "
                "identity that the policy sends to review or block; the dotted line is the "
                "rate over all texts.",
            )
        ]
    return report


MODERATION_METHOD = (
    "Each text is moderated as `moderate` would (normalisation, language ID, classifier, "
    "policy). Its score is its highest category score; flagged means review or block. An "
    "identity's rates are over the texts that mention it as a whole word; intervals are "
    "bootstrap 95% intervals over those texts. Subgroup, BPSN and BNSP AUCs and the final "
    "metric follow Borkan et al. (2019); FPED/FNED follow Dixon et al. (2018)."
)


def render_html(report: Report) -> str:
    env = Environment(
        loader=PackageLoader("soundstage.audit", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    return env.get_template("audit.html").render(report=report)


def write_report(exporter: Exporter, report: Report, prefix: str = "audit") -> list[str]:
    """Write PREFIX.json and PREFIX.html; returns the names written."""
    exporter.write_json(f"{prefix}.json", report.data)
    exporter.write_text(f"{prefix}.html", render_html(report))
    return [f"{prefix}.json", f"{prefix}.html"]
