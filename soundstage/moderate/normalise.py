"""Normalise text against moderation evasion before any classifier sees it.

Why: word- and character-level models miss "f4ck", "f u c k", "ѕhіt" (Cyrillic ѕ, і) or words split
by zero-width spaces (notes/moderate.md §4: alt-profanity-check recall 0.79 → 0.27 under leetspeak).
Every rule is conservative — lexicon hits are evidence, not verdicts — and the original text is
kept for the audit log. Rules run in this order (each one's label goes into ``changes``):

1. ``zero-width`` — drop invisible format characters (an explicit list, not all of category Cf:
   Arabic number signs and similar Cf characters are visible and meaningful).
2. ``nfkc`` — Unicode NFKC: fullwidth "Ｆ４ＣＫ" → "F4CK", ligatures, super/subscripts.
3. ``confusables`` — Cyrillic/Greek homoglyphs → Latin, then casefold (casefolding is not
   labelled: nearly every text has capitals), re-NFKC and map lower-case homoglyphs once more.
4. ``spacing`` — join runs of ≥ 3 single letters split by single spaces/dots/dashes/underscores.
5. ``leet`` — 4→a 3→e 1→i 0→o 5→s 7→t $→s @→a !→i, only inside ASCII tokens that also have letters.
6. ``repeats`` — squeeze a character repeated 3+ times to 2.

Spacing runs before leet so "s h 1 t" joins first and then maps. The result is idempotent:
normalising ``Normalised.text`` again changes nothing (tested with hypothesis).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Normalised", "normalise"]


@dataclass(frozen=True)
class Normalised:
    """The text a classifier scores, plus what was changed (for explanations and the audit log)."""

    original: str
    text: str
    changes: tuple[str, ...] = ()


# --- 1. invisible characters -------------------------------------------------------------------
# Explicit ranges rather than every "Cf" character: Cf also holds visible, meaningful marks
# (Arabic number signs U+0600–U+0605, end of ayah U+06DD, Kaithi number signs). Hangul fillers are
# letters (Lo) but render as nothing and are a common "invisible name" trick. Dropping ZWJ splits
# emoji sequences into their parts, which is harmless for scoring.
_INVISIBLE_RANGES = [
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark
    (0x115F, 0x1160),  # Hangul choseong / jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels (invisible)
    (0x180B, 0x180F),  # Mongolian variation selectors and vowel separator
    (0x200B, 0x200F),  # zero-width space, ZWNJ, ZWJ, LRM, RLM
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, bidi isolates, deprecated formats
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # zero-width no-break space / BOM
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE007F),  # tag characters
    (0xE0100, 0xE01EF),  # variation selectors supplement
]
_INVISIBLE_RE = re.compile(
    "[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in _INVISIBLE_RANGES) + "]"
)

# --- 3. homoglyphs ------------------------------------------------------------------------------
# A hand-picked subset of Unicode's confusables.txt (UTS #39, "confusable with a single Latin
# letter"), restricted to Cyrillic and Greek letters that look like an ASCII letter in common fonts.
# Upper- and lower-case forms are listed separately because they differ (Greek Η looks like H, its
# lower case η does not). No dependency: the full confusables data would also map many letters we
# must keep (e.g. Latin-looking digits), and a short table is auditable.
_HOMOGLYPHS: dict[str, str] = {
    # Cyrillic upper case
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J", "Һ": "H", "Ԛ": "Q", "Ԝ": "W",
    "Ӏ": "I", "Ү": "Y", "Ԁ": "D",
    # Cyrillic lower case
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s", "і": "i",
    "ј": "j", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ү": "y", "ѵ": "v",
    # Greek upper case
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C", "Ϳ": "J",
    # Greek lower case
    "α": "a", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "υ": "u", "χ": "x", "ϲ": "c",
    "ϳ": "j",
}  # fmt: skip
_HOMOGLYPH_TABLE = str.maketrans(_HOMOGLYPHS)
_HOMOGLYPH_RE = re.compile("[" + re.escape("".join(_HOMOGLYPHS)) + "]")
_MIXED_TOKEN_RE = re.compile(r"(?<!\w)(?=\w*[" + re.escape("".join(_HOMOGLYPHS)) + r"])\w+")
_ASCII_LETTER_RE = re.compile("[a-zA-Z]")


def _genuine_letters() -> str:
    """Cyrillic/Greek letters that are not homoglyphs, even after casefolding.

    Their presence means the text really is Russian, Greek, …; then only mixed-script tokens
    ("ѕhit") are mapped, so "сор" in a Russian sentence is not turned into "cop".
    """
    blocks = [(0x0370, 0x03FF), (0x0400, 0x052F), (0x1C80, 0x1C8F), (0x1F00, 0x1FFF)]
    out = []
    for a, b in blocks:
        for cp in range(a, b + 1):
            ch = chr(cp)
            if not unicodedata.category(ch).startswith("L") or ch in _HOMOGLYPHS:
                continue
            folded = unicodedata.normalize("NFKC", ch.casefold())
            if any(
                unicodedata.category(f).startswith("L") and f not in _HOMOGLYPHS for f in folded
            ):
                out.append(ch)
    return "".join(out)


_GENUINE_RE = re.compile("[" + re.escape(_genuine_letters()) + "]")


def _map_mixed(match: re.Match[str]) -> str:
    token = match.group()
    return token.translate(_HOMOGLYPH_TABLE) if _ASCII_LETTER_RE.search(token) else token


def _homoglyphs(text: str) -> str:
    if not _HOMOGLYPH_RE.search(text):
        return text
    if _GENUINE_RE.search(text):
        return _MIXED_TOKEN_RE.sub(_map_mixed, text)
    return text.translate(_HOMOGLYPH_TABLE)


def _nfkc(text: str) -> str:
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


# --- 4. spaced letters --------------------------------------------------------------------------
# Items are single ASCII letters or leet characters standing alone; at least three of them, and
# more letters than digits/symbols, so "1 2 3", "4 x 4", "a b" and "I am a cat" stay as they are.
# Runs start and end on a non-digit so "7 f u c k i n g" keeps its number. A trailing "!" is
# punctuation ("s h i t!"), not a boundary violation.
_SPACED_RE = re.compile(r"(?<![\w$@!])[a-z$@!](?:[ ._\-][a-z0-9$@!])+[ ._\-][a-z$@!](?![\w$@])")
_SEPARATORS_RE = re.compile(r"[ ._\-]")


def _join_spaced(match: re.Match[str]) -> str:
    joined = _SEPARATORS_RE.sub("", match.group())
    letters = sum(c.isalpha() for c in joined)
    return joined if letters >= 2 and letters > len(joined) - letters else match.group()


# --- 5. leetspeak -------------------------------------------------------------------------------
# "!" is handled by _BANG_RE: it maps only between letters or at the start ("sh!t", "!diot").
_LEET = str.maketrans({"4": "a", "@": "a", "3": "e", "1": "i", "0": "o", "5": "s", "$": "s",
                       "7": "t"})  # fmt: skip
_LEET_CHARS = "43105$@!7"
# Candidate tokens: whitespace-delimited, containing a leet character and an ASCII letter (or two
# "$"/"@"). The
# lookaheads sit at token starts only, which keeps the scan linear on long tokens.
_LEET_TOKEN_RE = re.compile(
    r"(?<!\S)(?=\S*?[a-z]|\S*?[$@]\S*?[$@])(?=\S*?[" + re.escape(_LEET_CHARS) + r"])\S+"
)
_CORE_RE = re.compile(r"^([^a-z0-9$@!]*)(.*?)([^a-z0-9$]*)$", re.DOTALL)
_SKIP_RE = re.compile(
    r"""
    .*://.* | www\..* | [^@]+@[^@]+\.[a-z]{2,}   # URL, e-mail address
    | \$\d.*                                      # currency: $5, $5bn
    | \d+(?:[.,]\d+)?(?:st|nd|rd|th|s|am|pm|k|m|bn|b|g|kg|km|mb|gb|tb|p|px|x|d|h|hz|khz|mhz|ghz
        |mm|cm|ml|fps|mph|kph|yo|min|sec)        # ordinals and units: 2nd, 90s, 4k, 1080p, 5pm
    """,
    re.VERBOSE,
)
_SUFFIX_DIGITS_RE = re.compile(r"([a-z]+)(\d+)")
# A token with no letters at all is leet only if it has two or more "$"/"@", something besides
# "$", and no "$" before a digit: "4$$" and "@$$" map, "$$$", "$5" and "$5$" do not.
_LETTERLESS_RE = re.compile(r"(?!\$+$)(?!.*\$\d)(?=(?:.*[$@]){2})[0-9$@]{3,}")
_MENTION_RE = re.compile(r"(?<![a-z0-9])@[a-z_][a-z0-9_]{2,}|[a-z0-9]@[a-z_]{3,}")
_BANG_RE = re.compile(r"(?<=[a-z0-9$@])!(?=[a-z0-9$@])|^!(?=[a-z0-9$@])")


@lru_cache(maxsize=65536)
def _leet_token(token: str) -> str:
    """Map leet characters in one whitespace-delimited token, or return it unchanged.

    Tokens keep their digits when they look like ordinary alphanumerics: units and ordinals
    ("4k", "2nd", "90s"), model names with a digit suffix ("i5", "mp3", "win10"; a short prefix
    with ≥ 2 leet digits such as "a55" is still mapped), currency ("$5") and @mentions ("@user1";
    "@ss" and "@$$hole" are mapped). Tokens with non-ASCII letters or marks are left alone:
    leetspeak is a Latin-script habit, and it keeps homoglyph mapping and NFKC stable on a second
    pass.
    """
    if any(not c.isascii() and unicodedata.category(c)[0] in "LM" for c in token):
        return token  # "c4fé"; also "40\u0300", where "o" would then compose with the accent
    core_match = _CORE_RE.match(token)
    if core_match is None:  # pragma: no cover - the pattern matches every string
        return token
    lead, core, trail = core_match.groups()
    if lead.endswith("#"):
        return token  # hashtags ("#standup4brexit") are names, not obfuscation
    # Judge mentions on the form the repeat squeeze will leave ("@AAA" → "@aa", too short to be
    # one), or a second pass would map what the first protected.
    probe = _squeeze(core)
    if _MENTION_RE.search(probe) and not any(c in "$!" for c in core):
        return token  # "ok,@user", "info@user": a mention glued to text, not "@" for "a"
    suffix = _SUFFIX_DIGITS_RE.fullmatch(core)
    if suffix is not None:
        prefix, digits = suffix.groups()
        if len(prefix) > 2 or len(digits) < 2 or any(d not in _LEET_CHARS for d in digits):
            return token
    else:
        letters = sum("a" <= c <= "z" for c in core)
        if letters == 0 and _LETTERLESS_RE.fullmatch(core) is None:  # "$5", "2024"; not "4$$"
            return token
        if letters + sum(c in "$@!" for c in core) < 2:  # "4x4"
            return token
        if _SKIP_RE.fullmatch(core):
            return token
    if core.startswith("@"):  # a mention unless it is short or uses symbol leet elsewhere
        if len(probe) > 3 and not any(c in "$@!" for c in core[1:]):
            return token
    return lead + _BANG_RE.sub("i", core).translate(_LEET) + trail


def _leet(text: str) -> str:
    return _LEET_TOKEN_RE.sub(lambda m: _leet_token(m.group()), text)


# --- 6. repeated characters ---------------------------------------------------------------------
# Squeeze to two, not one: English has many legitimate doubles ("good", "cool", "off", "hello"), so
# "fuuuuck" → "fuuck" keeps them intact while collapsing stretched spellings to one form. Digits
# are exempt ("1000" is a number) and "www" is kept so URLs stay readable.
_REPEATS_RE = re.compile(r"([^\dw])\1{2,}|(w)\2{3,}")


def _squeeze(text: str) -> str:
    return _REPEATS_RE.sub(lambda m: m.group()[:2], text)


_LABELS = ("zero-width", "nfkc", "confusables", "spacing", "leet", "repeats")


def normalise(text: str) -> Normalised:
    """Return ``text`` as the classifier should see it, with the labels of the rules that fired.

    Never raises on a ``str``; linear time (a 1 MB text takes well under a second).
    """
    changes: list[str] = []
    out = text

    def step(label: str, new: str) -> None:
        nonlocal out
        if new != out and label not in changes:
            changes.append(label)
        out = new

    step("zero-width", _INVISIBLE_RE.sub("", out))
    step("nfkc", _nfkc(out))
    step("zero-width", _INVISIBLE_RE.sub("", out))  # NFKC can expose fillers (U+3164 forms)
    step("confusables", _homoglyphs(out))
    out = out.casefold()
    step("nfkc", _nfkc(out))  # casefolding can leave decomposed sequences
    step("confusables", _homoglyphs(out))
    step("nfkc", _nfkc(out))  # a mapped letter may compose with a following accent
    step("spacing", _SPACED_RE.sub(_join_spaced, out))
    step("leet", _leet(out))
    step("repeats", _squeeze(out))
    return Normalised(original=text, text=out, changes=tuple(c for c in _LABELS if c in changes))
