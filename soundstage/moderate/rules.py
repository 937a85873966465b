"""Reviewed pattern lists for the rule categories: threat, S11 (self-harm) and S12 (sexual).

Why rules: none of our training sets labels threats, self-harm or sexual content, and a few
dozen phrasings cover most of what a review queue needs to see first. Patterns run on
*normalised* text (casefolded, leet and spacing undone), use word boundaries, and each carries a
confidence — how often a match is really the category, by our judgement, not a calibrated
probability. A category's score is the noisy-or of its matching patterns' confidences (capped at
0.99). Idioms are kept out on purpose and tested: "this joke kills me", "killer app", "shoot a
film", "the play was shot in 35mm", "don't kill yourself over it".

Each list entry: (regex, confidence, why). Keep them short and reviewed; add a test per change.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["RULES", "RULE_CATEGORIES", "Rule", "RuleMatch", "rule_matches", "rule_scores"]

RULE_CATEGORIES: tuple[str, ...] = ("threat", "S11", "S12")

_HARM = (
    r"(?:kill|murder|shoot|stab|hurt|beat (?:the (?:shit|crap|hell) )?out of|strangle|choke|rape"
    r"|behead|hang|lynch|burn|slap|punch|find|end|cut|execute)"
)
_YOU = r"(?:you|u|ya|y'all|yall|him|her|them|your (?:\w+ )?(?:family|kids?|wife|husband|mom|dad))"
_PERSON = r"(?:you|u|he|she|they|y'all|yall|these people|those people|you all|all of you)"
_PASSIVE = (
    r"(?:shot(?! (?:in|on|with|at|from|for|by|during)\b)|killed|hanged|hung|stabbed|murdered"
    r"|raped|beaten|lynched|executed|burned alive|gassed|put down|strung up)"
)
_INTENT = r"(?:i'?m going to|i am going to|i'?m gonna|i am gonna|i'?ll|i will|i wanna|i want to)"


@dataclass(frozen=True)
class Rule:
    category: str
    pattern: re.Pattern[str]
    confidence: float
    why: str


@dataclass(frozen=True)
class RuleMatch:
    """A match in the *normalised* text's coordinates."""

    rule: Rule
    start: int
    end: int


def _rules(category: str, entries: list[tuple[str, float, str]]) -> list[Rule]:
    return [Rule(category, re.compile(p), c, why) for p, c, why in entries]


RULES: tuple[Rule, ...] = tuple(
    _rules(
        "threat",
        [
            (rf"\b{_INTENT} (?:(?!not\b|never\b)\w+ ){{0,2}}?{_HARM} {_YOU}\b", 0.9,
             "first-person intent to harm the addressee: 'i will kill you', 'i'm gonna hurt u'"),
            (rf"\b{_PERSON} (?:all )?(?:should|deserve to|need to|ought to|must|will|are going to"
             rf"|gonna) (?:be|get) {_PASSIVE}", 0.8,
             "wishing violence on a person: 'you should be shot', 'they deserve to be hanged'"),
            (r"\b(?:i )?hope (?:you|u|he|she|they) (?:die|get (?:shot|killed|raped|stabbed|"
             r"murdered|hit by a (?:car|bus|truck)))\b", 0.8,
             "wishing death or violence: 'hope you die'"),
            (r"\bi know where you live\b", 0.7, "intimidation"),
            (r"\byou(?:'re| are|r) (?:a )?dead (?:man|meat)\b", 0.7, "'you're dead meat'"),
            (r"\b(?:watch your back|sleep with one eye open)\b", 0.5,
             "veiled threat; often banter"),
            (r"\b(?:kill|shoot|hang|lynch|gas|exterminate|behead) (?:them all|all of them|all"
             r" (?:these|those) \w+)\b", 0.6, "calls for mass violence against a group"),
        ],
    )
    + _rules(
        "S11",
        [
            (r"(?<!don't )(?<!dont )(?<!do not )(?<!never )\b(?:kys|kill (?:yo)?urself"
             r"|kill yourselves|go die|go hang yourself|hang yourself|neck yourself"
             r"|end yourself|drink bleach|slit your wrists)\b", 0.85,
             "encouraging someone to self-harm; 'don't kill yourself over it' is excluded"),
            (r"\bi (?:want|wanna|am going|'m going|m going|am gonna|'m gonna|m gonna|plan|need)"
             r" to (?:kill myself|end my life|end it all|commit suicide|hurt myself|cut myself)"
             r"\b", 0.85, "first-person intent"),
            (r"\bi (?:want|wanna) to die\b(?! (?:laughing|of laughter)\b)", 0.6,
             "often hyperbole, still worth a look"),
            (r"\b(?:i'?m|i am) (?:feeling )?suicidal\b", 0.85, "stated suicidality"),
            (r"\bhow (?:to|do i|can i|should i) (?:kill myself|commit suicide|end my life)\b",
             0.9, "seeking means"),
            (r"\b(?:should|gonna|going to|will) (?:just )?kill myself\b", 0.6,
             "intent, frequently hyperbole ('i'll just kill myself if it rains')"),
        ],
    )
    + _rules(
        "S12",
        [
            (r"\b(?:suck|lick|ride|eat|fuck|finger) (?:my|your|ur|his|her) (?:dick|cock|pussy"
             r"|clit|tits|balls|cunt)\b", 0.9, "explicit sexual act"),
            (r"\b(?:blowjob|blow job|handjob|hand job|cumshot|creampie|gangbang|deepthroat"
             r"|anal sex|oral sex|rimjob|cunnilingus|fellatio)s?\b", 0.85, "explicit act nouns"),
            (r"\b(?:i )?(?:want|wanna|gonna|going) to (?:fuck|have sex with|bang) (?:you|u|her"
             r"|him)\b", 0.8, "sexual proposition"),
            (r"\b(?:send|show) (?:me )?(?:your |ur )?(?:nudes|tits|dick pics?|nude pics?)\b", 0.8,
             "soliciting explicit images"),
            (r"\b(?:jerk(?:ing)? off|jack(?:ing)? off|masturbat\w*)\b", 0.7, "masturbation"),
            (r"\b(?:cumming|cum on)\b", 0.5, "ejaculation; 'cumming' is also a surname/town"),
            (r"\b(?:fuck me (?:hard|harder)|so horny|make me cum|wet pussy|hard cock)\b", 0.85,
             "explicit arousal"),
            (r"\b(?:porn|porno|pornhub|xxx|nsfw)\b", 0.4, "mentions porn; discussion is common"),
        ],
    )
)  # fmt: skip

# Cheap pre-filter: a text with none of these word starts cannot match any rule. On long texts
# the rules run only on regions around these hits, which keeps a 1 MB screenplay fast.
_TRIGGERS = re.compile(
    r"\b(?:kill|murder|shoot|shot|stab|hurt|beat|strangl|chok|rape|behead|hang|hung|lynch|burn"
    r"|slap|punch|find|end|cut|execut|gas|put down|strung|die|dead|know where|watch your"
    r"|sleep with|extermin|hit by|kys|neck|bleach|slit|suicid|dick|cock|puss|clit|tits|balls"
    r"|cunt|blow|hand job|handjob|cumshot|creampie|gangbang|deepthroat|anal|oral|rimjob|cunn"
    r"|fellat|fuck|sex|bang|nude|jerk|jack|masturbat|cum|horny|porn|xxx|nsfw)"
)
_CONTEXT = 120  # chars each side of a trigger; longer than any pattern can reach
_APOSTROPHES = str.maketrans("\u2019\u2018\u02bc", "'''")


def _regions(text: str) -> list[tuple[int, int]]:
    """Merged (start, end) regions around trigger hits; the whole text when it is short."""
    if len(text) <= 4 * _CONTEXT:
        return [(0, len(text))] if _TRIGGERS.search(text) else []
    hits = [m.start() for m in _TRIGGERS.finditer(text)]
    regions: list[tuple[int, int]] = []
    for h in hits:
        a, b = max(0, h - _CONTEXT), min(len(text), h + _CONTEXT)
        if regions and a <= regions[-1][1]:
            regions[-1] = (regions[-1][0], b)
        else:
            regions.append((a, b))
    return regions


def rule_matches(text: str) -> Iterator[RuleMatch]:
    """Every rule match in ``text`` (normalised), region by region; duplicates removed."""
    if "\u2019" in text or "\u2018" in text or "\u02bc" in text:
        text = text.translate(_APOSTROPHES)  # same length: positions stay valid
    seen: set[tuple[int, int, int]] = set()
    for a, b in _regions(text):
        # cut regions at whitespace so a pattern never starts or ends inside a word
        while 0 < a < len(text) and not text[a - 1].isspace():
            a += 1
        while b < len(text) and not text[b].isspace() and b > a:
            b -= 1
        chunk = text[a:b]
        for k, rule in enumerate(RULES):
            for m in rule.pattern.finditer(chunk):
                key = (k, a + m.start(), a + m.end())
                if key not in seen:
                    seen.add(key)
                    yield RuleMatch(rule, a + m.start(), a + m.end())


def rule_scores(text: str) -> dict[str, float]:
    """Noisy-or over the *distinct* rules that match, per category, capped at 0.99.

    Distinct rules, not matches: a screenplay that says "porn" forty times is no more explicit
    than one that says it once, while two different threat phrasings are stronger evidence.
    """
    fired: dict[Rule, None] = {}
    for match in rule_matches(text):
        fired[match.rule] = None
    miss = dict.fromkeys(RULE_CATEGORIES, 1.0)
    for rule in fired:
        miss[rule.category] *= 1 - rule.confidence
    return {c: round(min(0.99, 1 - m), 6) for c, m in miss.items()}
