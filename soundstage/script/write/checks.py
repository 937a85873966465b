"""What a generated field must not be: the guided writer's checks on a small model's text.

Each is a pure function of text (and the story so far) that says no to one habit of a
135M-parameter model, found by reading its output: speeches that read the prompt back,
narration in the past tense, action lines that talk, invented people and places, French
after one French line, logline phrases that are no person ("work together"). The writer
(guided.py) drops a candidate any check refuses and samples again when none is left.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from soundstage.embedder import vocabulary
from soundstage.script.types import Character, Line, Screenplay
from soundstage.script.write.dialogue import content
from soundstage.script.write.names import FIRST_NAMES, first_name

# Not a place a camera can stand in ("EXT. WORLD").
NOT_PLACES = frozenset(
    "hero heroine protagonist antagonist story scene film who that world universe place "
    "setting life time end future past family summer winter spring autumn day night "
    "character characters other others two three people everyone someone".split()
)


# Text about the text, not the story ("… but the logline is about a keeper", "The sea in the
# film …", "She's in the past tense."): never a want, a place or an action line.
ABOUT_TEXT = re.compile(
    r"\b(logline|story|film|movie|screenplay|character|protagonist|antagonist|tense)\b", re.I
)


# Action is written in the present tense; these words mark a line told in the past (a small
# model's prose habit: "Hiding in a small cottage, the keeper had been.").
PAST = re.compile(r"\b(was|were|had|did|said|seemed|knew|felt|thought)\b", re.I)


# A speech about the text ("The Night Nurse's Secret - Scene - A story with no clear ending."):
# narrower than ABOUT_TEXT, since people say "long story".
SPEECH_ABOUT_TEXT = re.compile(r"\b(scene|logline|screenplay|protagonist|antagonist)\b", re.I)


DANGLING = frozenset(
    "a an the of to in on at by for from with and or but her his my their our its".split()
)


# Words English can hardly say four words without; French, Spanish and word salad can.
FUNCTION_WORDS = frozenset(
    """a an the and or but if so because of to in on at by for with from as into about over
    after before up down out off than then i me my mine you your yours he him his she her hers
    it its we us our they them their this that these those here there is are was were be been
    being am do does did done have has had will would can could shall should may might must not
    no yes what who whom which when where why how all any some every each just only very too
    also now never always again still let don't can't won't i'm you're it's that's there's
    isn't aren't wasn't didn't doesn't we're they're i've i'll get got go going come came see
    look know think want need tell say make take give one two okay oh hey please well""".split()
)
# Letters English text has no use for; typographic quotes and dashes are fine.
NOT_ENGLISH = re.compile(r"[^\x00-\x7f‘’“”—–…]")


def foreign(text: str) -> bool:
    """Not English: a letter outside ASCII ("Bien sûr"), or four words and more without one
    English function word ("L'enfant, leur je ne sais pas"). After one French line the model
    writes the rest of the scene in French, so none may get in."""
    if NOT_ENGLISH.search(text):
        return True
    words = {w.lower() for w in re.findall(r"[A-Za-z]+(?:'[a-z]+)?", text)}
    return len(words) >= 4 and not words & FUNCTION_WORDS


def listy(text: str) -> bool:
    """Words strung on commas ("together, everyone, him, she, they, all, with love"): the
    repetition penalty spares punctuation, so a small model that has used its words up
    puts a comma between every two."""
    commas = text.count(",")
    return commas >= 4 and commas * 3 >= len(text.split())


def reads_back(speech: str, sources: list[str]) -> bool:
    """A speech that is one of `sources` read aloud: four or more content words, most of
    them from one source. Checked source by source: against all of them at once, every
    short line about the story's pizza and family counted as a copy."""
    return len(set(content(speech))) >= 4 and any(echoes(speech, s, 0.7) for s in sources)


def echoes(text: str, source: str, share: float = 0.6) -> bool:
    """True when most of `text`'s content words come from `source`: the small model copying
    its prompt back ("Alexi is forced to share a parking spot for one summer")."""
    words = set(content(text))
    return bool(words) and len(words & set(content(source))) / len(words) >= share


LOGLINE_STOP = frozenset(
    "a an the and or but of to in on at by for with from as is are was were be been has have "
    "had must will would can could that this who whom which when where while after before "
    "into onto her his their its our my your them they she he it one two three".split()
)


def logline_roles(logline: str) -> list[str]:
    """Word spans of the logline that could name a person: 1–3 words, no stopword at
    either end ('retired lighthouse keeper', 'smuggler', 'lens')."""
    words = [re.sub(r"'s?$", "", w.lower()) for w in re.findall(r"[A-Za-z][A-Za-z'-]*", logline)]
    spans = (
        words[i:j]
        for i in range(len(words))
        for j in range(i + 1, min(i + 4, len(words) + 1))
        if not (i and words[i - 1] in VERB_LEADS)
    )
    return list(dict.fromkeys(" ".join(s) for s in spans if not set(s) & LOGLINE_STOP))


PERSON_NOUNS = frozenset(
    "nurse chef cop doctor astronaut prodigy brother sister mother father son daughter wife "
    "husband widow widower priest nun monk king queen prince princess detective thief spy pilot "
    "witch wizard knight soldier student teacher boy girl kid child orphan bride groom nanny "
    "maid clerk mayor sheriff judge lawyer agent heir heiress twin cousin aunt uncle grandma "
    "grandpa grandmother grandfather neighbour neighbor friend rival host guest nomad hermit "
    "captain sailor pirate ghost robot android alien vampire chief boss genius veteran rookie "
    "intern cadet scientist poet artist musician dancer athlete coach champion".split()
)


AGENT_SUFFIXES = ("er", "or", "ist", "ian", "eer", "ant", "ent", "man", "woman", "smith")


# Common words with an agent suffix that name no one ("must work together": the antagonist's
# occupation was "work together").
NOT_PERSONS = frozenset(
    "together however never ever forever other another whether rather either neither further "
    "after over under later water order power paper number matter corner border winter summer "
    "center centre danger murder dinner counter computer wonder letter river tower weather "
    "silver shelter disaster chapter answer remember consider discover recover deliver "
    "moment event element present accident argument apartment restaurant plant elephant "
    "important different instant distant urgent silent violent recent ancient".split()
)
# A span right after these is a verb phrase ("must work together", "to save a diner").
VERB_LEADS = frozenset("must to will can cannot could should would may might".split())


def person_noun(word: str) -> bool:
    """Could this word name a person? A closed list, or an agent suffix ('smuggler', 'owner',
    'guardian') on a word that is not a common thing or adverb; an English-only guess that
    MiniLM then ranks."""
    word = word.lower()
    if word in NOT_PERSONS:
        return False
    return word in PERSON_NOUNS or (len(word) > 4 and word.endswith(AGENT_SUFFIXES))


def singular(phrase: str) -> str:
    """'food-truck owners' → 'food-truck owner' (a character is one person); 'boss' stays."""
    head, _, last = phrase.rpartition(" ")
    if len(last) > 3 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        last = last[:-3] + "y" if last.endswith("ies") else last[:-1]
    return f"{head} {last}".strip()


def shouts(action: str) -> bool:
    """An action line in capitals ("A LIGHT IS ALREADY HERE") or a heading passed off as one
    ("E SUBSTITUTE - DAY - …"): the model lost the format. A name in capitals is fine."""
    caps = r"\b[A-Z]{2,}\W+[A-Z]{2,}\W+[A-Z]{2,}\b"
    return re.search(caps + r"|\s-\s(DAY|NIGHT)\b", action) is not None


def same_opening(speech: str, speaker: Character, lines: Sequence[Line]) -> bool:
    """The speech opens as the speaker's last one or any of the last four did ("Ladies, …"
    / "Ladies, …", "Sounds, …" / "Sounds, …"): a small model's loop, a speech at a time."""
    own = [ln.text for ln in lines if ln.speaker == speaker.id][-1:]
    before = own + [ln.text for ln in lines[-4:]]
    opening = re.findall(r"[\w']+", speech.lower())[:2]
    return any(opening == re.findall(r"[\w']+", b.lower())[:2] for b in before)


NARRATION = re.compile(
    r"^(She|He|They|It|The \w+)( \w+ly)? (\w+ed|was|were|had|could|couldn't|knew|felt|stood|"
    r"saw|thought|said|took|made|began|came|went|seemed)\b"
)


# A speech tag, the mark of reported speech in prose: "You have a food allergy, she added."
SPEECH_TAG = re.compile(
    r", (he|she|they) (say|says|said|adds|added|asks|asked|replies|replied|"
    r"whispers|whispered|shouts|shouted)(\b[^,;]{0,20}[.!?]?$|,)"
)


PAST_LEAD = re.compile(
    r"^([A-Z][a-z]+) (\w+ed|was|were|had|could|knew|felt|stood|saw|thought|said|took|made|"
    r"began|came|went|seemed|put|sat|smiled|looked)\b"
)


def tells_of(speech: str, cast: set[str]) -> bool:
    """A speech that narrates one of the cast in the past tense ("Lena looked up at her
    nurse, a kind-faced woman."): prose about the scene, not a line spoken in it."""
    lead = PAST_LEAD.match(speech)
    return lead is not None and lead.group(1) in cast


def narrates(speech: str) -> bool:
    """A speech that is prose narration ("She stood there, staring at the lighthouse"):
    third person, past tense, at the start; or a line of reported speech, which ends in its
    speech tag ("You have a food allergy, she added.")."""
    return NARRATION.match(speech) is not None or SPEECH_TAG.search(speech) is not None


def good_action(action: str, known: set[str]) -> bool:
    """What the camera sees, now: not shouted, not spoken, not about the text, not in the
    past tense, and no person or place the story does not have."""
    return not (
        shouts(action)
        or PROMPT_LEAD.match(action) is not None
        or quotes(action)
        or spoken(action)
        or ABOUT_TEXT.search(action)
        or PAST.search(action)
        or foreign(action)
        or listy(action)
        or invents_names(action, known)
    )


def spoken(action: str) -> bool:
    """An action line that talks ("Serena, you're the only one left."): first or second
    person outside quotation marks. Action is what the camera sees, in the third person."""
    outside = re.sub(r'"[^"]*("|$)', " ", action)
    pronoun = r"\b(I|I'm|I've|I'll|me|my|you|your|you're|we|we're|us|our)\b"
    return re.search(pronoun, outside, re.IGNORECASE) is not None


def names_self(speech: str, speaker: Character) -> bool:
    """A speech that names its own speaker ("ADA: …", "Ada, your life is over") is a slip:
    the model lost track of who is talking."""
    return re.search(rf"\b{re.escape(first_name(speaker.name))}\b", speech, re.I) is not None


def known_words(sp: Screenplay) -> set[str]:
    """Every word the story itself uses (logline, title, cast, places, beats), lower case."""
    texts = [sp.logline, sp.title]
    texts += [f"{c.name} {c.description}" for c in sp.characters]
    texts += [f"{p.name} {p.description}" for p in sp.places]
    texts += [s.beat for s in sp.scenes]
    return {w.lower() for t in texts for w in re.findall(r"[A-Za-z]+", t)}


def invents_names(text: str, known: set[str]) -> bool:
    """A capitalised word that neither the story nor the MiniLM vocabulary knows, or a first
    name from our list that is not in the cast: a person or place the model made up
    mid-scene ('Elaena, Elna's friend …', 'a man named Eryk', 'Gina gives a laugh')."""
    vocab = vocabulary()
    for word in re.findall(r"\b[A-Z][a-z]+", text):
        w = word.lower()
        if w in known:
            continue
        if word in FIRST_NAMES or (vocab and w not in vocab):  # "Gina hands over …"
            return True
    return False


# An instruction read back as if it were action ("Describe Abena's day, with all her thoughts.").
PROMPT_LEAD = re.compile(r"^(Describe|Write|Use|Create|Answer|Imagine|Include|Show us)\b")


def quotes(text: str) -> bool:
    """Quotation marks in a speech or an action line: reported speech, which is prose
    ("She said, “I'm going.”"), not a screenplay's lines. An apostrophe is no quote."""
    return any(mark in text for mark in '"“”„«»')


# Ages a role's words call for: a 19-year-old "grandmother" reads as a mistake. The first
# word found decides; a job without one of these words may be any adult age.
AGE_WORDS: tuple[tuple[frozenset[str], tuple[int, int]], ...] = (
    (
        frozenset(
            "grandmother grandfather grandma grandpa granny grandparent grandparents".split()
        ),
        (62, 89),
    ),
    (frozenset("retired retiree pensioner elderly old widow widower veteran".split()), (58, 85)),
    (frozenset("mother father mom dad mum parent parents stepmother stepfather".split()), (29, 58)),
    (frozenset("teenager teen teenage schoolgirl schoolboy".split()), (13, 18)),
    (frozenset("child kid boy girl kids children".split()), (8, 12)),
    (frozenset("student intern apprentice young".split()), (17, 26)),
)
ADULT = (18, 79)


def age_range(job: str) -> tuple[int, int]:
    """The ages (inclusive) a character with this occupation or role may have."""
    words = set(re.findall(r"[a-z]+", job.lower()))
    for group, span in AGE_WORDS:
        if words & group:
            return span
    return ADULT
