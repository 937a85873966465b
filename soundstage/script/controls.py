"""The writer's controls — genre, tone, audience rating — checked, and turned into direction.

Each value is a closed list, so a typo is an error naming the valid choices instead of a
silent default. Every value carries the words the guided writer puts into its prompts
(vocabulary, pacing, what the rating allows), so a control changes what is written, not
only a label on the title page. The rating also
picks the moderation policy the release gate checks the script under (`gate_policy`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from soundstage.errors import SoundstageError
from soundstage.script.structures import STRUCTURES
from soundstage.script.types import Controls
from soundstage.textcheck import check_text

MAX_LOGLINE = 1000


@dataclass(frozen=True)
class Genre:
    direction: str  # one sentence for the prompt: what this genre's scenes do
    pacing: str  # how scenes move


GENRES: dict[str, Genre] = {
    "drama": Genre(
        "People under pressure face hard choices about family, work and love.",
        "Scenes breathe: pauses, looks, things left unsaid.",
    ),
    "comedy": Genre(
        "Characters want something badly and go about it the wrong way; jokes come from character.",
        "Quick exchanges, comic reversals, a punchline to end each scene.",
    ),
    "thriller": Genre(
        "A threat closes in; every scene raises the danger and the clock is ticking.",
        "Short lines, hard cuts, a new danger or clue in every scene.",
    ),
    "horror": Genre(
        "Something wrong hides in an ordinary place, and it comes closer.",
        "Slow dread, silence, then sudden shocks.",
    ),
    "romance": Genre(
        "Two people who should not fall for each other do, and something keeps them apart.",
        "Banter, longing, a near-miss before the ending.",
    ),
    "mystery": Genre(
        "A question needs answering; clues, suspects and a reveal.",
        "Questions and evasions; each scene gives one clue.",
    ),
    "sci-fi": Genre(
        "A new technology or world changes what people can do, and what it costs them.",
        "Wonder first, then consequences.",
    ),
    "fantasy": Genre(
        "Magic or myth meets ordinary people, and the rules of the world matter.",
        "A sense of wonder, a quest, a price for magic.",
    ),
    "western": Genre(
        "Frontier justice: land, water, honour and a showdown.",
        "Few words, long silences, a showdown.",
    ),
    "action": Genre(
        "A hero races against an enemy with everything at stake.",
        "Fast movement, short lines, set pieces.",
    ),
    "family": Genre(
        "A family or a child learns something together; warmth and adventure.",
        "Gentle humour, clear stakes, a warm ending.",
    ),
}

TONES: dict[str, str] = {
    "earnest": "sincere and heartfelt, no irony",
    "light": "warm and playful, with gentle humour",
    "dark": "grim and heavy, with real consequences",
    "tense": "nervous and urgent, people on edge",
    "whimsical": "quirky and surprising, a little absurd",
    "bittersweet": "tender and sad at once",
    "satirical": "sharp and ironic, mocking the powerful",
}

RATINGS: dict[str, str] = {
    "G": "for all ages: no violence, no swearing, nothing frightening",
    "PG": "for families: mild peril only, no swearing",
    "PG-13": "for teens: some violence and peril, mild language, no strong swearing",
    "R": "for adults: strong language and violence are allowed, but nothing gratuitous",
}

# Words each rating keeps out of what the writer generates (a candidate line holding one is
# dropped), after the MPAA's practice: no swearing for G and PG, no strong swearing for PG-13.
# The release gate then checks the whole script under the rating's moderation policy.
_STRONG = r"fuck\w*|motherfuck\w*|cunt\w*|cocksucker\w*"
_MILD = r"shit\w*|bitch\w*|bastard\w*|asshole\w*|dick|piss\w*|arse\w*|bullshit"
_GENTLE = r"damn\w*|hell|crap\w*|goddamn\w*|jerk"
RATING_WORDS: dict[str, re.Pattern[str] | None] = {
    "G": re.compile(rf"\b({_STRONG}|{_MILD}|{_GENTLE})\b", re.I),
    "PG": re.compile(rf"\b({_STRONG}|{_MILD})\b", re.I),
    "PG-13": re.compile(rf"\b({_STRONG})\b", re.I),
    "R": None,
}


def over_rating(text: str, rating: str) -> bool:
    """Does `text` use a word the rating keeps out ("shit" in a PG script)?"""
    words = RATING_WORDS.get(rating)
    return words is not None and words.search(text) is not None


# The moderation policy the release gate uses for each rating.
GATE_POLICY = {"G": "kids", "PG": "kids", "PG-13": "release", "R": "release"}


def _choose(value: str, choices: dict[str, object], what: str, flag: str) -> str:
    key = value.strip()
    match = {k.lower(): k for k in choices}.get(key.lower())
    if match is None:
        raise SoundstageError(
            f"unknown {what} {value!r}", hint=f"{flag} is one of: {', '.join(choices)}"
        )
    return match


def check_controls(controls: Controls) -> Controls:
    """The controls with canonical spellings; SoundstageError names a bad value and the choices."""
    genre = _choose(controls.genre, dict(GENRES), "genre", "--genre")
    tone = _choose(controls.tone, dict(TONES), "tone", "--tone")
    rating = _choose(controls.rating, dict(RATINGS), "rating", "--rating")
    if controls.structure not in STRUCTURES:
        raise SoundstageError(
            f"unknown structure {controls.structure!r}",
            hint=f"--structure is one of: {', '.join(STRUCTURES)}",
        )
    if not 0 < controls.minutes <= 240:
        raise SoundstageError(
            f"--minutes must be more than 0 and at most 240, got {controls.minutes:g}"
        )
    return replace(controls, genre=genre, tone=tone, rating=rating)


def check_logline(logline: str) -> str:
    """The logline on one line; SoundstageError when empty or longer than a logline can be."""
    text = " ".join(check_text(logline, "the logline").split())
    if not text:
        raise SoundstageError("the logline is empty", hint='pass one sentence, e.g. "A keeper…"')
    if len(text) > MAX_LOGLINE:
        raise SoundstageError(
            f"the logline is {len(text):,} characters; at most {MAX_LOGLINE} are allowed",
            hint="a logline is one or two sentences",
        )
    return text


def direction(controls: Controls) -> str:
    """The controls as prompt text: genre, tone, rating and pacing in plain sentences."""
    genre = GENRES.get(controls.genre, GENRES["drama"])
    return (
        f"Genre: {controls.genre}. {genre.direction}\n"
        f"Tone: {controls.tone}, {TONES.get(controls.tone, controls.tone)}.\n"
        f"Rating: {controls.rating}, {RATINGS.get(controls.rating, controls.rating)}.\n"
        f"Pacing: {genre.pacing}"
    )


def gate_policy(controls: Controls) -> str:
    return GATE_POLICY.get(controls.rating, "release")
