"""Published figures an audit prints beside its own (../shared/notes/audit.md §1.2).

The Pudding, "Film Dialogue from 2,000 screenplays, broken down by gender and age" (Anderson
& Daniels, 2016; recomputed from github.com/matthewfdaniels/scripts: 2,000 films, 23,043
characters with ≥ 100 words). USC Annenberg Inclusion Initiative, "Inequality in 900 Popular
Films" (2007–2016, 39,788 speaking characters).
"""

from __future__ import annotations

PUDDING = {
    "source": "The Pudding, Film Dialogue from 2,000 screenplays (2016)",
    "female_share_of_words": 0.281,
    "median_film_female_share": 0.243,
    "films_men_over_50": 0.848,
    "films_men_60_or_more": 0.762,
    "films_men_90_or_more": 0.169,
    "films_women_60_or_more": 0.085,
    "films_balanced_40_60": 0.153,
    "female_lead": 0.218,
    "female_share_of_characters": 0.300,
    "words_age_21_40": {"female": 0.67, "male": 0.49},
    "words_age_41_50": {"female": 0.15, "male": 0.25},
}

# Films by women's share of dialogue, from the Pudding's bands: men ≥ 90% (women ≤ 10%)
# 16.9%; men ≥ 60% 76.2%, so women 10–40% 59.3%; balanced 40–60% 15.3%; women ≥ 60% 8.5%.
PUDDING_BINS = [
    ("≤ 10%", 0.0, 0.10, 0.169),
    ("10–40%", 0.10, 0.40, 0.593),
    ("40–60% (balanced)", 0.40, 0.60, 0.153),
    ("≥ 60%", 0.60, 1.0, 0.085),
]

ANNENBERG = {
    "source": "USC Annenberg Inclusion Initiative, Inequality in 900 Popular Films (2017)",
    "female_share_of_speaking_characters": 0.314,
    "male_to_female_ratio": 2.3,
}


def pudding_bin(female_share: float) -> str:
    """Which of the Pudding's bands a script's female share of words falls in."""
    for name, low, high, _ in PUDDING_BINS:
        if low <= female_share < high or (high == 1.0 and female_share == 1.0):
            return name
    return PUDDING_BINS[-1][0]
