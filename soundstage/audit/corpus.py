"""Representation across many scripts, computed the way the Pudding computed its 2,000 films.

    [ScriptAudit, …] → characters with ≥ 100 words and a declared gender → CorpusAudit

The Pudding's figures (../shared/notes/audit.md §1.2) are corpus-level: the pooled female
share of words, the median film, the share of films in each balance band, the share of films
with a female lead, women's share of the characters, and how each gender's words spread over
age bands. Every figure here uses their cut-off (characters with ≥ 100 words) and their
denominator (characters with a declared female or male gender; "unknown" and other declared
genders are counted apart and reported, never folded into either side).

- a film's female share: women's words / (women's + men's words), ≥ 100-word characters;
- bands: men > 50%, men ≥ 60%, men ≥ 90%, women ≥ 60%, balanced (both under 60%);
- lead: the ≥ 100-word character with the most words (ties: first to speak);
- ages: each gender's words by age band, over characters with a declared age.

`soundstage audit corpus DIR` reads every script in a folder (with `NAME.cast.csv` beside
`NAME.fountain`) and reports these beside the Pudding's.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from soundstage.audit.script import PUDDING_CUTOFF
from soundstage.audit.types import ScriptAudit

__all__ = ["CorpusAudit", "FilmShare", "audit_corpus", "film_share"]

SIDES = ("female", "male")


@dataclass(frozen=True)
class FilmShare:
    """One script's figures in the Pudding's terms (≥ 100-word characters)."""

    title: str
    female_words: int
    male_words: int
    other_words: int  # unknown or another declared gender
    lead_gender: str  # of the ≥ 100-word character with the most words; "" when none
    female_characters: int
    male_characters: int

    @property
    def female_share(self) -> float | None:
        total = self.female_words + self.male_words
        return self.female_words / total if total else None


@dataclass
class CorpusAudit:
    """The Pudding's corpus figures over a set of scripts (fractions, 0–1)."""

    scripts: int
    counted: int  # scripts with at least one ≥ 100-word woman or man
    female_share_of_words: float
    median_film_female_share: float
    films_men_over_50: float
    films_men_60_or_more: float
    films_men_90_or_more: float
    films_women_60_or_more: float
    films_balanced_40_60: float
    female_lead: float
    female_share_of_characters: float
    words_by_age: dict[str, dict[str, float]]  # gender → age band → share of its words
    other_words: int  # ≥ 100-word characters with no declared female/male gender
    films: list[FilmShare] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        """The figures named as in `soundstage.audit.reference.PUDDING`."""
        data = asdict(self)
        for key in ("films", "scripts", "counted", "other_words"):
            data.pop(key)
        return data

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["films"] = [{**asdict(f), "female_share": f.female_share} for f in self.films]
        return data


def film_share(audit: ScriptAudit) -> FilmShare:
    """One script's ≥ 100-word figures."""
    gender = {p.cue: p.gender for p in audit.cast}
    words = {c: n for c, n in audit.words_by_character.items() if n >= PUDDING_CUTOFF}
    by: Counter[str] = Counter()
    chars: Counter[str] = Counter()
    for cue, n in words.items():
        side = gender.get(cue, "unknown")
        by[side if side in SIDES else "other"] += n
        chars[side] += 1
    # words_by_character is in most_common order, so the first maximum is the lead
    lead = max(words, key=lambda c: words[c], default="")
    return FilmShare(
        title=audit.title,
        female_words=by["female"],
        male_words=by["male"],
        other_words=by["other"],
        lead_gender=gender.get(lead, "unknown") if lead else "",
        female_characters=chars["female"],
        male_characters=chars["male"],
    )


def _ages(audits: list[ScriptAudit]) -> dict[str, dict[str, float]]:
    words: dict[str, Counter[str]] = {side: Counter() for side in SIDES}
    for audit in audits:
        for person in audit.cast:
            n = audit.words_by_character.get(person.cue, 0)
            if n >= PUDDING_CUTOFF and person.gender in SIDES and person.age is not None:
                words[person.gender][person.age_band] += n
    out = {}
    for side, bands in words.items():
        total = sum(bands.values())
        if total:
            out[side] = {band: round(n / total, 4) for band, n in sorted(bands.items())}
    return out


def audit_corpus(audits: list[ScriptAudit]) -> CorpusAudit:
    """The Pudding's figures over these scripts (see the module docstring)."""
    films = [film_share(a) for a in audits]
    counted = [f for f in films if f.female_share is not None]
    shares = [f.female_share for f in counted if f.female_share is not None]
    n = len(shares) or 1
    women = sum(f.female_words for f in counted)
    total = women + sum(f.male_words for f in counted)
    chars_f = sum(f.female_characters for f in counted)
    chars = chars_f + sum(f.male_characters for f in counted)

    def films_where(test: Any) -> float:
        return round(sum(1 for s in shares if test(s)) / n, 4)

    return CorpusAudit(
        scripts=len(films),
        counted=len(counted),
        female_share_of_words=round(women / total, 4) if total else 0.0,
        median_film_female_share=round(statistics.median(shares), 4) if shares else 0.0,
        films_men_over_50=films_where(lambda s: s < 0.5),
        films_men_60_or_more=films_where(lambda s: s <= 0.4),
        films_men_90_or_more=films_where(lambda s: s <= 0.1),
        films_women_60_or_more=films_where(lambda s: s >= 0.6),
        films_balanced_40_60=films_where(lambda s: 0.4 < s < 0.6),
        female_lead=round(sum(1 for f in counted if f.lead_gender == "female") / n, 4),
        female_share_of_characters=round(chars_f / chars, 4) if chars else 0.0,
        words_by_age=_ages(audits),
        other_words=sum(f.other_words for f in films),
        films=films,
    )
