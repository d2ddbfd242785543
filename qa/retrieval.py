"""Question (+ earlier questions) -> ranked passages.

Scoring is cosine similarity between the question's TF-IDF vector and each passage's, computed
term-major: only the posting lists of the question's own terms are read (no pass over all
passages, no Python loop over the vocabulary), so latency grows with the question, not the corpus.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from qa.analysis import Analyzer
from qa.index import Index

HISTORY_WEIGHT = 0.35
"""Weight of an earlier question's terms relative to the current question's (follow-ups)."""


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
    """The analysed question: term columns with weights, and which terms it had."""

    weights: dict[int, float] = field(default_factory=dict)
    terms: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # question stems absent from the corpus

    @property
    def empty(self) -> bool:
        return not self.weights


@dataclass(frozen=True)
class Hit:
    row: int
    score: float


class Retriever:
    """Ranks an index's passages for a question."""

    def __init__(self, index: Index, analyzer: Analyzer | None = None) -> None:
        self.index = index
        self.analyzer = analyzer or Analyzer()

    def analyse(self, question: str, history: list[str] | tuple[str, ...] = ()) -> Query:
        """Weighted query terms: sublinear tf x idf, earlier questions down-weighted, L2-normalised."""
        query = Query()
        raw: dict[int, float] = {}
        sources = [(question, 1.0)] + [(h, HISTORY_WEIGHT) for h in list(history)[-3:]]
        for text, weight in sources:
            terms = self.analyzer.terms(text)
            if weight == 1.0:
                query.terms = terms
            for term, count in Counter(terms).items():
                j = self.index.term_id(term)
                if j < 0:
                    if weight == 1.0 and " " not in term:
                        query.unknown.append(term)
                    continue
                value = weight * (1 + np.log(count)) * float(self.index.idf[j])
                raw[j] = max(raw.get(j, 0.0), value)
        norm = float(np.sqrt(sum(v * v for v in raw.values()))) or 1.0
        query.weights = {j: v / norm for j, v in raw.items()}
        return query

    def scores(self, query: Query) -> np.ndarray:
        """Cosine score of every passage, shape ``(n_passages,)``, float32; zero where no term matches."""
        n = self.index.n_passages
        if query.empty:
            return np.zeros(n, dtype=np.float32)
        rows, weights = [], []
        for j, w in query.weights.items():
            r, d = self.index.column(j)
            rows.append(r)
            weights.append(d * np.float32(w))
        return np.bincount(np.concatenate(rows), weights=np.concatenate(weights), minlength=n).astype(np.float32)

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
        scores = self.scores(query)
        mask = self.mask(filters)
        if mask is not None:
            scores = np.where(mask, scores, 0)
        return query, top_hits(scores, top_k)


def top_hits(scores: np.ndarray, k: int) -> list[Hit]:
    """The ``k`` highest positive scores, best first (ties broken by reading order)."""
    positive = np.flatnonzero(scores > 0)
    if positive.size == 0:
        return []
    if positive.size > k:
        part = np.argpartition(-scores[positive], k - 1)[:k]
        positive = positive[part]
    order = np.lexsort((positive, -scores[positive]))
    return [Hit(int(positive[i]), float(scores[positive[i]])) for i in order]
