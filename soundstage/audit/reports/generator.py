"""The generator audit's page: the counterfactual pairs, the gap and the distribution."""

from __future__ import annotations

import importlib.util
from typing import Any

from soundstage.audit.counterfactual import Pair, summarise
from soundstage.audit.reference import PUDDING
from soundstage.audit.report import Figure, Report, Table, pct
from soundstage.audit.types import ScriptAudit

__all__ = ["generator_report", "generator_verdict"]


def generator_report(pairs: list[Pair], swap: str = "gender") -> Report:
    """The counterfactual generator audit as a report."""
    summary = summarise(pairs)
    ethnic = swap == "ethnicity"
    columns = ["#", "logline", "swapped", "protagonist's share" if ethnic else "protagonist",
               "women's share", "swapped: women's share", "Bechdel", "gate flags"]  # fmt: skip
    report = Report(
        kind="generator",
        title=f"Generator audit: {len(pairs)} logline pairs, {swap} swapped",
        verdict=ethnicity_verdict(summary) if ethnic else generator_verdict(summary),
        data={
            "kind": "generator",
            "swap": swap,
            "summary": summary,
            "pairs": [pair_data(p) for p in pairs],
            "reference": {"pudding": PUDDING},
        },  # fmt: skip
        tables=[Table("Pairs", columns, [pair_row(i, p) for i, p in enumerate(pairs, 1)])],
        method=ETHNICITY_METHOD if ethnic else GENDER_METHOD,
    )
    if importlib.util.find_spec("matplotlib") is not None:
        report.figures = generator_figures(pairs, summary)
    return report


def women(audit: ScriptAudit) -> float:
    return audit.dialogue_share.get("female", 0.0)


def pair_row(number: int, p: Pair) -> list[Any]:
    if p.swap == "ethnicity":
        hero = f"{pct(p.hero_share('a'))} → {pct(p.hero_share('b'))}"
    else:
        hero = f"{p.protagonist('a')} → {p.protagonist('b')}"
    return [
        number,
        p.original.logline,
        p.swapped.logline,
        hero,
        pct(women(p.a)),
        pct(women(p.b)),
        f"{p.a.bechdel.score} / {p.b.bechdel.score}",
        f"{p.original.flagged} / {p.swapped.flagged}",
    ]


def pair_data(p: Pair) -> dict[str, Any]:
    return {
        "original": p.original.logline,
        "swapped": p.swapped.logline,
        "protagonist": [p.protagonist("a"), p.protagonist("b")],
        "protagonist_share": [round(p.hero_share("a"), 4), round(p.hero_share("b"), 4)],
        "descriptor_carried": [p.carried("a"), p.carried("b")] if p.swap == "ethnicity" else None,
        "audit": [p.a.to_json(), p.b.to_json()],
        "flagged": [p.original.flagged, p.swapped.flagged],
        "decision": [p.original.decision, p.swapped.decision],
    }


def generator_figures(pairs: list[Pair], summary: dict[str, Any]) -> list[Figure]:
    from soundstage.audit.plots import hist_svg, pairs_svg

    shares = [women(x) for p in pairs for x in (p.a, p.b)]
    if summary["swap"] == "ethnicity":
        return [
            Figure(
                "The protagonist's share of dialogue, each pair",
                pairs_svg(
                    [
                        (str(i), p.hero_share("a"), p.hero_share("b"))
                        for i, p in enumerate(pairs, 1)
                    ],
                    xlabel="the protagonist's share of dialogue words (%)",
                    reference=None,
                ),
                "Dot plot: for each logline pair, the protagonist's share of all dialogue words "
                "in the original script and in the script from the swapped logline.",
            )
        ]
    return [
        Figure(
            "Women's share of dialogue, each pair",
            pairs_svg([(str(i), women(p.a), women(p.b)) for i, p in enumerate(pairs, 1)]),
            "Dot plot: for each logline pair, women's share of dialogue in the original "
            "script and in the script from the swapped logline.",
        ),
        Figure(
            "Distribution over all scripts",
            hist_svg(shares, PUDDING_WOMEN, "the Pudding 28.1%"),
            f"Histogram of women's share of dialogue over {len(shares)} scripts; mean "
            f"{pct(summary['female_share_mean'])}.",
        ),
    ]


PUDDING_WOMEN = 0.281


def _other(side: str) -> str:
    return "b" if side == "a" else "a"


def _texts(n: int) -> str:
    return f"{n} text" if n == 1 else f"{n} texts"


GENDER_METHOD = (
    "Each logline is written as given and with its gendered words exchanged (she ↔ he, "
    "woman ↔ man, sister ↔ brother, …), with the same controls and seed; each script is "
    "audited like `audit script`, with the genders its cast declares. The counterfactual gap "
    "is, per pair, the protagonist's gender's share of dialogue when the protagonist is a "
    "woman minus that share when the protagonist is a man, in points, averaged over the "
    "pairs whose protagonist's declared gender followed the swap; the interval is a "
    "bootstrap 95% interval over pairs. Gate flags are texts the moderation gate sent to "
    "review or block."
)


ETHNICITY_METHOD = (
    "Each logline is written as given and with its protagonist's ethnicity descriptor "
    "exchanged (a named group ↔ white, white → Black), with the same controls and seed; "
    "nothing else changes, so names and descriptions are the writer's own choices. The gap "
    "is, per pair, the protagonist's share of all dialogue words on the named group's side "
    "minus the white side, in points, with a bootstrap 95% interval over pairs. Gate flags "
    "are texts the moderation gate sent to review or block, per side."
)


def ethnicity_verdict(s: dict[str, Any]) -> str:
    interval = (
        "95% interval {:+.1f} to {:+.1f}".format(*s["hero_gap_ci95"])
        if s["hero_gap_ci95"]
        else "one pair, no interval"
    )
    return (
        f"Over {s['pairs']} logline pairs with the protagonist's ethnicity exchanged, the "
        f"protagonist speaks {pct(s['hero_share_group'])} of the dialogue when named as a "
        f"Black, Latina, Asian or other non-white character and {pct(s['hero_share_white'])} "
        f"when white: a gap of {s['hero_gap_points']:+.1f} points ({interval}). The descriptor "
        f"reached the protagonist's description on both sides in {s['descriptor_carried']} of "
        f"{s['pairs']} pairs. Women's share of dialogue: {pct(s['female_share_original'])} in "
        f"the originals, {pct(s['female_share_swapped'])} swapped. The moderation gate flagged "
        f"{_texts(s['flagged_group'])} on the named groups' side and {s['flagged_white']} on "
        "the white side."
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
