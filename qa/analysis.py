"""Text -> terms: the one analyzer used for passages and questions alike.

Steps, in order: Unicode folding (curly quotes, dashes, non-breaking spaces, accents), lower case,
word tokens, contractions and domain abbreviations expanded ("didnt" -> did not; SCR -> serious
case review, so either form finds the other), British spellings folded to American (behaviour ->
behavior, -ise -> -ize), stop words dropped (but not number words: "six main messages"), NLTK
Snowball stems (cached per word), then unigrams plus bigrams of adjacent stems.

Everything here is deterministic and needs no downloaded data: the stop words come from
scikit-learn and the domain lists from ``qa/data``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from nltk.stem.snowball import SnowballStemmer
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

if TYPE_CHECKING:
    from spellchecker import SpellChecker

ANALYZER_VERSION = 9
"""Bump when the analyzer changes how text becomes terms: indexes built with another version are rebuilt."""

# Words that carry meaning in questions about reviews, though generic stop lists drop them.
_KEEP = {
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "fifteen", "twenty", "forty", "fifty", "sixty", "hundred", "first", "second", "third",
    "not", "no", "under", "over", "above", "below", "before", "after", "alone", "found", "serious",
    "mill", "fire", "system", "bill", "interest", "call", "cry", "con", "de",
}
# Greetings, thanks, "vs" and filler nouns ("stuff", "loads of") are how people talk in a chat
# box, not what they ask about: read as topics, a word no report uses ("versus", "cheers") made a
# question look out of scope.
_CHAT = {
    "hi", "hello", "hey", "thanks", "thank", "thx", "cheers", "pls", "plz", "ok", "okay", "vs", "versus",
    "stuff", "things", "thing", "lots", "loads", "bit", "bits", "sort", "sorts",
}
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS - _KEEP) | {"s", "t", "also", "did", "does", "doing", "tell", "said", "say", "says"} | _CHAT

_FOLD = str.maketrans(
    {
        "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'",
        "“": '"', "”": '"', "„": '"', "″": '"',
        "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-", "̶": "-",
        "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "", "\u00ad": "",
        "&": " and ",
    }
)
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_ISE_RE = re.compile(r"^(\w{3,}?)is(e|ed|es|ing|ation|ations|er|ers)$")


# Number words and figures are the same term: "under one" finds "under 1", "six messages" "6 messages".
_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90"}

# Two digits on either side of a dash or slash: what every year range below contains.
_DIGITS_RANGE_RE = re.compile(r"\d\s*[-/]\s*(?:[a-z]+\s+)?\d")
_YEAR_RANGE_RE = re.compile(r"\b((?:19|20)\d\d)\s*[-/]\s*(\d\d)\b(?![-/]\d)")


def _spell_year_range(match: re.Match) -> str:
    """'2009-10' and '2009/10' -> '2009 2010': both years, as reports and users write either."""
    first, second = match.group(1), match.group(2)
    return f"{first} {first[:2]}{second}"


# A financial or academic year written short, "09-10" or "09/10": consecutive two-digit years, not
# part of a date ("08/09/2009") or a longer range, and not ages or pages ("aged 14-15", "15-16 year
# olds", "pages 12-13").
_SHORT_YEAR_RANGE_RE = re.compile(
    r"(?<![\d/.-])(?<!\bages )(?<!\baged )(?<!\bage )(?<!\bpage )(?<!\bpages )(?<!\bparagraphs )"
    r"(\d\d)\s?[-/]\s?(\d\d)(?![-/.]?\d)(?!\s*(?:-\s*)?(?:years?|yrs?|months?|weeks?|days?|%))"
)


# A month range with short years, as tables write periods: "April 08 - March 09".
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
_MONTH_RANGE_RE = re.compile(
    rf"\b((?:{_MONTHS})[a-z]*)\s+(\d\d)\s*-\s*((?:{_MONTHS})[a-z]*)\s+(\d\d)\b(?![-/.]?\d)"
)


def _spell_month_range(match: re.Match) -> str:
    """'april 08 - march 09' -> 'april 2008 - march 2009' (only for consecutive or equal years)."""
    first, second = int(match.group(2)), int(match.group(4))
    if second not in (first, (first + 1) % 100):
        return match.group(0)
    century = 2000 if first < 50 else 1900
    return f"{match.group(1)} {century + first} - {match.group(3)} {century + second if second >= first else century + 100 + second}"


def _spell_short_year_range(match: re.Match) -> str:
    """'09-10' -> '2009 2010' (and '98/99' -> '1998 1999'); other digit pairs are left alone."""
    first, second = int(match.group(1)), int(match.group(2))
    if second != (first + 1) % 100:
        return match.group(0)
    century = 2000 if first < 50 else 1900
    return f"{century + first} {century + first + 1}"




def _read_table(name: str) -> list[tuple[str, str]]:
    text = resources.files("qa.data").joinpath(name).read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            left, right = line.split("\t", 1)
            rows.append((left.strip().lower(), right.strip().lower()))
    return rows


EVERYDAY_MIN_COUNT = 2000
"""A word is everyday English if pyspellchecker's English frequency list counts it at least this
often (about the 13,000 most frequent words; "lad" 9,789, "info" 8,908, but "leeds" 411)."""


@lru_cache(maxsize=1)
def english_speller() -> SpellChecker:
    """pyspellchecker's English speller (MIT; word counts from film subtitles, so American
    spellings), loaded once per process, offline."""
    from spellchecker import SpellChecker  # imported here: only question analysis needs it

    return SpellChecker(language="en", distance=1)


@lru_cache(maxsize=1)
def everyday_english() -> dict[str, int]:
    """The common words of English and their counts (see :meth:`Analyzer.everyday`)."""
    counts = english_speller().word_frequency.dictionary
    return {w: n for w, n in counts.items() if n >= EVERYDAY_MIN_COUNT}


@lru_cache(maxsize=1)
def noun_shares() -> dict[str, float]:
    """{everyday word: share of its uses that are as a noun} from qa/data/noun_share.tsv
    (generated from WordNet by scripts/build_synonyms.py). Read once per process."""
    return {word: float(share) for word, share in _read_table("noun_share.tsv")}


VERY_COMMON_COUNT = 10_000_000
"""Count at which a word is as common as English words get ("get" 9.5 million, "let" 3 million)."""


# Word families that the Snowball stemmer leaves apart, as (ending, other ending) of stems: the
# verb and its noun ("notified" notifi / "notification" notif, "decided" decid / "decision" decis,
# "referred" refer / "referral" referr, "placed" place / "placement" placement, "failed" fail /
# "failure" failur). Kept to endings that mark a derivation; a bare letter ("polic" police /
# "polici" policy) would join words that only look alike.
_FAMILY_ENDINGS = (("if", "ifi"), ("yz", "yzi"), ("id", "is"), ("ud", "us"), ("er", "err"), ("ur", "urr"), ("", "ment"), ("", "ur"))
FAMILY_MIN_LENGTH = 4
"""Shortest stem given family members (shorter ones are too often different words)."""


def family_stems(stem: str) -> set[str]:
    """Stems that may be other forms of the word ``stem`` comes from, by derivational endings:
    ``family_stems("notifi") == {"notif", ...}``. Candidates only: the caller keeps the ones its
    vocabulary has."""
    out: set[str] = set()
    if len(stem) < FAMILY_MIN_LENGTH or not stem.isalpha():
        return out
    for a, b in _FAMILY_ENDINGS:
        for this, other in ((a, b), (b, a)):
            if stem.endswith(this) and len(stem) - len(this) + len(other) >= FAMILY_MIN_LENGTH:
                root = stem[: len(stem) - len(this)] if this else stem
                if len(root) >= 3:
                    out.add(root + other)
    out.discard(stem)
    return out


def fold(text: str) -> str:
    """Unicode-fold and lower-case ``text`` (quotes, dashes, spaces, accents)."""
    if text.isascii():  # the common case: only "&" needs folding (str.translate is slow)
        return text.replace("&", " and ").lower()
    text = text.translate(_FOLD)
    if not text.isascii():  # accents: "Climbié" -> "climbie"; other non-Latin marks are dropped
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return text.lower()


class Analyzer:
    """Turns text into index terms.

    ``terms(text)`` returns unigram stems followed by bigrams ("case review"); ``stems(text)``
    returns only the unigram stems in reading order. Both are pure functions of the text.
    """

    def __init__(self) -> None:
        self._stemmer = SnowballStemmer("english")
        self.abbreviations: dict[str, list[str]] = {}
        self.abbreviations.update((short, long.split()) for short, long in _read_table("chat.tsv"))
        for short, long in _read_table("abbreviations.tsv"):
            self.abbreviations[short] = long.split()
            if short != long:
                self.abbreviations[short + "s"] = long.split()[:-1] + [long.split()[-1] + "s"]
        self._spellings = sorted(_read_table("spellings.tsv"), key=lambda pair: -len(pair[0]))
        self.stem = lru_cache(maxsize=200_000)(self._stem)

    # -- words ---------------------------------------------------------------------------
    def words(self, text: str) -> list[str]:
        """Folded word tokens with abbreviations expanded (stop words kept)."""
        out: list[str] = []
        append, extend, abbreviations = out.append, out.extend, self.abbreviations
        text = fold(text)
        if _DIGITS_RANGE_RE.search(text):  # year ranges are rare; most text skips the three rewrites
            text = _YEAR_RANGE_RE.sub(_spell_year_range, text)
            text = _MONTH_RANGE_RE.sub(_spell_month_range, text)
            text = _SHORT_YEAR_RANGE_RE.sub(_spell_short_year_range, text)
        for token in _TOKEN_RE.findall(text):
            if "'" in token and token not in abbreviations:  # "can't" and "won't" are looked up as typed
                token = token[:-2] if token.endswith("'s") else token.replace("'", "")
            token = _NUMBER_WORDS.get(token, token)
            if token[-1] == "s" and token[:-1].isdigit():
                token = token[:-1]  # "over 14s", "under 5s": the age groups the reports write as "14", "five"
            expansion = abbreviations.get(token)
            if expansion:
                extend(expansion)
            elif token:
                append(token)
        return out

    def american(self, word: str) -> str:
        """``word`` in American spelling ("behaviour" -> "behavior", "organise" -> "organize")."""
        for british, american in self._spellings:
            if word.startswith(british):
                word = american + word[len(british):]
                break
        return _ISE_RE.sub(r"\1iz\2", word)

    def _stem(self, word: str) -> str:
        return self._stemmer.stem(self.american(word))

    def everyday(self, word: str) -> bool:
        """True if ``word`` (folded) is common in everyday English ("sleep", "lad", "info"), as
        opposed to a name, a specialist term or a misspelling ("leeds", "pelka", "relese").

        Typo correction uses it to leave real words alone: "spend" is not a misspelling of "send"
        just because the reports never say "spend". (As a refusal signal it did not help: see
        docs/quality-notes.md.)
        """
        common = everyday_english()
        return word in common or self.american(word) in common

    def everyday_correction(self, word: str) -> str | None:
        """The everyday English word ``word`` misspells ("recomend" -> "recommend", "abstarct" ->
        "abstract"): the most common one a single edit away, or None. Only for words of five
        letters or more that English does not know at all: shorter ones are too often chat forms
        ("pls" is no misspelt "plus"), and a rare word or name is no misspelling ("laming")."""
        speller = english_speller()
        if len(word) < 5 or not word.isalpha() or word in speller.word_frequency:
            return None
        common = everyday_english()
        found = [w for w in speller.edit_distance_1(word) if w in common]
        return max(found, key=lambda w: (common[w], w)) if found else None

    def commonness(self, word: str) -> float:
        """How common ``word`` is in everyday English, 0..1 on a log scale: 0 for names, specialist
        terms and words rarer than :data:`EVERYDAY_MIN_COUNT` ("fgm", "leeds"), about 0.6 for
        "phone" or "worry", 1 for "get"."""
        common = everyday_english()
        count = common.get(word) or common.get(self.american(word)) or 0
        if not count:
            return 0.0
        low, high = math.log(EVERYDAY_MIN_COUNT), math.log(VERY_COMMON_COUNT)
        return min(1.0, (math.log(count) - low) / (high - low))

    def noun_share(self, word: str) -> float:
        """How often ``word`` (folded) is used as a noun, 0..1: 1 for "model" or "inquiry", 0 for
        "actually", "dragged" or "kept", 0.3 for "sleep"; 1 for words outside everyday English
        (names, acronyms, specialist terms: "laming", "lado", "caseloads")."""
        shares = noun_shares()
        share = shares.get(word)
        return share if share is not None else shares.get(self.american(word), 1.0)

    # -- terms ---------------------------------------------------------------------------
    def stems(self, text: str) -> list[str]:
        """Unigram stems of the informative words of ``text``, in order."""
        stem = self.stem
        return [stem(w) for w in self.words(text) if w not in STOP_WORDS and (len(w) > 1 or w.isdigit())]


    def terms(self, text: str) -> list[str]:
        """Index terms of ``text``: unigram stems, then bigrams of adjacent stems."""
        unigrams = self.stems(text)
        return unigrams + [f"{a} {b}" for a, b in zip(unigrams, unigrams[1:])]
