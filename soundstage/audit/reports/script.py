"""The script audit's page: verdict, figures beside the Pudding, tables, and the summary
that goes into a package's report.md."""

from __future__ import annotations

import importlib.util

from soundstage.audit.reference import ANNENBERG, PUDDING, PUDDING_BINS, pudding_bin
from soundstage.audit.report import Figure, Report, Table, pct
from soundstage.audit.types import AGE_BANDS, UNKNOWN, ScriptAudit

__all__ = ["markdown", "script_report", "verdict"]


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
    return share_tables(audit) + people_tables(audit) + scene_tables(audit)


def share_tables(audit: ScriptAudit) -> list[Table]:
    """Shares by gender, and beside the references."""
    genders = sorted(set(audit.dialogue_share) | set(audit.speaking_characters))
    return [
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
    ]


def people_tables(audit: ScriptAudit) -> list[Table]:
    """Each character with their declared attributes, and words by age band."""
    bands = [b for b in (*AGE_BANDS, UNKNOWN) if any(b in v for v in audit.words_by_age.values())]
    return [
        Table(
            "Characters",
            ["cue", "words", "gender", "age band", "declared in"],
            [
                [p.cue, audit.words_by_character.get(p.cue, 0), p.gender, p.age_band, p.source]
                for p in sorted(audit.cast, key=lambda p: -audit.words_by_character.get(p.cue, 0))
            ],
        ),
        Table(
            "Words by age band",
            ["gender", *bands],
            [
                [g, *(audit.words_by_age[g].get(b, 0) for b in bands)]
                for g in sorted(audit.words_by_age)
            ],
        ),
    ]


def scene_tables(audit: ScriptAudit) -> list[Table]:
    """Bechdel–Wallace evidence, first and last speakers, action verbs."""
    b = audit.bechdel
    firsts, lasts = audit.first_last["first"], audit.first_last["last"]
    return [
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
        ),
        Table(
            "Who speaks first and last in each scene",
            ["gender", "first", "last"],
            [[g, firsts.get(g, 0), lasts.get(g, 0)] for g in sorted(set(firsts) | set(lasts))],
        ),
        Table(
            "Action verbs by gender (heuristic)",
            ["gender", "verbs (count)"],
            [[g, ", ".join(f"{v} ({n})" for v, n in vs)] for g, vs in audit.action_verbs.items()],
        ),
    ]


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
