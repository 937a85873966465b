"""The corpus audit's page: the Pudding's figures over a folder of scripts, side by side."""

from __future__ import annotations

import importlib.util

from soundstage.audit.corpus import CorpusAudit
from soundstage.audit.reference import PUDDING
from soundstage.audit.report import Figure, Report, Table, pct

__all__ = ["comparison", "corpus_report"]

LABELS = {
    "female_share_of_words": "women's share of words (pooled)",
    "median_film_female_share": "median script: women's share",
    "films_men_over_50": "scripts where men speak > 50%",
    "films_men_60_or_more": "scripts where men speak ≥ 60%",
    "films_men_90_or_more": "scripts where men speak ≥ 90%",
    "films_women_60_or_more": "scripts where women speak ≥ 60%",
    "films_balanced_40_60": "balanced scripts (40–60%)",
    "female_lead": "scripts with a female lead",
    "female_share_of_characters": "women among characters",
}
AGE_ROWS = (
    ("words_age_21_40", ("21-30", "31-40"), "21–40"),
    ("words_age_41_50", ("41-50",), "41–50"),
)


def comparison(corpus: CorpusAudit) -> list[tuple[str, float | None, float]]:
    """(label, ours, the Pudding's) for every figure both report (fractions)."""
    figures = corpus.figures()
    rows: list[tuple[str, float | None, float]] = [
        (label, figures[key], float(PUDDING[key]))  # type: ignore[arg-type]
        for key, label in LABELS.items()
    ]
    for key, bands, span in AGE_ROWS:
        ref = PUDDING[key]
        assert isinstance(ref, dict)
        for side, word in (("female", "women's"), ("male", "men's")):
            ages = corpus.words_by_age.get(side)
            ours = sum(ages.get(b, 0.0) for b in bands) if ages else None
            rows.append((f"{word} words to ages {span}", ours, ref[side]))
    return rows


def corpus_report(corpus: CorpusAudit, folder: str) -> Report:
    rows = comparison(corpus)
    table = [
        [label, pct(ours) if ours is not None else "—", pct(ref),
         f"{100 * (ours - ref):+.1f}" if ours is not None else "—"]
        for label, ours, ref in rows
    ]  # fmt: skip
    films = [
        [f.title, f.female_words, f.male_words, f.other_words,
         pct(f.female_share) if f.female_share is not None else "—", f.lead_gender or "—"]
        for f in corpus.films
    ]  # fmt: skip
    report = Report(
        kind="corpus",
        title=f"Representation across {corpus.scripts} scripts",
        verdict=verdict(corpus),
        data={
            "kind": "corpus",
            "folder": folder,
            "figures": corpus.figures(),
            **corpus.to_json(),
            "reference": {"pudding": PUDDING},
        },
        tables=[
            Table(
                "Beside the Pudding's 2,000 films",
                ["figure", "these scripts", "the Pudding", "difference (points)"],
                table,
            ),  # fmt: skip
            Table(
                "Scripts (characters with ≥ 100 words)",
                ["script", "women's words", "men's words", "undeclared", "women's share", "lead"],
                films,
            ),  # fmt: skip
        ],
        method=METHOD,
    )
    if corpus.other_words:
        report.notes.append(
            f"{corpus.other_words} words by ≥ 100-word characters with no declared female or "
            "male gender are left out of every share (the Pudding's denominator)."
        )
    if importlib.util.find_spec("matplotlib") is not None:
        from soundstage.audit.plots import hist_svg

        shares = [f.female_share for f in corpus.films if f.female_share is not None]
        report.figures.append(
            Figure(
                "Women's share of dialogue, script by script",
                hist_svg(shares, PUDDING["female_share_of_words"], "the Pudding 28.1%"),  # type: ignore[arg-type]
                f"A histogram of {len(shares)} scripts' female share of words; pooled "
                f"{pct(corpus.female_share_of_words)}, the Pudding's 28.1% marked.",
            )
        )
    return report


def verdict(corpus: CorpusAudit) -> str:
    if not corpus.counted:
        return (
            f"None of the {corpus.scripts} scripts has a declared woman or man with 100 words, "
            "so there is nothing to compare with the Pudding."
        )
    return (
        f"Across {corpus.counted} scripts, women speak {pct(corpus.female_share_of_words)} of "
        f"the words of characters with at least 100 (the Pudding's 2,000 films: 28.1%); the "
        f"median script gives them {pct(corpus.median_film_female_share)} (24.3%). Men speak "
        f"more than half in {pct(corpus.films_men_over_50)} of the scripts (84.8%), "
        f"{pct(corpus.films_balanced_40_60)} are balanced (15.3%), and "
        f"{pct(corpus.female_lead)} have a female lead (21.8%)."
    )


METHOD = (
    "Each script is audited on its own (speeches counted from the parsed screenplay, genders "
    "and ages from the declared cast only), then pooled the Pudding's way: characters with at "
    "least 100 words and a declared female or male gender. A script's share is women's words "
    "over women's and men's; the bands count scripts; the lead is the character with the "
    "most words; ages are each gender's words by the declared age band."
)
