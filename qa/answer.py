"""Ranked passages -> an extractive answer with citations, or an honest refusal.

The answer is made only of sentences copied from the cited passages; each is followed by ``[n]``,
the rank of its passage in the result. When the evidence is weak (low similarity, or the
passages cover too little of what the question asks about), the result says "not found in these
reports" instead and lists the passages it looked at.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from qa.analysis import Analyzer
from qa.index import KINDS, Index, catalogue_text
from qa.passages import TABLE_ROW_SEPARATOR
from qa.retrieval import Hit, Query, says_phrase, states_count, years_in

LIST_RE = re.compile(r"\b(what (were|are) the|list|which|main|reasons|messages|findings|lessons|themes|ways|factors|key)\b", re.I)
NUMBER_WORD_RE = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|sixty|hundred|half|third|quarter|majority|most)\b", re.I)

# "Why ...?", also after what it is about: "boy with cerebral palsy who died - why did nobody ...?".
WHY_RE = re.compile(
    r"(?:^|[-\u2013\u2014:;,?]\s*|\b(?:and|but|so)\s+)\W*(?:why|how come)\b|\b(?:reasons? (?:why|for)|what caused|what led to)\b", re.I
)
# What a reason is said with: "because", "as a result of", "a number of factors", "in the belief that".
REASON_RE = re.compile(
    r"\b(?:because|due to|owing to|as a result|result(?:ed|ing)? (?:of|from|in)|reasons?|factors?|caused|led to|"
    r"explanation|in the belief|meant that|so that|since|therefore|given that|attributed)\b"
    r"|\bso (?:[\w’'-]+ ){1,8}?that\b",  # "so focused on his complex health needs that they had not ..."
    re.I,
)

# A sentence that lists ("Key themes explored include: a; b; and c.", "... were: x, y and z").
ENUMERATES_RE = re.compile(r"(?:\binclud(?:e|es|ed|ing)\b|:)[^.]*[;,][^.]*\b(?:and|or)\b", re.I)

# Asking for the lesson of a case rather than its facts: "what went wrong", "what was the
# learning", "what should they have done", "did anyone spot it".
LESSON_RE = re.compile(
    r"\b(?:went wrong|go wrong|lessons?|learning|learnt|learned|should (?:have|they|professionals|workers|staff)|"
    r"(?:handled|done) differently|key (?:theme|finding|issue|point)s?|spot(?:ted)?|pick(?:ed)? up|mistakes?)\b",
    re.I,
)
# What a lesson or judgement is said with: "should have been identified as ...", "the lesson to be
# learnt", "there was no follow-up", "so focused on ... that they had not been attuned to ...".
JUDGEMENT_RE = re.compile(
    r"\b(?:should|ought|lessons?|learn(?:t|ed|ing)|finding|found that|concluded|failure|failed|did not|had not|"
    r"was not|were not|not been|no follow-up|rather than|too (?:much|little|readily|often)|insufficient|"
    r"lack of|delay|missed|needed to|need for)\b",
    re.I,
)

NEEDS_EARLIER_QUESTION = (
    "This reads as a follow-up to an earlier question, and there is none in this conversation: "
    "ask the whole question (which year, which children, which report)."
)
"""What every door says when ``search.needs_earlier_question`` is set (qa-core.js and widget.js
repeat it)."""


@dataclass(frozen=True)
class AnswerPolicy:
    """When to answer and how much to say.

    The engine answers when a logistic model over the evidence signals (see
    :func:`evidence_signals`) gives at least ``min_confidence``. The weights were fitted on
    ``eval/questions.jsonl`` and ``eval/heldout.jsonl`` to ``eval/heldout11.jsonl`` (in-scope vs
    out-of-scope rows) by ``eval/calibrate.py --answered 0.95``, and are checked on the blind
    ``eval/heldout12.jsonl`` (docs/quality.md).

    ``sentence_weights`` score each candidate answer sentence (:func:`sentence_candidates`); they
    were fitted by ``eval/fit_sentences.py`` (which sentence holds a key phrase) on the development
    set and held-out 1 to 7; refits with the later sets did not change how often the best sentence
    holds the key, left one set out (527 against 528 of 788 with held-out 8 to 11), so they stay.
    Sentences more than ``sentence_margin`` (log-odds) below the best are left out; the margin
    keeps answers about as long as before the model (a mean of about 450 characters).
    ``join_neighbours``: each chosen sentence brings the neighbour it refers back to, announces,
    or that refers back to it.
    """

    weights: tuple[tuple[str, float], ...] = (
        ("bias", -1.483),
        ("best_score", -0.515),
        ("coverage", 0.571),
        ("top_coverage", 1.115),
        ("missing_specific", 0.196),
        ("unknown_nouns", -4.975),
        ("missing_number", -3.434),
        ("sentence_coverage", -0.990),
        ("bigram_coverage", -1.530),
        ("count_coverage", 4.765),
        ("asks_procedure", -2.133),
    )
    min_confidence: float = 0.378
    sentence_weights: tuple[tuple[str, float], ...] = (
        ("weight", -0.243),
        ("weight_share", 0.465),
        ("coverage", 3.352),
        ("passage_score", 1.298),
        ("best_passage", 0.708),
        ("second_passage", 0.081),
        ("first", 0.872),
        ("position", 1.260),
        ("length", 0.529),
        ("table_row", 2.022),
        ("list", 0.860),
        ("figure", 1.909),
        ("count", 2.248),
        ("reason", 1.479),
        ("enumeration", 1.675),
        ("judgement", 0.715),
    )
    sentence_margin: float = 2.0
    max_sentences: int = 3
    max_chars: int = 700
    evidence_passages: int = 3
    check_answer_type: bool = True
    join_neighbours: bool = True

    def confidence(self, signals: dict[str, float]) -> float:
        z = sum(w * signals.get(name, 1.0 if name == "bias" else 0.0) for name, w in self.weights)
        return 1 / (1 + math.exp(-z))

    def sentence_score(self, features: dict[str, float]) -> float:
        """How likely a candidate sentence holds the answer, as a log-odds score (only differences
        between one question's candidates matter)."""
        return sum(w * features[name] for name, w in self.sentence_weights)


_NUMBER_TOKEN_RE = re.compile(r"\b\d{2,4}\b")
_MONTH = r"(?:january|february|march|april|may|june|july|august|september|october|november|december)"
# The day of a date ("at 31 march 2010", "march 31st") is not a figure the answer must state.
_DAY_OF_MONTH_RE = re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?(?=\s+{_MONTH}\b)|\b({_MONTH}\s+)\d{{1,2}}(?:st|nd|rd|th)?\b", re.I)


def evidence_signals(query: Query, hits: list[Hit], index: Index, analyzer: Analyzer, evidence_passages: int = 3) -> dict[str, float]:
    """Signals of whether the best passages answer the question (all in 0..1 except counts).

    * ``best_score``: the best passage's retrieval score;
    * ``coverage``: idf-weighted share of the question's stems found in the best passages (a stem
      counts as found if a thesaurus equivalent is, e.g. "kids" via "children");
    * ``top_coverage``: the same for the single best passage;
    * ``missing_specific``: idf of the rarest question stem that the evidence lacks, over the
      corpus' highest idf (a specific name or topic the passages never mention);
    * ``unknown_nouns``: question words the corpus never uses at all, each counted by how rare it
      is in everyday English (1 for "fgm", about 0.4 for "phone", 0 for "get"), if it can be a
      noun (names and "inquiry" or "permits" count, "actually" or "dragged" do not); capped at 2, / 2;
    * ``missing_number``: 1 if the question names a figure or year that the best passage and its
      report's scope do not contain (the day of a date, "31 March", is neither);
    * ``count_coverage``: for a "how many X" question, ``sentence_coverage`` among the sentences
      that give a figure for X (0 when none does); otherwise the same as ``sentence_coverage``;
    * ``asks_procedure``: 1 if the question asks how to do something or whom to contact.
    """
    signals = {"best_score": hits[0].score if hits else 0.0}
    idfs = _stem_idfs(query, index)
    max_idf = float(index.idf.max()) if len(index.idf) else 1.0
    rows = [h.row for h in hits[:evidence_passages]]
    texts = [index.text(r) for r in rows]
    # A passage is read in its report: "the press release" or "Ages of concern" is in the
    # catalogue entry, not in the paragraph.
    evidence = [index.stems(r, analyzer) | index.document_stems(int(index.passage_doc[r]), analyzer) for r in rows]
    everything = frozenset().union(*evidence) if evidence else frozenset()

    def share(present: frozenset[str] | set[str]) -> float:
        return _coverage(idfs, query, present)

    signals["coverage"] = share(everything)
    signals["top_coverage"] = share(evidence[0]) if evidence else 0.0
    missing = [idf for s, idf in idfs.items() if s not in everything and not query.equivalents.get(s, set()) & everything]
    signals["missing_specific"] = max(missing) / max_idf if missing else 0.0
    # A word no report uses says more about scope the rarer it is in English ("fgm" or "lado"
    # against "stuff"), and when it can name a thing: "model" in "the Signs of Safety model" is
    # a topic the reports lack, "actually" or "dragged on" is how people talk. Any noun use
    # counts, not the share of them: "parking permits" are nouns here, though WordNet mostly
    # meets "parking" and "permits" as verbs. (Weighing by the share answered "how much did the
    # council spend on parking permits?"; counting the unknown verbs and adverbs as a signal of
    # their own did not help.)
    nouns = sum(1 - analyzer.commonness(w) for w in query.unknown_words if analyzer.noun_share(w) > 0)
    signals["unknown_nouns"] = min(nouns, 2) / 2
    best_sentence = best_count = 0.0
    for row, text in zip(rows, texts):
        for terms in index.sentence_terms(row, analyzer):
            best_sentence = max(best_sentence, share({t for t in terms if " " not in t}))
        if query.counted:
            for (s, e), terms in zip(*_units(row, index, analyzer)):
                if states_count(analyzer, query, text[s:e], captions=True):
                    best_count = max(best_count, share({t for t in terms if " " not in t}))
    signals["sentence_coverage"] = best_sentence
    # "How many children were on child protection plans?": the sentence that gives a figure for
    # children must also be about the plans, not about assessments of abuse.
    signals["count_coverage"] = best_count if query.counted else best_sentence
    signals["asks_procedure"] = float(query.asks_procedure)
    bigrams = [t for t in dict.fromkeys(query.terms) if " " in t]
    if bigrams:
        evidence_terms = set().union(*(analyzer.terms(t) for t in texts)) if texts else set()
        signals["bigram_coverage"] = sum(b in evidence_terms for b in bigrams) / len(bigrams)
    else:
        signals["bigram_coverage"] = signals["coverage"]
    # Figures and years as the analyzer reads them ("2009-10" is 2009 and 2010 on both sides),
    # looked for in the best passage and its report's catalogue entry (title, notes, date: the
    # 2009-10 report's paragraphs rarely repeat "2009"). Not in the three passages together: "what
    # changed in Working Together 2018?" finds "2018" in one passage and "working" in another.
    numbers = asked_figures(analyzer, query.text)
    if numbers and rows:
        signals["missing_number"] = float(not numbers <= evidence[0])  # figures are their own stems
    else:
        signals["missing_number"] = 0.0
    return signals


def _stem_idfs(query: Query, index: Index) -> dict[str, float]:
    """{stem: idf} of the question's own unigram stems, in order; a stem no report uses gets the
    highest idf (it is as specific as a word can be)."""
    max_idf = float(index.idf.max()) if len(index.idf) else 1.0
    stems = dict.fromkeys(t for t in query.terms if " " not in t)
    return {s: float(index.idf[j]) if (j := index.term_id(s)) >= 0 else max_idf for s in stems}


def _coverage(idfs: dict[str, float], query: Query, present: frozenset[str] | set[str]) -> float:
    """Idf-weighted share (0..1) of the question's stems (``idfs``, see :func:`_stem_idfs`) that
    ``present`` holds, a stem counting as held if one of its thesaurus equivalents is."""
    total = sum(idfs.values())
    found = sum(idf for s, idf in idfs.items() if s in present or query.equivalents.get(s, set()) & present)
    return found / total if total else 0.0


def asked_figures(analyzer: Analyzer, question: str) -> set[str]:
    """The figures and years (2 to 4 digits) a question names, as the analyzer reads them
    ("2009-10" -> 2009, 2010), less the day of a date ("at 31 March 2010" -> {"2010"})."""
    return set(_NUMBER_TOKEN_RE.findall(_DAY_OF_MONTH_RE.sub(r"\1", " ".join(analyzer.words(question)))))


def _unit_spans(row: int, index: Index, whole_lists: bool = False) -> list[tuple[int, int]] | None:
    """A passage's answer units as spans of its text: its sentences, or None for the whole
    passage: a table row (its caption says what the figures are), a list when the question asks
    for one (``whole_lists``), or a passage the splitter left whole."""
    kind = KINDS[int(index.passage_kind[row])]
    spans = index.sentences(row)
    return None if kind == "table_row" or (kind == "list" and whole_lists) or not spans else spans


def _units(row: int, index: Index, analyzer: Analyzer, whole_lists: bool = False) -> tuple[list[tuple[int, int]], list[frozenset[str]]]:
    """A passage's answer units (:func:`_unit_spans`) and their terms."""
    spans = _unit_spans(row, index, whole_lists)
    if spans is None:
        text = index.text(row)
        return [(0, len(text))], [frozenset(analyzer.terms(text))]
    return spans, index.sentence_terms(row, analyzer)


SENTENCE_FEATURES = (
    "weight", "weight_share", "coverage", "passage_score", "best_passage", "second_passage",
    "first", "position", "length", "table_row", "list", "figure", "count", "reason", "enumeration",
    "judgement",
)
"""What :func:`sentence_candidates` measures of each sentence (see there)."""


@dataclass
class Candidate:
    """A sentence (or whole table row or list) of one of the best passages that could answer."""

    rank: int  # its passage's rank in the result, from 1
    position: int  # its place among the passage's sentences, from 0
    text: str
    features: dict[str, float]


def sentence_candidates(question: str, query: Query, hits: list[Hit], index: Index, analyzer: Analyzer, evidence_passages: int = 3) -> list[Candidate]:
    """The sentences of the best ``evidence_passages`` passages, each with what
    :class:`AnswerPolicy` scores it by (:data:`SENTENCE_FEATURES`):

    * ``weight``: the question's term weights (query vector, unit length) that the sentence
      contains; ``weight_share``: that over the best candidate's;
    * ``coverage``: idf-weighted share of the question's stems (or their thesaurus equivalents)
      in the sentence;
    * ``passage_score`` (log of the retrieval score), ``best_passage``, ``second_passage``;
    * ``first``: the passage's first sentence; ``position``: 0 (first) .. 1 (last);
    * ``length``: log of its characters; ``table_row``, ``list``: a whole row or list;
    * the kind asked for, 1 when the question asks for it and the sentence has it: ``figure``
      (a number), ``count`` (a figure for what "how many" counts), ``reason`` ("because", "due
      to"), ``enumeration`` ("include: a, b and c"), ``judgement`` (for the lesson of a case:
      "should have", "did not").
    """
    weights = {index.vocabulary[j]: w for j, w in query.weights.items()}
    idfs = _stem_idfs(query, index)
    wants_list = bool(LIST_RE.search(question))
    wants_reason = bool(WHY_RE.search(question))
    wants_lesson = bool(LESSON_RE.search(question))
    out: list[Candidate] = []
    for rank, hit in enumerate(hits[:evidence_passages], start=1):
        text = index.text(hit.row)
        kind = KINDS[int(index.passage_kind[hit.row])]
        if kind == "heading":
            continue
        units, unit_terms = _units(hit.row, index, analyzer, whole_lists=wants_list)
        last = max(1, len(units) - 1)
        for position, ((s, e), terms) in enumerate(zip(units, unit_terms)):
            sentence = text[s:e].strip()
            if not _says_something(sentence):
                continue
            if sentence.endswith(":") and kind == "list":
                sentence = text.strip()  # a list's lead-in answers only together with its items
            unigrams = {t for t in terms if " " not in t}
            features = {
                "weight": sum(w for t, w in weights.items() if t in terms),
                "coverage": _coverage(idfs, query, unigrams),
                "passage_score": math.log(max(hit.score, 1e-6)),
                "best_passage": float(rank == 1),
                "second_passage": float(rank == 2),
                "first": float(position == 0),
                "position": position / last,
                "length": math.log(len(sentence) + 1),
                "table_row": float(kind == "table_row"),
                "list": float(kind == "list"),
                "figure": float(query.wants_number and bool(NUMBER_WORD_RE.search(sentence))),
                "count": float(bool(query.counted) and states_count(analyzer, query, sentence)),
                "reason": float(wants_reason and bool(REASON_RE.search(sentence))),
                "enumeration": float(wants_list and bool(ENUMERATES_RE.search(sentence))),
                "judgement": float(wants_lesson and bool(JUDGEMENT_RE.search(sentence))),
            }
            out.append(Candidate(rank, position, sentence, features))
    best = max((c.features["weight"] for c in out), default=0.0) or 1.0
    for c in out:
        c.features["weight_share"] = c.features["weight"] / best
    return out


def choose_sentences(
    question: str,
    query: Query,
    hits: list[Hit],
    index: Index,
    analyzer: Analyzer,
    policy: AnswerPolicy,
) -> list[dict]:
    """Pick up to ``policy.max_sentences`` sentences that answer, in rank then reading order.

    Each candidate (:func:`sentence_candidates`) that shares a word with the question is scored
    by :meth:`AnswerPolicy.sentence_score`, a model of which sentence holds the answer fitted on
    the evaluation sets (``eval/fit_sentences.py``): it weighs the question's words the sentence
    contains with its passage's rank and score, its place in the passage, and whether it is the
    kind of sentence asked for (a figure for "how many", a reason for "why", an enumeration for
    a list). Asked for a reason or the lesson of a case, the best passage's sentences that give
    one are candidates even when they share no word with the question; asked for a list, so is
    the best passage's enumeration. Sentences scoring more than ``policy.sentence_margin`` below
    the best are left out; each chosen one then brings the neighbour it leans on
    (:func:`_with_neighbours`).
    """
    wants_list = bool(LIST_RE.search(question))
    wants_reason = bool(WHY_RE.search(question))
    candidates: dict[tuple[int, int], tuple[float, int, int, str]] = {}  # (rank, position) -> (score, rank, position, text)
    sentences_of: dict[int, list[str]] = {}  # rank -> the passage's sentences, in reading order
    for rank, hit in enumerate(hits[: policy.evidence_passages], start=1):
        if KINDS[int(index.passage_kind[hit.row])] != "heading":
            text = index.text(hit.row)
            units = _unit_spans(hit.row, index, whole_lists=wants_list) or [(0, len(text))]
            sentences_of[rank] = [text[s:e].strip() for s, e in units]
    all_candidates = sentence_candidates(question, query, hits, index, analyzer, policy.evidence_passages)
    for c in all_candidates:
        if c.features["weight"] > 0:
            candidates[c.rank, c.position] = (policy.sentence_score(c.features), c.rank, c.position, c.text)
    if not candidates:
        return []
    best_score, top, _, _ = max(candidates.values(), key=lambda c: (c[0], -c[1], -c[2]))  # earliest on ties
    cutoff = best_score - policy.sentence_margin
    # The best passage's sentences of the kind asked for are kept, at the lowest score that still
    # makes the answer, even when they share no word with the question:
    # - "What was the lesson from the case of the 17-year-old girl?": the question's words find the
    #   case (its first sentence); the lesson or the reason is said a few sentences on;
    # - "CSPR annual report key themes": the report's name carries most of the question's weight
    #   and picks the sentence announcing the report; the list ("Key themes explored include: a;
    #   b; and c") shares only "key themes".
    cues = []
    if wants_reason or LESSON_RE.search(question):
        cues.append(REASON_RE if wants_reason else JUDGEMENT_RE)
    if wants_list:
        cues.append(ENUMERATES_RE)
    for c in all_candidates if cues else []:
        if c.rank == top and any(cue.search(c.text) for cue in cues):
            floor = (cutoff, top, c.position, c.text)
            candidates[top, c.position] = max(candidates.get((top, c.position), floor), floor, key=lambda x: x[0])
    # Best first; equal scores in rank then reading order.
    ranked = sorted(candidates.values(), key=lambda c: (-c[0], c[1], c[2]))
    chosen: list[tuple[float, int, int, str]] = []
    chosen_stems: list[set[str]] = []
    length = 0
    for cand in ranked:
        if len(chosen) >= policy.max_sentences or cand[0] < cutoff:
            break
        # Reports repeat their findings (summary, body, annex): a sentence whose words and
        # figures a chosen one already has says nothing new ("Of the 194 children, 90 died."
        # after "Of the 194 children who were the subject of the serious case reviews, 90 died.").
        said = set(analyzer.stems(cand[3]))
        if any(cand[3] in c[3] or c[3] in cand[3] or said <= stems for c, stems in zip(chosen, chosen_stems)):
            continue
        if chosen and length + len(cand[3]) > policy.max_chars:
            continue
        chosen.append(cand)
        chosen_stems.append(said)
        length += len(cand[3])
    if policy.join_neighbours:
        chosen = _with_neighbours(chosen, sentences_of, policy.max_chars)
    # Reading order, except that a "how many X" answer leads with the sentence giving a figure
    # for X; the others follow as context. A sentence the figure's sentence refers back to ("Nine
    # of the looked after children died." before "Of these, three committed suicide; ...") leads
    # with it.
    counts = {(c[1], c[2]): bool(query.counted) and states_count(analyzer, query, c[3]) for c in chosen}
    texts = {(c[1], c[2]): c[3] for c in chosen}

    def leads(c: tuple[float, int, int, str]) -> bool:
        after = (c[1], c[2] + 1)
        return counts[c[1], c[2]] or (after in counts and counts[after] and bool(_REFERS_BACK_RE.match(texts[after])))

    chosen.sort(key=lambda c: (not leads(c), c[1], c[2]))
    return [{"text": text, "citations": [c[1]]} for c, text in zip(chosen, _without_repeated_captions([c[3] for c in chosen]))]


def _says_something(sentence: str) -> bool:
    """False for a paragraph number the sentence splitter cut off ("49.") and similar scraps."""
    return sum(c.isalpha() for c in sentence) >= 3


def _without_repeated_captions(texts: list[str]) -> list[str]:
    """Table rows carry their caption ("Table 1: Cause of death ... — Suicide 11") so that each
    is understandable on its own; in one answer the caption is said once, by the first row."""
    out, said = [], set()
    for text in texts:
        caption, sep, row = text.partition(TABLE_ROW_SEPARATOR)
        if sep and caption in said:
            text = row
        elif sep:
            said.add(caption)
        out.append(text)
    return out


_REFERS_BACK_RE = re.compile(
    r"^(?:\d+\.\s+)?(?:This|These|That|Those|It|They|He|She|His|Her|Their|Such|In this case|In these cases|"
    r"As a result|Consequently|However|But|The lesson|The review|The reason|"
    r"Of (?:these|those|them)|Among (?:these|those|them)|Each of (?:these|those|them)|"
    r"All of (?:these|those|them)|None of (?:these|those|them)|Neither)\b"
)


_ANNOUNCES_RE = re.compile(
    r":\s*$"
    r"|\b(?:a number of|several|various|(?:two|three|four|five|six|seven|\d+)(?: main| key| common| broad)?)\s+"
    r"(?:reasons|factors|themes|messages|lessons|issues|areas|ways|elements|points|findings)\b[^.;:]{0,60}\.?\s*$"
    r"|\b(?:an? (?:\w+ )?explanation of|the following|as follows)\b",
    re.I,
)
"""A sentence that announces what the next one says: "... was limited by a number of factors.",
"There were four main reasons for delay ...", "One review gave a revealing explanation of why ..."."""


def _with_neighbours(chosen: list[tuple[float, int, int, str]], sentences_of: dict[int, list[str]], max_chars: int) -> list[tuple[float, int, int, str]]:
    """Add to each chosen sentence, best first, the neighbour it leans on or that leans on it.

    Extracted sentences are often stranded halves. When a match refers back ("This lack of
    action was a key finding from a case review about twins ...") the sentence before it says
    what "this" is; when it announces what follows ("... was limited by a number of factors.",
    "... for two main reasons:") or the next sentence refers back ("Consequently, ..."), the next
    one completes it. Within ``max_chars``, weaker sentences make room for a stronger one's
    neighbour: half of a good answer is worth less than the whole of it.
    """
    out = list(chosen)  # best first
    for anchor in chosen:
        if anchor not in out:
            continue  # dropped to make room for a stronger sentence's neighbour
        _, rank, position, text = anchor
        sentences = sentences_of.get(rank, [])
        if not sentences or position >= len(sentences) or sentences[position] != text:
            continue  # a whole list or table row: nothing to join
        extra = []
        if _REFERS_BACK_RE.match(text) and position > 0:
            extra.append(position - 1)
        if position + 1 < len(sentences) and (_REFERS_BACK_RE.match(sentences[position + 1]) or _ANNOUNCES_RE.search(text)):
            extra.append(position + 1)
        for pos in extra:
            sentence = sentences[pos]
            if any(c[1:3] == (rank, pos) for c in out) or not _says_something(sentence):
                continue
            weaker = [c for c in out[out.index(anchor) + 1 :] if c[0] < anchor[0]]
            length = sum(len(c[3]) for c in out)
            if length - sum(len(c[3]) for c in weaker) + len(sentence) > max_chars:
                continue
            while length + len(sentence) > max_chars:
                dropped = weaker.pop()
                out.remove(dropped)
                length -= len(dropped[3])
            out.insert(out.index(anchor) + 1, (anchor[0], rank, pos, sentence))
    return out


def _scopes(sentences: list[dict], passages: list[dict], index: Index) -> dict[int, str]:
    """What each cited passage is about beyond its own words, by rank: its text, section, and its
    report's catalogue entry (:func:`qa.index.catalogue_text`: a "2009-10" question is answered
    by the 2009-10 report)."""
    cited = {c for s in sentences for c in s["citations"]}
    return {
        p["rank"]: " ".join([p["text"], p.get("section") or "", catalogue_text(index.documents[index.doc_position[p["doc_id"]]])])
        for p in passages
        if p["rank"] in cited
    }


def answers_the_type(query: Query, sentences: list[dict], analyzer: Analyzer, scopes: dict[int, str] | None = None) -> bool:
    """Whether the chosen sentences are the kind of thing the question asks for.

    A "how many X" question needs a sentence that states a figure for X ("147 serious case
    reviews"); a question about a figure or percentage needs a sentence with a figure. Passages on
    the right topic that lack the figure are where near-miss questions ("how many recommendations
    did the Munro review make?") would otherwise get a confident wrong answer. ``scopes``: what
    each cited passage is about, by rank (see :func:`_scopes`).
    """
    scopes = scopes or {}
    # How to do something, or whom to call ("where can I find the local threshold document?"):
    # the reports review what happened; a passage on thresholds is not the document. It is also
    # a signal of the refusal model, but too rare there (16 of 1,179 development questions, all
    # out of scope but one, which is refused anyway) to outweigh strong word overlap.
    if query.asks_procedure:
        return False
    texts = [s["text"] for s in sentences]
    joined = " ".join(texts)
    # A year the question asks about ("in 2011-12") must be in the answer or in what its passages
    # are about (their report's title, notes, date): a passage about another period is not an
    # answer, however well it matches otherwise.
    years = set(years_in(analyzer.words(query.text)))

    def in_period(sentence: dict) -> bool:
        """The sentence's figure is about the asked years: they are in it or in its passage's scope
        (a 2009-10 figure next to a 2023 sentence from another report does not answer "in 2023")."""
        where = " ".join([sentence["text"]] + [scopes.get(c, "") for c in sentence["citations"]])
        return years <= set(years_in(analyzer.words(where)))

    if years and not years <= set(years_in(analyzer.words(joined + " " + " ".join(scopes.values())))):
        return False
    # A day the question names ("at 31 March 2010") must be said by the answer itself: a national
    # snapshot on that day is not answered by a count from the reviews of a year that ends then
    # (the 2009-10 report's catalogue entry has the date; its paragraph counting plans does not).
    if not dates_said(query.text, joined):
        return False
    if query.asks_who and not _new_names(query.text, joined):
        return False
    # A quoted name ("what did Ofsted's 'What about the children?' report find ...") is what the
    # question is about: an answer from passages that never say it is about something else.
    if query.phrases and not says_phrase(analyzer, joined + " " + " ".join(scopes.values()), query.phrases):
        return False
    nations = _nations(analyzer, query.text)

    def in_place(sentence: dict) -> bool:
        """The sentence's figure is about the asked nation, or about no nation in particular: "in
        England recorded ... 33,760 assessments" does not answer "how many in Wales?"."""
        said = _nations(analyzer, sentence["text"])
        return not said or nations <= said

    if query.counted:
        # "How many reviews involved dogs": no report counts what it never mentions. Only a thing
        # can be counted: "how many actually died" does not count "actually".
        unknown_things = {s for w in query.unknown_words if analyzer.noun_share(w) > 0 for s in analyzer.stems(w)}
        if query.counted & unknown_things:
            return False
        return any(states_count(analyzer, query, s["text"], captions=True) and in_period(s) and in_place(s) for s in sentences)
    if query.wants_number:
        return any(NUMBER_WORD_RE.search(s["text"]) and in_period(s) and in_place(s) for s in sentences)
    return True


# The title of another publication, in quotes just after the word that names it: "This report
# follows an Ofsted report published in 2022 ‘How local authorities plan for sufficiency of
# accommodation ...’". Quoted speech ("The review concluded: ‘...’") is not a title.
TITLE_RE = re.compile(
    r"\b(?:reports?|published|publishes|publication|guidance|briefings?|entitled|titled|called|papers?|study|survey|factsheets?)\b"
    r"[^\u2018\u201c\".;:]{0,40}?[\u2018\u201c\"]([A-Z][^\u2019\u201d\"]{15,}?)[\u2019\u201d\"]"
)
# Asking about the title itself ("what was the 2022 report called?") is answered by the title.
ABOUT_TITLE_RE = re.compile(r"\b(?:titled?|called|named?|name of|published|which report)\b", re.I)
TITLE_ONLY_SHARE = 0.5
"""Share of the question's words (idf-weighted, among those the answer has) that, if the answer
has them only inside another publication's title, make the question one about that publication."""


def names_only_another_publication(query: Query, sentences: list[dict], analyzer: Analyzer, index: Index) -> bool:
    """Whether the answer has the question's distinctive words only in the title of another
    publication that it names: the question is about that publication ("what did Ofsted's 2022
    sufficiency report find?"), and the reports only cite it, they do not say what it found."""
    joined = " ".join(s["text"] for s in sentences)
    titles = [m.group(1) for m in TITLE_RE.finditer(joined)]
    if not titles or ABOUT_TITLE_RE.search(query.text):
        return False
    inside = set(analyzer.stems(" ".join(titles)))
    outside = set(analyzer.stems(TITLE_RE.sub(" ", joined)))
    idfs = _stem_idfs(query, index)
    present = {s: idf for s, idf in idfs.items() if s in inside or s in outside}
    only_in_titles = sum(idf for s, idf in present.items() if s not in outside)
    return bool(present) and only_in_titles >= TITLE_ONLY_SHARE * sum(present.values())


NATIONS = ("england", "wales", "scotland", "northern ireland")


def _nations(analyzer: Analyzer, text: str) -> set[str]:
    """The UK nations ``text`` names."""
    return {n for n in NATIONS if says_phrase(analyzer, text, [tuple(n.split())])}


DATE_RE = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(january|february|march|april|may|june|july|august|september|october|november|december)\s+(\d{4})\b",
    re.I,
)


def dates_said(question: str, text: str) -> bool:
    """Whether every full date in ``question`` ("31 March 2010", "31st march 2010") is in ``text``."""
    said = {(int(d), m.lower(), y) for d, m, y in DATE_RE.findall(text)}
    return all((int(d), m.lower(), y) in said for d, m, y in DATE_RE.findall(question))


_NAME_RE = re.compile(r"\b([A-Z][a-z’']+(?:\s+(?:of\s+)?[A-Z][a-z’']+)+)")  # two or more capitalised words


def _new_names(question: str, answer: str) -> bool:
    """Whether the answer names someone or something (capitalised words mid-sentence) that the
    question did not already name: what a "who" question needs."""
    asked = set(re.findall(r"[a-z’']+", question.lower())) | {"the", "of", "a"}
    return any(not set(name.lower().split()) <= asked for name in _NAME_RE.findall(answer))


HIGHLIGHT_MAX_DF = 0.1
"""Words in more than this share of passages ("review" in a corpus of reviews) are not highlighted:
marking them everywhere hides the words that matter."""


def highlight_stems(query: Query, index: Index) -> frozenset[str]:
    """Stems worth highlighting in a passage: the question's own words (typos corrected) and
    their thesaurus equivalents ("mums" highlights "mothers"), less the very common ones."""
    own = {t for t in query.terms if " " not in t}
    for stem in list(own):
        own |= query.equivalents.get(stem, set())
    limit = HIGHLIGHT_MAX_DF * index.n_passages

    def common(stem: str) -> bool:
        j = index.term_id(stem)
        return j >= 0 and index.df[j] > limit

    return frozenset(s for s in own if not common(s))


def compose(
    question: str,
    query: Query,
    hits: list[Hit],
    index: Index,
    analyzer: Analyzer,
    top_k: int,
    policy: AnswerPolicy | None = None,
) -> dict:
    """The result object: question, answer (or None), status, sentences, cited passages, and
    ``search``: ``{"corrected": {typed: read as}, "not_in_reports": [words no report uses],
    "needs_earlier_question": the question reads as a follow-up but the conversation has none}``."""
    policy = policy or AnswerPolicy()
    wanted = highlight_stems(query, index)
    passages = []
    for rank, hit in enumerate(hits[:top_k], start=1):
        passage = index.passage(hit.row)
        spans = [[s, e] for s, e, stems in index.word_stems(hit.row, analyzer) if stems & wanted]
        passages.append({"rank": rank, **passage, "score": round(hit.score, 4), "highlights": spans})
    signals = evidence_signals(query, hits, index, analyzer, policy.evidence_passages)
    confidence = policy.confidence(signals) if hits else 0.0
    sentences: list[dict] = []
    # A follow-up with no conversation to follow ("and the year before?") has nothing to answer
    # about: retrieval still shows where it looked, but any answer would be a guess.
    if hits and confidence >= policy.min_confidence and not query.needs_history:
        sentences = [s for s in choose_sentences(question, query, hits, index, analyzer, policy) if s["citations"][0] <= len(passages)]
        if policy.check_answer_type and (
            not answers_the_type(query, sentences, analyzer, _scopes(sentences, passages, index))
            or names_only_another_publication(query, sentences, analyzer, index)
        ):
            sentences = []
    answer = " ".join(f"{s['text']} [{s['citations'][0]}]" for s in sentences) or None
    return {
        "question": question,
        "answer": answer,
        "status": "answered" if answer else "not_found",
        "sentences": sentences,
        "passages": passages,
        # What was searched for: typos corrected, and the words no report uses (so a user can see
        # why a question about "Leeds" is not found, or that "fahters" was read as "fathers").
        "search": {
            "corrected": dict(query.corrections),
            "not_in_reports": list(query.unknown_words),
            "needs_earlier_question": query.needs_history,
        },
        "evidence": {"confidence": round(confidence, 4), **{k: round(v, 4) for k, v in signals.items()}},
    }
