"""Question (+ earlier questions) -> ranked passages.

Scoring is a TF-IDF dot product computed term-major: only the posting lists of the question's own
terms are read (no pass over all passages, no Python loop over the vocabulary), so latency grows
with the question, not the corpus. On top of plain TF-IDF, measured mechanisms (each can be
switched off in :class:`RetrievalConfig`; docs/quality.md has the ablation):

* typo tolerance: a question word the corpus never uses is replaced by the closest corpus word
  (shared character trigrams, then edit distance), e.g. "fahters" -> "fathers";
* a domain thesaurus: practitioners' words also search for the reports' words ("mums" ->
  mothers, "teens" -> young people, "died" -> death), at a lower weight;
* follow-ups: terms of earlier questions count, at a lower weight, and "the year before" reads
  as the conversation's years minus one;
* pivoted length normalisation: short fragments no longer beat full paragraphs on one shared word;
* a document prior: a question naming a report's title ("ages of concern") favours that report;
* figures: "how many" questions favour passages that contain numbers.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np
from nltk.metrics.distance import edit_distance

from qa.analysis import Analyzer, STOP_WORDS, family_stems, fold
from qa.index import KINDS, Index
from qa.passages import TABLE_ROW_SEPARATOR

_FIGURE = r"(?:\d[\d,.]*%?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|hundred)"
# A figure and the (up to four) words after it: "147 serious case reviews", "26 had been born".
COUNTED_RE = re.compile(rf"\b{_FIGURE}(?=\s+((?:[\w’'-]+\s+){{0,3}}[\w’'-]+))", re.I)  # lookahead: matches may overlap
# A table row's label and the figure that ends it: "Natural causes 9".
COUNTED_AFTER_RE = re.compile(r"((?:[\w’'-]+\s+){0,3}[\w’'-]+)\**\s+\d[\d,.]*%?\**\s*$")
# Asking who: "who chairs the panel?", "and who wrote it?", "do you know who leads it?". A "who" right
# after a noun opens a relative clause ("the mum who was registered blind", "dads who were
# teenagers themselves") and asks for no name.
WHO_RE = re.compile(
    r"(?:^|[,;:?!(\u2013\u2014]|\s-|\b(?:and|but|so|know|tell me|ask|asked|wonder|wondering|find out|says?|said))"
    r"\s*(?:who|whom|whose)\b",
    re.I,
)
# Asking which named places or bodies ("which 11 councils took part?", "which LSCBs were judged
# outstanding?") is asking for names too: a passage that only counts them ("a small sample of 11
# local authorities") does not answer. "Which agencies" is not here: the reports answer it with
# kinds of agency ("health agencies"), not names.
WHICH_NAMED_RE = re.compile(
    r"\bwhich\s+(?:(?:\d+|of the)\s+)?(?:councils?|local authorit(?:y|ies)|las|lscbs?|boards|areas|authorities|"
    r"charities|hospitals|schools|trusts|partnerships)\b",
    re.I,
)
# Asking how to carry out a task, or whom to call: the reports are reviews of what happened and
# what was learnt, not procedures or directories ("how do I make a referral in Leeds?"). "How
# should we ..." asks for practice lessons, which the reports do give, so it is not matched.
PROCEDURE_RE = re.compile(
    r"^\s*(?:how (?:do|can) i|where (?:do|can) i|who do i)\b"
    r"|\b(?:phone|telephone|e-?mail|contact details|website|address|helpline)\b",
    re.I,
)
QUANTITY_RE = re.compile(r"\b(how many|how much|number of|numbers|percentage|percent|proportion|what share|how often|figures?|statistics|stats|total)\b|%", re.I)


@dataclass(frozen=True)
class RetrievalConfig:
    """Switches and weights of the retrieval mechanisms.

    ``history_weight``: weight of an earlier question's terms relative to the question's own (0 = off).
    ``bigram_weight``: weight of two-word terms relative to single words. Bigrams are rare, so a
    chance pair in a question ("reviews did Ofsted" -> "review ofsted") outweighs its topic; on
    both evaluation sets questions rank best without them (they still inform refusal).
    ``thesaurus_weight``: weight of thesaurus expansions (0 = off).
    ``typo_correction``: replace question words unknown to the corpus by the nearest corpus word.
    ``length_slope``: pivoted length normalisation slope; 1.0 is plain cosine, lower favours longer passages.
    ``title_weight``: how much a match with a document's title/notes adds to its passages (0 = off).
    ``number_boost``: score multiplier for passages with figures on quantity questions (1 = off).
    ``counted_boost``: on "how many X" questions, multiplier for the best ``rerank_depth``
    passages that state a figure for X ("147 serious case reviews"), 1 = off.
    ``pool``: how many passages, best by length-normalised dot product, the other adjustments
    are applied to (the rest cannot reach the top).
    ``coordination``: exponent of the coordination factor, the idf-weighted share of the
    question's own words that a passage contains (Lucene's "coord"); 0 = off. It stops a long
    passage that repeats two of the words from beating a short one that has them all.
    ``title_coordination``: a word of the passage's report title or notes counts as contained
    ("the 2009-10 serious case reviews" is what the whole 2009-10 report is about).
    ``equivalents_in_coordination``: a thesaurus equivalent counts as the word ("mothers" for "mums").
    ``caption_only_weight``: score multiplier for a table row whose own cells have none of the
    searched terms that its caption lacks, so that it matches only through the caption all its
    table's rows share (1 = off).
    ``kind_weights``: score multipliers by passage kind: footnotes are mostly bibliographic
    references and headings/captions are labels, so they rarely answer on their own.
    ``typo_dominance``: a word known only through a rare stem is still corrected when the
    correction is used this many times more often than that stem (see :meth:`Retriever.typo_fix`).
    ``context_weight``: share of the neighbouring passages' scores (same report, just before and
    after) added to a passage's: a table row is found through the words of its caption and
    neighbouring rows ("cause of death ... took their own lives" -> "Suicide 11"); 0 = off.
    ``synonyms``: a question word that no report uses ("worries", "finished") also searches for
    its WordNet synonyms that the reports do use ("concern", "complete"), like a thesaurus entry.
    ``family_weight``: weight of the other forms of a question word's family that the stemmer
    leaves apart ("notified" also searches "notification", "decided" "decision"), which also
    count as the word for coordination and refusal; 0 = off.
    ``phrase_boost``: multiplier for passages that contain a phrase the question puts in quotes
    ("the 'what about the children?' report"), word for word; 1 = off. Large, since quotes say
    "these words, in this order" (a search engine makes them a must).
    """

    history_weight: float = 0.35
    bigram_weight: float = 0.0
    thesaurus_weight: float = 0.5
    typo_correction: bool = True
    length_slope: float = 0.3
    title_weight: float = 0.25
    number_boost: float = 1.25
    counted_boost: float = 1.5
    pool: int = 300
    coordination: float = 1.0
    rerank_depth: int = 50
    kind_weights: tuple[tuple[str, float], ...] = (("footnote", 0.6), ("heading", 0.7), ("caption", 0.8))
    context_weight: float = 0.1
    typo_dominance: float = 5.0
    title_coordination: bool = True
    equivalents_in_coordination: bool = True
    caption_only_weight: float = 0.5
    phrase_boost: float = 4.0
    synonyms: bool = True
    family_weight: float = 0.5


BASELINE_ABLATION = "plain cosine TF-IDF (all off)"

ABLATIONS: dict[str, dict] = {
    "full": {},
    "plain cosine TF-IDF (all off)": {"synonyms": False, "phrase_boost": 1.0, "history_weight": 0.0, "bigram_weight": 1.0, "thesaurus_weight": 0.0, "typo_correction": False, "length_slope": 1.0, "title_weight": 0.0, "number_boost": 1.0, "counted_boost": 1.0, "coordination": 0.0, "kind_weights": (), "context_weight": 0.0, "caption_only_weight": 1.0, "family_weight": 0.0},
    "bigrams at full weight": {"bigram_weight": 1.0},
    "bigrams at half weight": {"bigram_weight": 0.5},
    "no typo correction": {"typo_correction": False},
    "no thesaurus": {"thesaurus_weight": 0.0},
    "no follow-up history": {"history_weight": 0.0},
    "no pivoted length norm (cosine)": {"length_slope": 1.0},
    "no document-title prior": {"title_weight": 0.0},
    "no figures boost": {"number_boost": 1.0},
    "no counted-noun re-ranking": {"counted_boost": 1.0},
    "no passage-kind prior": {"kind_weights": ()},
    "no coordination factor": {"coordination": 0.0},
    "coordination without title words": {"title_coordination": False},
    "coordination without thesaurus equivalents": {"equivalents_in_coordination": False},
    "caption-only table rows not demoted": {"caption_only_weight": 1.0},
    "no neighbour context": {"context_weight": 0.0},
    "no quoted-phrase boost": {"phrase_boost": 1.0},
    "no WordNet synonyms": {"synonyms": False},
    "no word families": {"family_weight": 0.0},
}


@dataclass(frozen=True)
class Filters:
    """Restrict answers to some documents: by id, publisher (substring, any case) or date range.

    Dates compare as ISO strings, so "2024" matches "2024-03-08" with ``date_from="2024"``.
    """

    doc_ids: tuple[str, ...] | None = None
    publisher: str | None = None
    date_from: str | None = None
    date_to: str | None = None

    def is_empty(self) -> bool:
        return not (self.doc_ids or self.publisher or self.date_from or self.date_to)

    def allows(self, doc: dict) -> bool:
        if self.doc_ids and doc["doc_id"] not in self.doc_ids:
            return False
        if self.publisher and self.publisher.lower() not in (doc.get("publisher") or "").lower():
            return False
        date = doc.get("date") or ""
        if self.date_from and (not date or date < self.date_from[: len(date)]):
            return False
        if self.date_to and (not date or date[: len(self.date_to)] > self.date_to):
            return False
        return True


@dataclass
class Query:
    """The analysed question.

    ``weights``: term column -> weight (L2-normalised); ``terms``: the question's own terms after
    typo correction; ``corrections``: {typed word: corpus word}; ``unknown``: question stems the
    corpus never uses (after correction).
    """

    weights: dict[int, float] = field(default_factory=dict)
    terms: list[str] = field(default_factory=list)
    corrections: dict[str, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    unknown_words: list[str] = field(default_factory=list)  # as typed: what the result tells the user
    wants_number: bool = False
    text: str = ""
    asks_who: bool = False  # a name is asked for: "who ...", "which councils ..."
    asks_procedure: bool = False  # how to do something or whom to contact (PROCEDURE_RE)
    own: dict[int, float] = field(default_factory=dict)  # unigram columns -> idf (earlier questions': idf x their weight)
    counted: set[str] = field(default_factory=set)  # stems of X in "how many X"
    equivalents: dict[str, set[str]] = field(default_factory=dict)  # stem -> thesaurus stems
    alternatives: dict[int, list[int]] = field(default_factory=dict)  # own column -> its thesaurus equivalents' columns
    needs_history: bool = False  # reads as a follow-up ("and the year before?") with no earlier question
    phrases: list[tuple[str, ...]] = field(default_factory=list)  # quoted in the question, as analyser words

    @property
    def empty(self) -> bool:
        return not self.weights


@dataclass(frozen=True)
class Hit:
    row: int
    score: float


@lru_cache(maxsize=1)
def load_synonyms() -> dict[str, list[str]]:
    """{everyday English word: [WordNet synonyms]} from qa/data/synonyms.tsv (generated by
    scripts/build_synonyms.py)."""
    table: dict[str, list[str]] = {}
    text = resources.files("qa.data").joinpath("synonyms.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            word, right = line.split("\t", 1)
            table[word] = right.split(", ")
    return table


@lru_cache(maxsize=1)
def load_thesaurus() -> dict[tuple[str, ...], list[str]]:
    """{folded word sequence: [expansion phrases]} from qa/data/thesaurus.tsv."""
    table: dict[tuple[str, ...], list[str]] = {}
    text = resources.files("qa.data").joinpath("thesaurus.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        left, right = line.split("\t", 1)
        key = tuple(fold(left).split())
        table.setdefault(key, []).extend(x.strip() for x in right.split(",") if x.strip())
    return table


class Retriever:
    """Ranks an index's passages for a question."""

    def __init__(self, index: Index, analyzer: Analyzer | None = None, config: RetrievalConfig | None = None) -> None:
        self.index = index
        self.analyzer = analyzer or Analyzer()
        self.config = config or RetrievalConfig()
        self.thesaurus = load_thesaurus()
        # Also by stems, so an entry finds the word's other forms: "finish" -> completing serves
        # "finished" and "finishing", "worry" -> concern serves "worries" and "worried".
        self.thesaurus_by_stem: dict[tuple[str, ...], list[str]] = {}
        for key, entry in self.thesaurus.items():
            merged = self.thesaurus_by_stem.setdefault(tuple(self.analyzer.stem(w) for w in key), [])
            merged.extend(e for e in entry if e not in merged)
        self.longest_entry = max((len(key) for key in self.thesaurus), default=1)
        self.synonym_table = load_synonyms()
        self._synonyms = lru_cache(maxsize=65536)(self._synonyms)  # per word: the index does not change under a Retriever
        self._family_in_index = lru_cache(maxsize=65536)(self._family_in_index)
        # The figures a passage states do not depend on the question: work them out once per passage.
        self._figure_phrases = lru_cache(maxsize=8192)(lambda row: figure_phrases(self.analyzer, index.text(row)))
        # The term columns of a table row's own cells that its caption (which every row of the
        # table repeats) does not already have.
        self._cell_columns = lru_cache(maxsize=8192)(lambda row: self._own_cell_columns(index.text(row)))
        slope = self.config.length_slope
        # Pivoted length normalisation (Singhal et al. 1996): 1.0 gives plain cosine.
        self._denominator = ((1 - slope) * index.mean_norm + slope * index.passage_norm).astype(np.float32)
        self._denominator[self._denominator == 0] = 1
        for kind, weight in self.config.kind_weights:
            self._denominator[index.passage_kind == KINDS.index(kind)] /= weight

    def _own_cell_columns(self, text: str) -> frozenset[int]:
        """Term columns of a table row's cells, less its caption's words (-1 for unknown stems)."""
        caption, _, cells = text.partition(TABLE_ROW_SEPARATOR)
        return frozenset(self.index.term_id(s) for s in set(self.analyzer.stems(cells)) - set(self.analyzer.stems(caption)))

    # -- question analysis ---------------------------------------------------------------
    def correct(self, word: str) -> str | None:
        """The corpus word closest to ``word`` (a typo), or None if nothing is close enough."""
        if len(word) < 4 or not word.isalpha():
            return None
        index = self.index
        grams = [g for g in _trigrams(word)]
        if not grams:
            return None
        rows = [index.words_with_trigram(g) for g in grams]
        rows = [r for r in rows if r.size]
        if not rows:
            return None
        shared = np.bincount(np.concatenate(rows))
        candidates = np.flatnonzero(shared >= max(1, len(grams) // 3))
        if candidates.size > 20:  # the words sharing most trigrams are the only plausible ones
            candidates = candidates[np.argsort(-shared[candidates], kind="stable")[:20]]
        limit = 1 if len(word) <= 8 else 2  # two edits on short words turn "france" into "frank"
        best: tuple[int, int, str] | None = None
        for row in candidates:
            candidate = index.words[int(row)]
            if abs(len(candidate) - len(word)) > limit:
                continue
            distance = edit_distance(word, candidate, transpositions=True)
            if distance <= limit:
                key = (distance, -int(index.word_counts[row]), candidate)
                if best is None or key < best:
                    best = key
        return best[2] if best else None

    def typo_fix(self, word: str) -> str | None:
        """The corpus word ``word`` is a typo of, or None when it is not one.

        A word the corpus uses as typed is no typo. A misspelling can still share its stem with
        a stray term ("famlies" -> "fam", once, from a torn line), so a word known only through
        its stem is corrected when the correction is far more common than that stem
        (:attr:`RetrievalConfig.typo_dominance` times its passage count): "famlies" -> "families"
        (40 uses against 1), but not "allegation" -> "alienation" (1 against 1).
        """
        index = self.index
        if index.words.find(word) >= 0:
            return None
        correction = self.correct(word)
        if correction is None:
            return None
        ids = [index.term_id(s) for s in self.analyzer.stems(word)]
        if ids and all(j >= 0 for j in ids):
            known_as = max(int(index.df[j]) for j in ids)
            if int(index.word_counts[index.words.find(correction)]) < self.config.typo_dominance * known_as:
                return None
        return correction

    def _expand(self, words: list[str]) -> list[tuple[str, list[str]]]:
        """Thesaurus matches in a question's words (longest first): [(matched words, expansions)]."""
        out: list[tuple[str, list[str]]] = []
        i = 0
        while i < len(words):
            for size in range(self.longest_entry, 0, -1):
                key = tuple(words[i : i + size])
                if len(key) != size:
                    continue
                # The words as typed, else any form of them ("newborns" -> newborn -> baby); the
                # expansions, stemmed like every term, then match plurals too.
                entry = self.thesaurus.get(key) or self.thesaurus_by_stem.get(tuple(map(self.analyzer.stem, key)))
                if entry:
                    out.append((" ".join(key), entry))
                    i += size
                    break
            else:
                i += 1
        return out

    def _synonyms(self, word: str) -> list[str]:
        """Up to three WordNet synonyms of ``word`` that the reports use, if the reports never use
        ``word`` itself ("worries" -> concern, worry; "sidelined" is in the thesaurus instead)."""
        if word in STOP_WORDS or not word.isalpha() or word not in self.synonym_table:
            return []
        stems = self.analyzer.stems(word)
        if not stems or all(self.index.term_id(s) >= 0 for s in stems):
            return []
        known = [
            s for s in self.synonym_table[word]
            if (parts := self.analyzer.stems(s)) and all(self.index.term_id(p) >= 0 for p in parts)
        ]
        return known[:3]

    def _family(self, text: str, query: Query) -> set[int]:
        """Columns of the other forms of the question's words that the reports use ("notified" ->
        notification), recorded as equivalents of the word like thesaurus words."""
        columns: set[int] = set()
        for stem in set(self.analyzer.stems(text)):
            for other, j in self._family_in_index(stem):
                columns.add(j)
                query.equivalents.setdefault(stem, set()).add(other)
        return columns

    def _family_in_index(self, stem: str) -> tuple[tuple[str, int], ...]:
        """(stem, column) of the members of ``stem``'s family that the index has."""
        return tuple((other, j) for other in sorted(family_stems(stem)) if (j := self.index.term_id(other)) >= 0)

    def _resolve_relative_year(self, words: list[str], history: list[str] | tuple[str, ...], query: Query) -> list[str]:
        """A follow-up's "the year before" / "the next year" -> the years of the latest earlier
        question that names any, shifted by one ("how many were good in 2009-10?" -> "and the
        year before?" asks about 2008 2009). Recorded in ``query.corrections`` so the result
        says how the question was read. Without years in the history, the words stay."""
        for i in range(len(words) - 1):
            shift = _RELATIVE_YEARS.get((words[i], words[i + 1]))
            if shift is None:
                continue
            years = next((ys for h in reversed(list(history)) if (ys := years_in(self.analyzer.words(h)))), [])
            if not years:
                return words
            start = i - 1 if i and words[i - 1] == "the" else i
            shifted = [str(y + shift) for y in years]
            query.corrections[" ".join(words[start : i + 2])] = " ".join(shifted)
            return words[:start] + shifted + words[i + 2 :]
        return words

    def _counted(self, words: list[str]) -> set[str]:
        """Stems of what a "how many X ..." question counts (X, up to the first stop word), with
        their thesaurus equivalents ("kids" -> children)."""
        for i in range(len(words) - 1):
            if words[i] == "how" and words[i + 1] in ("many", "much"):
                rest = words[i + 2 :]
                while rest and rest[0] in ("of", "the", "these", "those", "them"):
                    rest = rest[1:]
                phrase = []
                for w in rest[:3]:
                    if w in STOP_WORDS:
                        break
                    phrase.append(w)
                stems = set(self.analyzer.stems(" ".join(phrase)))
                for matched, expansions in self._expand(phrase):
                    stems.update(s for e in expansions for s in self.analyzer.stems(e))
                return stems
        return set()

    def analyse(self, question: str, history: list[str] | tuple[str, ...] = ()) -> Query:
        """Weighted query terms: sublinear tf x idf, L2-normalised over all sources."""
        query = Query(
            wants_number=bool(QUANTITY_RE.search(question)),
            asks_who=bool(WHO_RE.search(question) or WHICH_NAMED_RE.search(question)),
            asks_procedure=bool(PROCEDURE_RE.search(question)),
        )
        words = self.analyzer.words(question)
        if self.config.typo_correction:
            fixed = []
            for w in words:
                # An everyday word the reports do not use ("spend") is not a typo of one they do ("send").
                if w not in STOP_WORDS and (w,) not in self.thesaurus and not self.analyzer.everyday(w):
                    c = self.typo_fix(w)
                    if not c and all(self.index.term_id(s) < 0 for s in self.analyzer.stems(w)):
                        # Not a misspelt report word, but perhaps a misspelt English one
                        # ("recomend": the reports say "recommended"), which is then searched
                        # and judged as that word.
                        c = self.analyzer.everyday_correction(w)
                    if c:
                        query.corrections[w] = c
                        w = c
                fixed.append(w)
            words = fixed
        words = self._resolve_relative_year(words, history, query)
        words = [w for w in as_how_many(words) if w not in REQUEST_WORDS]
        query.phrases.extend(quoted_phrases(self.analyzer, question, query.corrections))
        query.needs_history = not history and leans_on_earlier(words)
        text = " ".join(words)
        query.text = text
        query.counted = self._counted(words)
        sources = [(text, 1.0)]
        if self.config.thesaurus_weight > 0:
            curated = self._expand(words)
            for matched, expansions in curated:
                stems = {s for e in expansions for s in self.analyzer.stems(e)}
                for stem in self.analyzer.stems(matched):
                    query.equivalents.setdefault(stem, set()).update(stems)
                sources += [(e, self.config.thesaurus_weight) for e in expansions]
            if self.config.synonyms:
                # Searched for, but not equivalents: the word stays one that no report uses (for
                # the result's note and for refusing), and a passage with the synonym does not
                # count as containing the word. A general dictionary's synonyms are weaker
                # evidence than the curated thesaurus.
                covered = {w for matched, _ in curated for w in matched.split()}
                sources += [(e, self.config.thesaurus_weight) for w in words if w not in covered for e in self._synonyms(w)]
        family = self._family(text, query) if self.config.family_weight > 0 else set()
        if self.config.history_weight > 0 and history:
            # An elliptical follow-up ("and for the over 14s?") leans on the conversation more.
            own = len(set(self.analyzer.stems(text)))
            weight = self.config.history_weight * (2 if own <= 2 else 1)
            recent = list(history)[-3:]
            history_from = len(sources)
            sources += [(h, weight * (0.7 ** (len(recent) - 1 - i))) for i, h in enumerate(recent)]
        else:
            history_from = len(sources)
        raw: dict[int, float] = {}
        for k, (source_text, weight) in enumerate(sources):
            terms = self.analyzer.terms(source_text)
            if weight == 1.0 and source_text is text:
                query.terms = terms
            for term, count in Counter(terms).items():
                j = self.index.term_id(term)
                if j < 0:
                    if source_text is text and " " not in term and not query.equivalents.get(term):
                        query.unknown.append(term)  # a word the reports never use (and no synonym of one)
                    continue
                if " " in term:
                    weight_here = weight * self.config.bigram_weight
                else:
                    weight_here = weight
                value = weight_here * (1 + np.log(count)) * float(self.index.idf[j])
                if source_text is text and " " not in term:
                    query.own[j] = float(self.index.idf[j])
                    if self.config.equivalents_in_coordination:
                        alts = [self.index.term_id(e) for e in query.equivalents.get(term, ()) if e != term]
                        query.alternatives[j] = [a for a in alts if a >= 0]
                elif k >= history_from and " " not in term:
                    # Coordination also counts the conversation's words, at their lower weight:
                    # "what should have been done differently for her?" is about the girl the
                    # earlier question named, and a passage about her must not score zero for
                    # lacking "differently".
                    query.own[j] = max(query.own.get(j, 0.0), weight * float(self.index.idf[j]))
                raw[j] = max(raw.get(j, 0.0), value)
        for j in family:
            raw[j] = max(raw.get(j, 0.0), self.config.family_weight * float(self.index.idf[j]))
        # The same words as typed, for the result ("No report uses the word “dogs”").
        missing = set(query.unknown)
        query.unknown_words = list(dict.fromkeys(
            w for w in words if w.isalpha() and (stems := self.analyzer.stems(w)) and set(stems) <= missing
        ))
        norm = float(np.sqrt(sum(v * v for v in raw.values()))) or 1.0
        query.weights = {j: v / norm for j, v in raw.items()}
        return query

    # -- scoring -------------------------------------------------------------------------
    def candidates(self, query: Query, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The best ``config.pool`` passages for the question and their scores: ``(rows, scores)``.

        Two stages, so the cost stays that of one pass over the question terms' posting lists:
        one ``bincount`` gives every passage's dot product, divided by its (pivoted) length norm;
        the best ``pool`` of those are then adjusted (coordination, title prior, figures). The
        adjustments move a passage by a bounded factor, so a pool of hundreds loses nothing that
        could reach the top ten. ``mask`` (boolean, per passage) excludes filtered-out passages.
        """
        index = self.index
        n = index.n_passages
        empty = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        if query.empty:
            return empty
        columns = list(query.weights)
        postings = [index.column(j) for j in columns]
        weighted = np.concatenate([d * np.float32(query.weights[j]) for j, (_, d) in zip(columns, postings)])
        base = np.bincount(np.concatenate([r for r, _ in postings]), weights=weighted, minlength=n)
        base /= self._denominator
        if mask is not None:
            base[~mask] = 0
        pool = self.config.pool
        rows = np.argpartition(-base, pool - 1)[:pool] if n > pool else np.arange(n)
        rows = rows[base[rows] > 0]
        if rows.size == 0:
            return empty
        scores = base[rows]
        if self.config.context_weight > 0:
            scores = scores + self.config.context_weight * self._context(base, rows)
        if self.config.coordination > 0 and query.own:
            present = np.zeros(rows.size, dtype=np.float64)
            docs = index.passage_doc[rows]
            for j, idf in query.own.items():
                found = self._contain(j, rows)
                for alt in query.alternatives.get(j, ()):
                    # A thesaurus equivalent counts as the word ("mothers" for "mums").
                    found = found | self._contain(alt, rows)
                if self.config.title_coordination:
                    # A word of the passage's report title or notes counts as present: "in the
                    # 2009-10 serious case reviews" is said by the title, not by paragraph 10.
                    titled = np.zeros(len(index.documents), dtype=bool)
                    titled[index.title_column(j)[0]] = True
                    found = found | titled[docs]
                present += idf * found
            scores *= (present / sum(query.own.values())) ** self.config.coordination
        if self.config.caption_only_weight != 1:
            # A table row that matches only through its caption is one of many that do: every
            # row of "Cause of death of the 90 children who died" matches "how many died?", and
            # ten of them would fill the top five. Its own cells decide whether it answers.
            is_row = index.passage_kind[rows] == KINDS.index("table_row")
            searched = query.weights.keys()
            for i in np.flatnonzero(is_row):
                if not self._cell_columns(int(rows[i])) & searched:
                    scores[i] *= self.config.caption_only_weight
        if self.config.title_weight > 0:
            doc_scores = self._title_scores(query)
            if doc_scores is not None:
                scores *= 1 + self.config.title_weight * doc_scores[index.passage_doc[rows]]
        if query.wants_number and self.config.number_boost != 1:
            scores[index.passage_numbers[rows] > 0] *= self.config.number_boost
        if query.phrases and self.config.phrase_boost != 1:
            scores[self._say_phrase(query, rows)] *= self.config.phrase_boost
        return rows, scores

    def _contain(self, j: int, rows: np.ndarray) -> np.ndarray:
        """Which of ``rows`` (passage numbers) contain term column ``j``, shape ``rows.shape``
        (bool); a term the index lacks (``j < 0``) is in none."""
        posting = self.index.column(j)[0] if j >= 0 else np.zeros(0, dtype=np.int64)  # sorted row numbers
        if not posting.size:
            return np.zeros(rows.size, dtype=bool)
        at = np.minimum(np.searchsorted(posting, rows), posting.size - 1)
        return posting[at] == rows

    def _say_phrase(self, query: Query, rows: np.ndarray) -> np.ndarray:
        """Which of ``rows`` contain one of the question's quoted phrases word for word, shape
        ``rows.shape`` (bool). Only passages with all of a phrase's stems are read."""
        out = np.zeros(rows.size, dtype=bool)
        for phrase in query.phrases:
            has_all = np.ones(rows.size, dtype=bool)
            for stem in self.analyzer.stems(" ".join(phrase)):
                has_all &= self._contain(self.index.term_id(stem), rows)
            for i in np.flatnonzero(has_all & ~out):
                out[i] = says_phrase(self.analyzer, self.index.text(int(rows[i])), [phrase])
        return out

    def _context(self, base: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The summed scores of each row's neighbours in reading order within its report, shape
        ``rows.shape`` (passages are stored in reading order, report by report)."""
        doc = self.index.passage_doc
        n = base.size
        out = np.zeros(rows.size)
        for step in (-1, 1):
            other = np.clip(rows + step, 0, n - 1)
            same = (doc[other] == doc[rows]) & (other != rows)
            out += np.where(same, base[other], 0.0)
        return out

    def scores(self, query: Query) -> np.ndarray:
        """Scores as a full array, shape ``(n_passages,)``: the pool's scores, zero elsewhere."""
        full = np.zeros(self.index.n_passages, dtype=np.float64)
        rows, scores = self.candidates(query)
        full[rows] = scores
        return full

    def _title_scores(self, query: Query) -> np.ndarray | None:
        """Cosine of the question with each document's title and notes, shape ``(n_documents,)``."""
        rows, weights = [], []
        for j, w in query.weights.items():
            r, d = self.index.title_column(j)
            if r.size:
                rows.append(r)
                weights.append(d * np.float32(w))
        if not rows:
            return None
        return np.bincount(np.concatenate(rows), weights=np.concatenate(weights), minlength=len(self.index.documents)).astype(np.float32)

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        """Boolean mask over passages allowed by ``filters`` (None when everything is allowed)."""
        if filters is None or filters.is_empty():
            return None
        allowed = np.array([filters.allows(d) for d in self.index.documents], dtype=bool)
        return allowed[self.index.passage_doc]

    def search(
        self,
        question: str,
        history: list[str] | tuple[str, ...] = (),
        top_k: int = 10,
        filters: Filters | None = None,
    ) -> tuple[Query, list[Hit]]:
        """The ``top_k`` best passages for ``question``, best first (fewer if fewer match)."""
        query = self.analyse(question, history)
        rows, scores = self.candidates(query, self.mask(filters))
        if query.counted and self.config.counted_boost != 1:
            hits = self._rerank(query, top_hits(rows, scores, max(top_k, self.config.rerank_depth)))
            return query, hits[:top_k]
        return query, top_hits(rows, scores, top_k)

    def _rerank(self, query: Query, hits: list[Hit]) -> list[Hit]:
        """Favour, among the best hits, passages that state a figure for what "how many" counts."""
        boost = self.config.counted_boost
        boosted = [
            Hit(h.row, h.score * boost) if any(p & query.counted for p in self._figure_phrases(h.row)) else h for h in hits
        ]
        return sorted(boosted, key=lambda h: (-h.score, h.row))


# Two words that place a follow-up's year relative to the conversation's: (word, word) -> years to add.
_RELATIVE_YEARS = {
    ("year", "before"): -1, ("previous", "year"): -1, ("prior", "year"): -1, ("year", "earlier"): -1,
    ("last", "year"): -1, ("year", "after"): 1, ("next", "year"): 1, ("following", "year"): 1, ("year", "later"): 1,
}


_CONTINUATIONS = (("and",), ("but",), ("also",), ("so",), ("what", "about"), ("how", "about"), ("what", "of"), ("same", "for"))
_ANAPHORS = frozenset({"them", "they", "those", "these", "it", "that", "he", "she", "him", "her", "his", "their", "theirs", "then"})


# Words that ask for the form of an answer, not for a topic: "list the recurring errors" is about
# the errors. The reports use "list" twice, so as a search word it would outweigh the topic.
REQUEST_WORDS = frozenset({"list"})

# Other ways of asking "how many": "what number (of kids) died?", "the number of councils",
# "count of children". "A number of" means "several" and is left alone.
_COUNT_PHRASES = (("what", "number", "of"), ("the", "number", "of"), ("total", "number", "of"), ("number", "of"), ("what", "number"), ("count", "of"))


def as_how_many(words: list[str]) -> list[str]:
    """The analyser words with count phrasings read as "how many": ``["what", "number", "of",
    "councils"]`` -> ``["how", "many", "councils"]``, so "number" is not searched as a topic
    (it would favour every "Number of ..." caption) and the counted noun is known."""
    out: list[str] = []
    i = 0
    while i < len(words):
        for phrase in _COUNT_PHRASES:
            if tuple(words[i : i + len(phrase)]) == phrase and not (out and out[-1] == "a"):
                out += ["how", "many"]
                i += len(phrase)
                break
        else:
            out.append(words[i])
            i += 1
    return out


# A span in quotes: 'complex needs', "what about the children?", ‘rule of optimism’. A single
# quote must open after a space or bracket and close before one, so "Ofsted's" and "pub'd" are
# not quotes.
_QUOTED_RE = re.compile(r"(?:^|(?<=[\s(\[]))(?:'([^'\n]+?)'|\"([^\"\n]+?)\")(?=[\s)\].,;:?!]|$)")


def quoted_phrases(analyzer: Analyzer, question: str, corrections: dict[str, str] | None = None) -> list[tuple[str, ...]]:
    """The phrases of two or more words the question puts in quotes, as analyser words with the
    question's typo corrections applied (" 'rule of optimisim' " -> ("rule", "of", "optimism"))."""
    corrections = corrections or {}
    phrases = []
    for match in _QUOTED_RE.finditer(fold(question)):
        words = tuple(corrections.get(w, w) for w in analyzer.words(match.group(1) or match.group(2)))
        if len(words) >= 2:
            phrases.append(words)
    return phrases


def says_phrase(analyzer: Analyzer, text: str, phrases: list[tuple[str, ...]]) -> bool:
    """Whether ``text`` contains one of ``phrases`` word for word (folded, punctuation ignored)."""
    words = analyzer.words(text)
    return any(
        tuple(words[i : i + len(p)]) == p for p in phrases for i in range(len(words) - len(p) + 1) if words[i] == p[0]
    )


def leans_on_earlier(words: list[str]) -> bool:
    """Whether a question (its analyser words) only makes sense after an earlier one: it names a
    year relative to another ("and the year before?", "what about the following year?") without
    naming any year itself, or it opens as a continuation ("and", "what about") and points back
    with a pronoun ("and how many of them died?"). "What about babies?" stands alone."""
    if not years_in(words) and any(pair in _RELATIVE_YEARS for pair in zip(words, words[1:])):
        return True
    opens = any(tuple(words[: len(c)]) == c for c in _CONTINUATIONS)
    return opens and any(w in _ANAPHORS for w in words)


def years_in(words: list[str]) -> list[int]:
    """The distinct years among analysed words, in order ("2009", "2010" -> [2009, 2010])."""
    return list(dict.fromkeys(int(w) for w in words if len(w) == 4 and w.isdigit() and w[:2] in ("19", "20")))


# A year ("in 2010 Ofsted published"), also with a footnote number glued on ("2009.3 The"), counts nothing.
_CELL_FIGURE_RE = re.compile(r"(?<![\w/-])\d[\d,.]*%?(?![\w/-])")  # a figure cell ("59", "42%"), not a date
_YEAR_FIGURE_RE = re.compile(r"(?:19|20)\d\d(?:\.\d{1,2})?")


def figure_phrases(analyzer: Analyzer, text: str, captions: bool = False) -> list[frozenset[str]]:
    """Stems of the words next to each figure in ``text``: after it ("147 serious case reviews")
    and, for a table row, before the figure that ends it ("Natural causes 9"). With
    ``captions``, a table row's figures also count what its caption and column headings name
    ("Table 2: Number of judgements for serious case reviews ... Total SCRs — April 08 - March 09
    0 40 74 59 173"); ranking leaves that out, since every row of a table shares its caption."""
    phrases = [
        frozenset(analyzer.stems(_counted_part(m.group(1))))
        for m in COUNTED_RE.finditer(text)
        # "One of their recommendations" picks one out; it does not say how many there were.
        if not _YEAR_FIGURE_RE.fullmatch(m.group(0)) and not (m.group(0).lower() == "one" and m.group(1).lower().startswith("of "))
    ]
    row = COUNTED_AFTER_RE.search(text[-80:])
    if row:
        phrases.append(frozenset(analyzer.stems(row.group(1))))
    caption, separator, cells = text.partition(TABLE_ROW_SEPARATOR)
    if captions and separator and _CELL_FIGURE_RE.search(cells):
        phrases.append(frozenset(analyzer.stems(caption)))
    return phrases


_OF_RE = re.compile(r"\s+of\b.*", re.I | re.S)


def _counted_part(words: str) -> str:
    """What a figure counts, of the words after it: up to an "of" that qualifies a noun ("33,760
    assessments of children" counts assessments), but through one that opens them ("90 of the
    children", "42% of reviews")."""
    if words.lower().startswith("of "):
        return words
    return _OF_RE.sub("", words)


def states_count(analyzer: Analyzer, query: Query, text: str, captions: bool = False) -> bool:
    """Whether ``text`` gives a figure for what a "how many" question counts ("147 reviews"); with
    ``captions``, a table row counts what its caption names (see :func:`figure_phrases`)."""
    return any(phrase & query.counted for phrase in figure_phrases(analyzer, text, captions))


def _trigrams(word: str) -> list[str]:
    padded = f" {word} "
    return [padded[i : i + 3] for i in range(len(padded) - 2)]


def top_hits(rows: np.ndarray, scores: np.ndarray, k: int) -> list[Hit]:
    """The ``k`` highest positive scores among ``rows``, best first (ties broken by reading order)."""
    positive = np.flatnonzero(scores > 0)
    if positive.size == 0:
        return []
    if positive.size > k:
        positive = positive[np.argpartition(-scores[positive], k - 1)[:k]]
    order = np.lexsort((rows[positive], -scores[positive]))
    return [Hit(int(rows[positive[i]]), float(scores[positive[i]])) for i in order]
