"""Characters' names: drawn from a list we wrote (prompts/names.json, CC0), not by the model.

`draw_name` gives a new character a first and last name; `FIRST_NAMES` lets the checks
tell a listed name outside the cast (a person the model made up) from an ordinary word."""

from __future__ import annotations

import json
import random
import re
import zlib
from pathlib import Path

from soundstage.script.types import Role, Screenplay

NAME_LIST: dict[str, list[str]] = json.loads(
    (Path(__file__).parent / "prompts" / "names.json").read_text("utf-8")
)


FIRST_NAMES = frozenset(NAME_LIST["woman"] + NAME_LIST["man"])


def draw_name(sp: Screenplay, role: Role, gender: str, seed: int) -> str:
    """A first and last name from prompts/names.json, drawn by the story (two loglines with
    one seed get two casts), never with a first-name initial or a last name the cast already
    has (screenwriters give characters different initials, so a reader never mixes them up).

    Why not the model: sampled freely, a 135M model named every other heroine "Elena", gave
    "Michael Fassbender" (an actor) and invented "Incredul Alaska" and "Elna" beside "Elena";
    offered ten names from the list, it took one starting with A for 5 protagonists in 6 and
    the same last name in 3 casts of 6. The writer renames anyone with `write edit`."""
    initials = {c.name[0] for c in sp.characters}
    used = {c.name.split()[-1] for c in sp.characters}
    rng = random.Random(zlib.crc32(f"{sp.logline}|{role}|{seed}".encode()))
    pool = NAME_LIST[gender if gender in NAME_LIST else "woman"]
    first = rng.choice([n for n in pool if n[0] not in initials] or pool)
    return f"{first} {rng.choice([n for n in NAME_LIST['last'] if n not in used])}"


def first_name(name: str) -> str:
    return name.split()[0] if name.split() else name


# Nouns that name a person's gender, as loglines use them for their protagonist.
FEMALE_NOUNS = frozenset(
    """woman women girl girls mother mothers mom mum sister sisters daughter daughters wife
    widow bride queen princess aunt niece grandmother granddaughter girlfriend heroine actress
    waitress nun lady ladies fisherwoman policewoman businesswoman congresswoman spokeswoman
    sportswoman chairwoman stepmother stepdaughter landlady matriarch mrs ms""".split()
)
MALE_NOUNS = frozenset(
    """man men boy boys father fathers dad brother brothers son sons husband widower groom
    king prince uncle nephew grandfather grandson boyfriend hero actor waiter monk gentleman
    gentlemen fisherman policeman businessman congressman spokesman sportsman chairman
    stepfather stepson landlord patriarch mr""".split()
)


# Words that end a logline's subject: determiners and pronouns after the first word, relative
# pronouns, prepositions and the verbs loglines lean on.
SUBJECT_ENDS = frozenset(
    """the a an his her their its who whose that which must is are has have was with of to for
    from after when while on in at finds discovers""".split()
)


def logline_gender(logline: str) -> str | None:
    """The protagonist's gender when the logline says it: a gendered noun among its first
    six words before the subject ends (SUBJECT_ENDS), the subject ("A widowed
    fisherwoman…", "Two estranged sisters…", "A father and son…"; the first such noun
    wins), else its pronouns ("… of her lighthouse"), when it uses only one gender's. None
    otherwise."""
    words = re.findall(r"[a-z]+(?:-[a-z]+)*", logline.lower())
    for index, word in enumerate(words[:6]):
        if index and word in SUBJECT_ENDS:
            break  # past the subject: "A lawyer defends the man…" says nothing of the lawyer
        if word in FEMALE_NOUNS:
            return "woman"
        if word in MALE_NOUNS:
            return "man"
    found = set(re.findall(r"[a-z]+", logline.lower()))
    she = bool(found & {"she", "her", "hers", "herself"})
    he = bool(found & {"he", "him", "his", "himself"})
    return "woman" if she and not he else "man" if he and not she else None
