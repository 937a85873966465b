"""The guided writer: a small instruct model fills a screenplay's fields one at a time.

A 135M-parameter model cannot be trusted with a format. It can be trusted with one short
field at a time when the rest is written for it. So every level is a short form the pipeline
writes and the model completes, field by field, in the assistant's turn of a ChatML prompt
whose user message gives the logline, the genre and tone, and what is already decided:

    title        Title: ____                                            (4 samples)
    characters   Name / Gender / Age / Occupation / Wants / Voice       (one character a prompt;
                 the protagonist's and antagonist's occupation is a phrase of the logline)
    scenes       Place / Inside or outside / Time / Characters / What happens
                                                                        (one per structure beat)
    places       Description: ____                                      (one per place)
    dialogue     the scene in screenplay form; *we* write each cue (the speaker chosen by id)
                 and say whether an action line follows; the model writes speech or action

Each field has a regular expression. With the local backend every token is constrained to
it (see `backends/local.py`), so answers always parse; other backends sample freely and
are cut to the longest part that matches, with a fallback when nothing does. Each field is
sampled `candidates` times in one batch and the best is kept by `Reranker` (relevance to
the beat or logline, consistency with the speaker's sheet, novelty against the scene so
far). Dramatron's loop guard is kept: a speech that repeats an earlier one is never chosen.

Within a character, an outline scene or a dialogue scene the prompt only grows, so the
local backend's prefix cache makes each further field cost only its own tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from soundstage.backends.base import Completion, Message, Sampling, TextBackend
from soundstage.script.controls import direction, over_rating
from soundstage.script.structures import Beat, allocate, cast_size, scene_count
from soundstage.script.types import (
    Character,
    Controls,
    Dialogue,
    Line,
    Place,
    Role,
    Scene,
    Screenplay,
    slug,
)
from soundstage.script.write.checks import (
    ABOUT_TEXT,
    DANGLING,
    LOGLINE_STOP,
    NOT_PLACES,
    SPEECH_ABOUT_TEXT,
    age_range,
    echoes,
    foreign,
    good_action,
    invents_names,
    known_words,
    listy,
    logline_roles,
    names_self,
    narrates,
    person_noun,
    quotes,
    reads_back,
    same_opening,
    shouts,
    singular,
    spoken,
    tells_of,
)
from soundstage.script.write.dialogue import content
from soundstage.script.write.names import draw_name, first_name, logline_gender
from soundstage.script.write.planner import GENRE_PLACES, genre_key
from soundstage.script.write.rerank import Reranker

__all__ = ["GuidedWriter", "uses_guided"]

SYSTEM = (
    "You are an award-winning screenwriter. You write short films in modern, plain, concrete "
    "English: action lines in the present tense that show what we see and hear, and natural "
    "dialogue in which people want things from each other. You answer in exactly the form "
    "you are asked for."
)
ROLE_ORDER: tuple[Role, ...] = ("protagonist", "antagonist", "ally", "mentor", "supporting")
ROLE_HELP = {
    "protagonist": "the person the logline is about",
    "antagonist": "the person who stands in the protagonist's way",
    "ally": "someone who helps the protagonist",
    "mentor": "someone older or wiser who advises the protagonist",
    "supporting": "someone in the protagonist's world",
}
# One sentence: no sentence end inside, so the model must stop at the first one.
SENTENCE = r" ?[A-Z][^\n.!?()<>*#\[\]{}_|:]{15,200}[.!?]\n"
PHRASE = r" [a-zA-Z][^\n<>*#\[\]{}_|.]{3,70}\n"
PLACE = r"(?i) [a-z]{3,14}( [a-z]{2,14}){0,2}\n"  # after "Place: the"
JOB = r" [a-z][a-z -]{2,40}[a-z]\n"
VOICE = r" [a-z][a-z ,'-]{3,60}[a-z]\n"
WANTS = r" [a-z][^\n.!?()<>*#\[\]{}_|:]{7,159}[A-Za-z0-9'\"][.!]\n"  # not "so they go,!"
# A speech: no cue-like capitals up front ("ELENA KRASNER (INT. …)"), no brackets or colons.
# No quotation marks: a speech in quotes is prose ('Eryx, with an air of confidence, said, "…"').
# The second character is a small letter, a space or an apostrophe ("Hi", "I am", "I'm"),
# spelt out rather than as a lookahead: decoding checks prefixes, and a lookahead on a prefix
# let "YOLOVIAKIANEKAKE…" through to the token limit; a bare "not a capital" let through
# scenes of initials ("P.I.", "B.E.", "D.O.").
SPEECH = r" ?[A-Z'][a-z '][^\n<>*#\[\]{}()_|:0-9\"]{0,159}[.!?'-]\n"
# An action line; never the model talking about the text ("Sentence after sentence …").
META = (
    r"(?!(Scene|Sentence|Original|Elaborate|Dialogue|Note|Action|Description|Example|Title|T he"
    r"|Begin|What happens|The scene|This scene|In this scene|Cut to)\b)"
)
# It starts with a word ("V – Alex" is not one) and is in the third person: "you", "I", "we"
# outside quotes mean a speech has slipped into the action (see `spoken`).
# No quotation marks either: in a small model's action lines they open speeches.
# An action line after a name the writer gave, from a verb of what the camera sees, in the
# present tense: "… turns to the window." (free, the model wrote "… had told him"; held to
# any verb ending in -s, it made one up letter by letter).
VERBS = (
    "looks turns stands walks sits steps opens closes takes holds picks puts pulls pushes runs "
    "stops waits watches listens nods shakes smiles laughs stares glances leans reaches grabs "
    "drops throws hands points moves crosses enters leaves sets lifts lowers kneels rises "
    "climbs shuts lights reads wipes touches pauses sighs freezes hurries paces backs follows "
    "catches slams knocks checks searches hides finds studies folds"
).split()
DOES = rf" ({'|'.join(VERBS)})[ ,.][^\n<>*#\[\]{{}}()_|:0-9\"]{{2,280}}[.!]\n"
ACTION = r" ?" + META + r"(A|An|[A-Z][a-z']+)[ ,][^\n<>*#\[\]{}()_|:0-9\"]{10,280}[.!]\n"
ROLE_WANTS = {  # when every sampled want copies the logline or another character's
    "protagonist": "wants to set right what the story took from them.",
    "antagonist": "wants to keep what they took, whatever it costs.",
    "ally": "wants to be trusted with the truth.",
    "mentor": "wants to see a mistake of long ago not made again.",
    "supporting": "wants a quiet life back.",
}
ROLE_JOB = {  # when no occupation fits: a plain word for the part
    "protagonist": "stranger",
    "antagonist": "rival",
    "ally": "friend",
    "mentor": "teacher",
    "supporting": "neighbour",
}
PLACE_SENSE = "a place: a room, a building, a street or a landscape where people can be"
PLACE_MIN = 0.25  # MiniLM cosine: "parking spot" .42, "island" .28, "storm" .14
PERSON = "a person: a man or a woman who does this for a living"
JOB_MIN = 0.2  # the same, for an occupation the model wrote freely ('forced' .16)
PERSON_MIN = 0.05  # MiniLM cosine, after the person-noun filter: "chess prodigy" .08
SPEECH_CANDIDATES = 2  # speeches and action lines: the bulk of the tokens, so fewer samples
LINES_PER_PAGE = 55  # a page is about a minute of screen time
MIN_SPEECHES, MAX_SPEECHES = 4, 40  # a scene's speeches, whatever its page budget
# A place described as a piece of the script ("the setting of a scene where two rival
# food-truck owners…", the logline read back) describes nothing.
PLACE_ABOUT_TEXT = re.compile(r"\b(scene|setting)\b", re.I)
WINDOW = (6, 14)  # elements of the scene kept in the dialogue prompt: see Window
MAX_MISSES = 3  # turns in a row without a usable speech end the scene (twice that before two)

Call = Callable[[str, str, Completion], None]  # (level, prompt, completion)


def uses_guided(backend: TextBackend) -> bool:
    """True for backends whose prompt format we know (local; openai with ?template=chatml)."""
    return backend.chat_format == "chatml"


def brief(controls: Controls) -> str:
    return f"A {controls.tone} {controls.genre} short film."


def job_of(c: Character) -> str:
    """The occupation in a description written as '(age) occupation. …'."""
    return c.description.split(". ")[0].split(") ")[-1]


def _last_sentence(text: str) -> str:
    """`text` up to its last sentence end, as a field: 'He runs. She' → 'He runs.\n'."""
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s|$)", text.rstrip("\n"))]
    return text[: ends[-1]] + "\n" if ends else ""


def _clean(text: str) -> str:
    return " ".join(text.strip().split())


@dataclass
class GuidedWriter:
    """Writes every level field by field; `plan()` gives levels 1–5, `dialogue()` level 6."""

    backend: TextBackend
    candidates: int = 3
    temperature: float = 0.7
    top_p: float = 0.9
    on_call: Call | None = field(default=None, repr=False, compare=False)
    reranker: Reranker = field(default_factory=Reranker, repr=False)
    tokens: int = field(default=0, init=False)  # completion tokens generated so far

    # -- one field -------------------------------------------------------------------------

    def prompt(self, user: str, prefill: str) -> str:
        messages = [Message("system", SYSTEM), Message("user", user)]
        if self.backend.chat_format == "chatml":
            from soundstage.backends.local import chatml

            return chatml(messages, prefill)
        return f"{SYSTEM}\n\n{user}\n\n{prefill}"

    def ask(
        self,
        level: str,
        user: str,
        prefill: str,
        pattern: str,
        *,
        seed: int,
        max_tokens: int,
        n: int | None = None,
        penalty_window: int = 0,
        temperature: float | None = None,
    ) -> list[str]:
        """Candidates for one field, stripped, each matching `pattern` (possibly none)."""
        import regex

        prompt = self.prompt(user, prefill)
        sampling = Sampling(
            max_tokens=max_tokens,
            temperature=self.temperature if temperature is None else temperature,
            top_p=self.top_p,
            stop=("\n",),
            seed=seed,
        )
        outs = self.backend.sample(prompt, n or self.candidates, sampling, pattern, penalty_window)
        compiled = regex.compile(pattern, regex.DOTALL)
        good: list[str] = []
        for out in outs:
            self.tokens += out.completion_tokens
            if self.on_call is not None:
                self.on_call(level, prompt, out)
            text = out.text if out.text.endswith("\n") else out.text + "\n"
            if not compiled.fullmatch(text):
                text = _last_sentence(text)  # out of tokens mid-sentence: up to the last end
            if text and compiled.fullmatch(text):
                good.append(_clean(text))
        return good

    @staticmethod
    def bible(sp: Screenplay) -> str:
        """Logline, direction and title: the head of the place and dialogue prompts."""
        title = f"\nTitle: {sp.title}" if sp.title else ""
        return f"Logline: {sp.logline}\n{direction(sp.controls)}{title}"

    @staticmethod
    def sheet(c: Character) -> str:
        voice = f" Voice: {c.voice}." if c.voice else ""
        return f"{c.name.upper()} ({c.role}), {c.description}{voice}"

    # -- level 1: title ----------------------------------------------------------------------

    def title(self, sp: Screenplay, seed: int = 0) -> str:
        word = r"[A-Za-z]+('[a-z]+)?"  # "Owners''Rage" is not a word
        pattern = rf" (?=[A-Z]){word}( {word}){{0,4}}\n"
        user = (
            f"Logline: {sp.logline}\n{direction(sp.controls)}\n\n"
            "Give this film a short, original title."
        )
        found = self.ask("title", user, "Title:", pattern, seed=seed, max_tokens=12, n=4)
        # not the logline's opening words ("Two Rival Food Truck Owners")
        start = " ".join(re.findall(r"[a-z]+", sp.logline.lower()))
        found = [
            t for t in found if not start.startswith(" ".join(re.findall(r"[a-z]+", t.lower())))
        ] or found
        # nor one cut off at its word limit ("The Lost Light Of A")
        found = [t for t in found if t.split()[-1].lower() not in DANGLING] or found
        if not found:
            return sp.logline.split(".")[0][:40].title()
        best = found[self.reranker.best(found, about=sp.logline, words=(2, 5))]
        return " ".join(w if w.isupper() else w[:1].upper() + w[1:] for w in best.split())

    # -- level 2: characters -----------------------------------------------------------------

    def characters(self, sp: Screenplay, seed: int = 0) -> list[Character]:
        """The cast: `sp.characters` (the writer's own, bottom-up) and new characters for the
        roles they leave open, up to the cast size."""
        out: list[Character] = list(sp.characters)
        taken = {c.role for c in out}
        roles = [r for r in ROLE_ORDER if r not in taken] or ["supporting"]
        for i in range(len(out), cast_size(sp.controls)):
            role = roles[min(i - len(sp.characters), len(roles) - 1)]
            draft = replace(sp, characters=out)
            out.append(self.character(draft, role, seed + 101 * i))
        return out

    def character(self, sp: Screenplay, role: Role, seed: int) -> Character:
        """One more character for the role, consistent with the cast so far.

        The occupation comes first (for the protagonist and antagonist, a phrase of the
        logline, so the cast is the logline's people), then a name, gender and age that fit
        it; the wants sentence is prefilled with the first name ("Ada wants …") and the voice
        with "talks", so a small model writes about this person, not about the prompt."""
        so_far = "".join(f"- {c.name}, {c.description} ({c.role})\n" for c in sp.characters)
        user = (
            f"Logline: {sp.logline}\n{brief(sp.controls)}\n"
            + (f"Characters so far:\n{so_far}" if so_far else "")
            + f"\nCreate the {role} of this film, {ROLE_HELP[role]}. Answer in this form:\n"
            "Occupation:\nGender:\nName:\nAge:\nWants:\nVoice:"
        )
        jobs_taken = {w for c in sp.characters for w in job_of(c).split()}
        spans = logline_roles(sp.logline) if role in ("protagonist", "antagonist") else []
        # "Two rival food-truck owners": a plural role is both the protagonist's and the
        # antagonist's; a singular one is taken once.
        spans = [x for x in spans if x != singular(x) or not set(x.split()) & jobs_taken]
        spans = [singular(x) for x in self.people(spans, sp.logline, subject=role == "protagonist")]
        # As written or capitalised, not any case: in upper case the model spells it out
        # letter by letter and runs out of tokens.
        forms = [f for x in spans for f in dict.fromkeys((x, x.capitalize(), x.title()))]
        job_re = " (" + "|".join(map(re.escape, forms)) + r")\n" if spans else JOB
        jobs = [
            j.lower()
            for j in self.ask("characters", user, "Occupation:", job_re, seed=seed, max_tokens=16)
        ]
        if not spans:
            jobs = [j for j in jobs if not set(j.split()) & jobs_taken] or jobs
        if jobs and not spans:  # freely written: keep only what reads as a person's job
            fit = self.reranker.scores(jobs, about=PERSON, words=(1, 3))
            jobs = [
                j
                for j, v in zip(jobs, fit, strict=True)
                if v >= JOB_MIN and person_noun(singular(j).split()[-1])
            ]
        about = sp.logline if role == "protagonist" else f"{ROLE_HELP[role]}. {sp.logline}"
        job = jobs[self.reranker.best(jobs, about=about, words=(1, 4))] if jobs else ROLE_JOB[role]
        form = f"Occupation: {job}\nGender:"
        gender = logline_gender(sp.logline) if role == "protagonist" else None
        if gender is None:
            genders = self.ask(
                "characters", user, form, r" (woman|man)\n", seed=seed, max_tokens=3, n=1
            )
            gender = genders[0] if genders else "woman"
        form += f" {gender}\nName:"
        name = draw_name(sp, role, gender, seed)
        form += f" {name}\nAge:"
        young, old = age_range(job)
        ages = self.ask(
            "characters",
            user,
            form,
            " (" + "|".join(str(a) for a in range(young, old + 1)) + ")\n",
            seed=seed,
            max_tokens=3,
            n=4,
            temperature=1.2,
        )
        # A cast of one age (the model's favourite is 28) reads as one person three times.
        used = {int(c.description[1:3]) for c in sp.characters if c.description[1:3].isdigit()}
        ages = [a for a in ages if all(abs(int(a) - u) > 4 for u in used)] or ages
        age = ages[0] if ages else str(min(old, max(young, 30 + 12 * len(sp.characters))))
        form += f" {age}\nWants: {first_name(name)} wants"
        want = self.wants(sp, role, user, form, job, name, seed)
        first = first_name(name)
        want = f"{first} wants {want}" if want else f"{first} {ROLE_WANTS[role]}"
        form += f" {want.split(' ', 2)[2]}\nVoice: talks"
        voices = self.ask("characters", user, form, VOICE, seed=seed, max_tokens=12)
        voice = self._pick(voices, f"{job}. {want}", [], words=(2, 8))
        pronouns = "she/her" if gender == "woman" else "he/him"
        description = f"({age}) {job}. {want}"
        return Character(
            slug(name), name, description, pronouns, gender, role, f"talks {voice}" if voice else ""
        )

    def wants(
        self, sp: Screenplay, role: Role, user: str, form: str, job: str, name: str, seed: int
    ) -> str:
        """What the character wants, not a copy of the logline or of another character's
        wants (a small model's habit); a second, hotter try penalises the prompt's words."""
        earlier = " ".join(c.description for c in sp.characters)
        for attempt in range(2):
            found = self.ask(
                "characters",
                user,
                form,
                WANTS,
                seed=seed + 313 * attempt,
                max_tokens=32,
                n=3 + attempt,
                temperature=None if attempt == 0 else 1.0,
                penalty_window=0 if attempt == 0 else 160,
            )
            # The logline's own words are welcome ("to find the smuggler who stole the lens"),
            # a copy of it is not; nor is a copy of another character's wants.
            fresh = [
                d
                for d in found
                if not echoes(d, sp.logline, 0.8 if role == "protagonist" else 0.6)
                and not (earlier and echoes(d, earlier))
                and not ABOUT_TEXT.search(d)
                and not foreign(d)
                and not re.search(rf"\b{re.escape(name)}\b", d)
                and not invents_names(d, known_words(sp) | set(name.lower().split()))
            ]
            if fresh:
                return self._pick(fresh, f"{job}. {sp.logline}", [], words=(5, 24))
        return ""

    def people(self, spans: list[str], logline: str, *, subject: bool) -> list[str]:
        """The logline phrase that most reads as a person, not a thing or a verb (MiniLM);
        for the protagonist (`subject`), earlier and longer phrases win ties. None when
        nothing reads as a person (then the model names an occupation freely). A 135M model
        choosing among the phrases itself picked 'lens' over 'smuggler'; MiniLM alone rates
        'alive' and 'pay' as people, so a phrase must also end in a person noun."""
        spans = [x for x in spans if person_noun(singular(x).split()[-1])]
        if not spans:
            return []
        score = self.reranker.scores(spans, about=PERSON, words=(1, 3))
        if max(score) < PERSON_MIN:
            return []
        if subject:
            where = logline.lower()
            score = [
                v - 0.05 * len(where[: where.find(x)].split()) + 0.03 * (len(x.split()) - 1)
                for v, x in zip(score, spans, strict=True)
            ]
        return [max(zip(score, spans, strict=True))[1]]

    # -- level 3: scenes, with their places ----------------------------------------------------

    def scenes(self, sp: Screenplay, seed: int = 0) -> tuple[list[Scene], list[Place]]:
        sheet = allocate(sp.controls.structure, scene_count(sp.controls.minutes))
        done: list[Scene] = []
        interior: dict[str, bool] = {}  # place → interior, as its first scene said
        # The writer's own scenes (bottom-up) stand at their numbers; the rest lead to them
        # and follow from them.
        fixed = {int(x.id[1:]) - 1: x for x in sp.scenes if sp.is_kept("scenes", x.id)}
        for k, beat in enumerate(sheet):
            if k in fixed:
                place = sp.place(fixed[k].place)
                scene = replace(fixed[k], plot_element=fixed[k].plot_element or beat.name)
                done.append(scene)
                interior.setdefault(scene.place, place.interior if place else True)
                continue
            scene, inside = self.scene(sp, done, beat, k, len(sheet), seed + 37 * k)
            done.append(scene)
            interior.setdefault(scene.place, inside)
        return done, [Place(name, "", inside) for name, inside in interior.items()]

    def scene(
        self, sp: Screenplay, done: Sequence[Scene], beat: Beat, k: int, total: int, seed: int
    ) -> tuple[Scene, bool]:
        """Scene k of the outline (place, time, who is there, what happens) and whether its
        place is inside."""
        end = " This is the last scene: the conflict is resolved." if k == total - 1 else ""
        hero = first_name(sp.characters[0].name) if sp.characters else "the hero"
        purpose = beat.purpose.replace("the hero's", f"{hero}'s").replace("the hero", hero)
        rival = next((c for c in sp.characters if c.role == "antagonist"), None)
        if rival is not None:  # "Jules confronts the opposing force" named no one
            purpose = purpose.replace("the opposing force", first_name(rival.name))
        cast = "".join(f"- {c.name}, {c.description} ({c.role})\n" for c in sp.characters)
        story = "".join(f"Scene {i}: {s.place.lower()}. {s.beat}\n" for i, s in enumerate(done, 1))
        user = (
            f"Logline: {sp.logline}\n{brief(sp.controls)}\nCharacters:\n{cast}"
            + (f"The story so far:\n{story}" if story else "")
            + f"\nPlan scene {k + 1} of {total}: {purpose}.{end} Answer in this form:\n"
            "Place:\nTime:\nCharacters:\nWhat happens:"
        )
        form = "Place: the"
        names = {w.lower() for c in sp.characters for w in c.name.split()}
        names |= {job_of(c).split()[-1] for c in sp.characters if job_of(c)}  # 'keeper' is no place
        places = [p.lower() for p in self.ask("scenes", user, form, PLACE, seed=seed, max_tokens=8)]
        if k == 0:  # the story starts where the logline says it happens, when it says
            places = logline_places(sp.logline, self.reranker) + places
        places = [
            p
            for p in places
            if not set(p.split()) & (names | NOT_PLACES) and p.split()[-1] not in LOGLINE_STOP
        ]
        told = set(content(sp.logline))
        places = [
            p
            for p in places
            if not invents_names(p.title(), told)
            and not ABOUT_TEXT.search(p)
            and not re.search(r"\b(is|are|was|were|set)\b", p)  # "the movie is set …"
            and not person_noun(p.split()[-1])  # "old lighthouse keeper" is no place
        ]
        # The logline's own places first ("the lighthouse" over "the kitchen").
        places = [p for p in places if set(p.split()) & told] or places
        known = [s.place.lower() for s in done]
        place = next((p for p in known if p in places), "")
        place = place or self._pick(places, f"{sp.logline} {purpose}", [], words=(1, 3))
        stock = GENRE_PLACES[genre_key(sp.controls.genre)]
        place = (place or stock[k % len(stock)][0]).upper()
        inside = self.ask(
            "scenes",
            user,
            f"{form} {place.lower()}\nInside or outside:",
            r" (inside|outside)\n",
            seed=seed,
            max_tokens=3,
            n=1,
        )
        form += f" {place.lower()}\nTime:"
        times = self.ask(
            "scenes", user, form, r" (DAY|NIGHT|MORNING|EVENING)\n", seed=seed, max_tokens=3, n=1
        )
        time = times[0] if times else "DAY"
        firsts = [first_name(c.name) for c in sp.characters]
        alt = "|".join(re.escape(f) for f in firsts)
        least = 2 if len(firsts) > 1 else 1
        who_re = rf" ({alt})(, ({alt})){{{least - 1},2}}\n"
        form += f" {time}\nCharacters:"
        whos = self.ask("scenes", user, form, who_re, seed=seed, max_tokens=12, n=2)
        present = [f for f in (whos[0].split(", ") if whos else firsts[:2]) if f in firsts]
        present = list(dict.fromkeys(present))
        for other in firsts:  # "Abena, Abena": a scene of one voice is a monologue
            if len(present) >= least:
                break
            if other not in present:
                present.append(other)
        if k == 0 and firsts[0] not in present:
            present.insert(0, firsts[0])
        if firsts[0] in present:  # the story is the protagonist's: its beats start with them
            present.remove(firsts[0])
            present.insert(0, firsts[0])
        # The beat starts with who acts, so it is about this story's people, not "the hero".
        form += f" {', '.join(present)}\nPurpose: {purpose}\nWhat happens: {present[0]}"
        before = " ".join(s.beat for s in done)
        beats: list[str] = []
        for attempt in range(2):  # the second hotter, away from the prompt's words
            found = self.ask(
                "scenes",
                user,
                form,
                WANTS,
                seed=seed + 577 * attempt,
                max_tokens=50,
                n=self.candidates + attempt,
                temperature=None if attempt == 0 else 1.0,
                penalty_window=0 if attempt == 0 else 160,
            )
            found = [b for b in found if not foreign(b) and not listy(b)]
            beats = beats or found
            # not the logline again, nor an earlier scene's beat (two scenes of one beat)
            fresh = [b for b in found if not echoes(b, f"{sp.logline} {before}")]
            if fresh:
                beats = fresh
                break
        text = self._pick(beats, f"{purpose}. {sp.logline}", [s.beat for s in done], words=(8, 35))
        text = f"{present[0]} {text}" if text else f"{present[0]}: {purpose}."
        ids = tuple(c.id for f in present for c in sp.characters if first_name(c.name) == f)
        scene = Scene(f"s{k + 1}", place.strip(), beat.name, text, ids, time)
        return scene, not (inside and inside[0] == "outside")

    # -- level 4: places ------------------------------------------------------------------------

    def places(self, sp: Screenplay, seed: int = 0) -> list[Place]:
        out = []
        for i, p in enumerate(sp.places):
            if p.description:
                out.append(p)
                continue
            scenes = [s for s in sp.scenes if s.place == p.name]
            what = scenes[0].beat if scenes else ""
            user = (
                f"Logline: {sp.logline}\n{brief(sp.controls)}\n\nDescribe the place "
                f"{('INT. ' if p.interior else 'EXT. ') + p.name} in one vivid sentence for "
                f"the screenplay, as we first see it. Later here: {what}"
            )
            # Prefilled with the place itself, so the sentence is about it (not the title).
            lead = f"The {p.name.lower()}"
            found: list[str] = []
            known = known_words(sp)
            for attempt in range(2):  # a second try with more candidates and another seed
                found = found or [
                    f
                    for f in self.ask(
                        "places",
                        user,
                        f"Description: {lead}",
                        WANTS,
                        seed=seed + i + 991 * attempt,
                        max_tokens=40,
                        n=3 + 2 * attempt,
                    )
                    if not ABOUT_TEXT.search(f)
                    and not PLACE_ABOUT_TEXT.search(f)
                    and not echoes(f, sp.logline)
                    and not spoken(f)
                    and not foreign(f)
                    and not invents_names(f, known)
                ]
            best = self._pick(found, f"{p.name.lower()} {what}", [], words=(6, 25))
            best = f"{lead} {best}" if best else f"{lead}."
            out.append(replace(p, description=best))
        return out

    # -- level 6: dialogue ----------------------------------------------------------------------

    def scene_prompt(self, sp: Screenplay, scene: Scene) -> str:
        index = next(i for i, s in enumerate(sp.scenes) if s.id == scene.id)
        earlier = sp.scenes[max(0, index - 3) : index]
        recap = " ".join(
            f"Scene {index - len(earlier) + i + 1}: {s.beat}" for i, s in enumerate(earlier)
        )
        present = [sp.character(c) for c in scene.characters]
        place = sp.place(scene.place)
        return (
            self.bible(sp)
            + "\n\nCharacters in this scene:\n"
            + "\n".join(f"- {self.sheet(c)}" for c in present)
            + (f"\n\nThe story so far: {recap}" if recap else "")
            + f"\n\nWrite scene {index + 1} of {len(sp.scenes)} ({scene.plot_element}) in "
            f"screenplay format. What happens: {scene.beat}"
            + (f"\nThe place: {place.description}" if place and place.description else "")
            + "\nUse short action lines between the speeches; every speech moves the scene "
            "toward what happens."
        )

    def dialogue(
        self,
        sp: Screenplay,
        scene: Scene,
        seed: int = 0,
        *,
        start: Sequence[Line] = (),
        speeches: int | None = None,
    ) -> Dialogue:
        """The scene's opening action, speeches and action lines; `start` continues a scene."""
        present = [sp.character(c) for c in scene.characters] or sp.characters[:2]
        user = self.scene_prompt(sp, scene)
        known = known_words(sp)
        cast = {first_name(c.name) for c in sp.characters}
        # Speeches that read the prompt back: a character sheet ("Jabari wants to eat two …"),
        # the logline, the system prompt ("You are an award-winning screenwriter.").
        sheets = [c.description for c in sp.characters] + [sp.logline, SYSTEM]
        place = sp.place(scene.place)
        ie = "INT" if place is None or place.interior else "EXT"
        text = f"{ie}. {scene.place} - {scene.time}\n\n"
        existing = sp.dialogue.get(scene.id)
        opening = existing.action if existing and start else ""
        if not opening:
            # An empty one would leave the model a heading and a blank, after which it wrote
            # nothing at all: the place's description stands in.
            opening = self.action(
                user,
                text,
                first_name(present[0].name),
                about=f"{scene.beat} {place.description if place else ''}",
                avoid=[],
                known=known,
                seed=seed,
                max_tokens=60,
                rating=sp.controls.rating,
                n=self.candidates,
            ) or (place.description if place and place.description else scene.beat)
        head = text + f"{opening}\n\n"
        lines: list[Line] = []
        shown = Window(head)
        for line in start:
            lines.append(line)
            shown.add(self._element_text(sp, line))
        # A fixed count when asked (`write continue`), else speeches until the scene fills
        # its share of the pages (a page a minute), so --minutes is what the writer gets.
        want = speeches or MAX_SPEECHES
        budget = page_budget(sp, scene)
        done_actions = [opening] + [ln.action for ln in lines if ln.action]
        said = [ln.text for ln in lines]
        misses = 0  # turns in a row with no usable speech: the scene has lost its way
        stuck: set[str] = set()  # who found nothing to say since the last speech
        for turn in range(2 * want + 2 * MAX_MISSES):  # a turn may find no usable speech
            written = len(lines) - len(start)
            if written >= want:
                break
            if not speeches and written >= MIN_SPEECHES and scene_lines(opening, lines) >= budget:
                break
            if misses == (MAX_MISSES if len(lines) >= 2 else 2 * MAX_MISSES):
                break
            # A speaker whose every candidate was refused would get the same prompt again,
            # and a small model answers it the same way ("Kr.", four times): someone else.
            speaker = self.next_speaker(present, lines, skip=stuck)
            cue = speaker.cue
            text = shown.text()
            found: list[str] = []
            for attempt in range(2):  # all candidates rejected: once more, more of them
                found = found or [
                    f
                    for f in self.ask(
                        "dialogue",
                        user,
                        text + f"{cue}\n",
                        SPEECH,
                        seed=seed + 7 * turn + 1 + 1000 * attempt,
                        max_tokens=40,
                        n=SPEECH_CANDIDATES + 2 * attempt,
                        penalty_window=48,
                        temperature=min(1.0, self.temperature + 0.15 * (attempt + misses)),
                    )
                    if f not in said
                    and not names_self(f, speaker)
                    and not same_opening(f, speaker, lines)
                    and not narrates(f)
                    and not tells_of(f, cast)
                    and not shouts(f)
                    and not foreign(f)
                    and not listy(f)
                    and not quotes(f)
                    and not invents_names(f, known)
                    and not reads_back(f, sheets)
                    and not SPEECH_ABOUT_TEXT.search(f)
                    and not over_rating(f, sp.controls.rating)
                    and not (sp.title and sp.title.lower() in f.lower())
                ]
            speech = self._pick(found, scene.beat, said, like=self.sheet(speaker), words=(4, 25))
            misses = 0 if speech else misses + 1
            if not speech:
                stuck.add(speaker.id)
                continue
            stuck.clear()
            line = Line(speaker.id, speech)
            said.append(speech)
            if turn % 3 == 2:
                act_text = text + f"{cue}\n{speech}\n\n"
                others = [c for c in present if c.id != speaker.id] or [speaker]
                action = self.action(
                    user,
                    act_text,
                    first_name(others[0].name),
                    about=scene.beat,
                    avoid=said + done_actions,
                    known=known,
                    seed=seed + 7 * turn + 2,
                    rating=sp.controls.rating,
                )
                done_actions.append(action)
                line = replace(line, action=action)
            lines.append(line)
            shown.add(self._element_text(sp, line))
        return Dialogue(scene.id, tuple(lines), opening)

    def action(
        self,
        user: str,
        text: str,
        who: str,
        *,
        about: str,
        avoid: list[str],
        known: set[str],
        seed: int,
        max_tokens: int = 40,
        n: int = SPEECH_CANDIDATES,
        rating: str = "R",
    ) -> str:
        """An action line to follow `text`, none rather than one the scene already had
        (`avoid`). Sampled freely first; when every candidate is rejected, once more with
        more candidates as "`who` …": a name to start from keeps a small model in the third
        person and the present tense ("Ahmed turns to the window.")."""
        # What the prompt tells (logline, direction, the cast), not what the scene is to show.
        told = [p for p in user.split("\n\n") if not p.startswith("Write scene")]
        for attempt in range(2):
            lead = f"{who}" if attempt else ""
            found = self.ask(
                "dialogue",
                user,
                text + lead,
                DOES if attempt else ACTION,
                seed=seed + 1000 * attempt,
                max_tokens=max_tokens,
                n=n + 2 * attempt,
                penalty_window=48,
            )
            found = [f"{lead} {a}" if lead else a for a in found]
            found = [
                a
                for a in found
                if good_action(a, known)
                and not over_rating(a, rating)
                and not (avoid and echoes(a, " ".join(avoid)))
                and not reads_back(a, told)  # "Tone, sincere and heartfelt, no irony."
            ]
            if found:
                return self._pick(found, about, avoid, words=(6, 30))
        return ""

    def _pick(
        self,
        found: list[str],
        about: str,
        avoid: list[str],
        like: str = "",
        words: tuple[int, int] = (6, 30),
    ) -> str:
        if not found:
            return ""
        return found[self.reranker.best(found, about=about, avoid=avoid, like=like, words=words)]

    @staticmethod
    def _element_text(sp: Screenplay, line: Line) -> str:
        text = f"{sp.character(line.speaker).cue}\n{line.text}\n\n"
        return text + (f"{line.action}\n\n" if line.action else "")

    @staticmethod
    def next_speaker(
        present: Sequence[Character],
        lines: Sequence[Line],
        skip: set[str] | frozenset[str] = frozenset(),
    ) -> Character:
        """Who speaks next: never the last speaker nor one in `skip` (while another is
        present), else whoever has spoken least, the protagonist first on ties."""
        last = lines[-1].speaker if lines else None
        pool = [c for c in present if c.id != last and c.id not in skip]
        pool = pool or [c for c in present if c.id != last] or list(present)
        counts = {c.id: sum(1 for ln in lines if ln.speaker == c.id) for c in present}
        order = {c.id: i for i, c in enumerate(present)}
        return min(pool, key=lambda c: (counts[c.id], c.role != "protagonist", order[c.id]))

    # -- all of it -----------------------------------------------------------------------------

    def plan(self, logline: str, controls: Controls, seed: int = 0) -> Screenplay:
        sp = Screenplay(logline=logline, controls=controls)
        sp.title = self.title(sp, seed)
        sp.characters = self.characters(sp, seed)
        sp.scenes, sp.places = self.scenes(sp, seed)
        sp.places = self.places(sp, seed)
        return sp


class Window:
    """The scene so far as the dialogue prompt shows it: its heading and opening, then its
    last elements. Past WINDOW[1] elements the oldest go, down to WINDOW[0]: all at once, so
    that the prompts of the next turns share their start and the runtime's cache reuses it.
    A small model gains nothing from a long scene in its prompt, and every token of it is
    read again at each step of decoding (at ~800 tokens, a third of the step)."""

    def __init__(self, head: str) -> None:
        self.head = head
        self.elements: list[str] = []
        self.first = 0

    def add(self, element: str) -> None:
        self.elements.append(element)
        if len(self.elements) - self.first > WINDOW[1]:
            self.first = len(self.elements) - WINDOW[0]

    def text(self) -> str:
        return self.head + "".join(self.elements[self.first :])


def scene_lines(opening: str, lines: Sequence[Line]) -> int:
    """Printed lines of a scene so far: heading, action at 61 columns, speeches at 35, a
    blank line between elements (as report.estimate_pages counts them)."""
    total = 2 + _wrapped(opening, 61) + 1
    for line in lines:
        total += 1 + _wrapped(line.text, 35) + 1
        if line.action:
            total += _wrapped(line.action, 61) + 1
    return total


def page_budget(sp: Screenplay, scene: Scene) -> float:
    """Printed lines for `scene`: what the script's minutes leave after the scenes already
    written, shared by those still to write (this one among them). A scene that ended short
    (its speakers had nothing left to say) so passes its pages on, rather than leaving a
    10-minute script at 6 pages. At most twice an even share, at least half of one."""
    total = sp.controls.minutes * LINES_PER_PAGE
    even = total / max(1, len(sp.scenes))
    done = [
        scene_lines(d.action, d.lines)
        for s in sp.scenes
        if s.id != scene.id and (d := sp.dialogue.get(s.id)) is not None
    ]
    left = max(1, len(sp.scenes) - len(done))
    return min(2 * even, max(even / 2, (total - sum(done)) / left))


def _wrapped(text: str, width: int) -> int:
    return max(1, -(-len(text) // width)) if text else 0


def speeches_for(minutes: float, n_scenes: int) -> int:
    """Speeches per scene: a page is ~55 lines; a speech with its cue takes ~4 of them, and
    the scene's action (about a third of the page) the rest."""
    lines = minutes * 55 / max(1, n_scenes)
    return max(4, min(16, round(lines * 0.6 / 4)))


def logline_places(logline: str, reranker: Reranker) -> list[str]:
    """Up to two logline phrases that MiniLM reads as a place ("parking spot", "island"),
    for the first scene: sampled freely, a 135M model set a food-truck rivalry in an
    office, a diner and a wedding reception."""
    spans = [x for x in logline_roles(logline) if not person_noun(x.split()[-1])]
    if not spans:
        return []
    score = reranker.scores(spans, about=PLACE_SENSE, words=(1, 3))
    ranked = sorted(zip(score, spans, strict=True), reverse=True)
    return [x for v, x in ranked[:2] if v >= PLACE_MIN]
