"""Ranked passages -> an extractive answer with citations, or an honest refusal.

The answer is made only of sentences copied from the cited passages; each is followed by ``[n]``,
the rank of its passage in the result. When the evidence is weak (low similarity, or the
passages cover too little of what the question asks about), the result says "not found in these
reports" instead and lists the passages it looked at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.analysis import Analyzer
from qa.index import Index
from qa.retrieval import Hit, Query

QUANTITY_RE = re.compile(r"\b(how many|how much|number of|numbers|percentage|percent|proportion|what share|how often|figure|count|total)\b|%", re.I)
LIST_RE = re.compile(r"\b(what (were|are) the|list|which|main|reasons|messages|findings|lessons|themes|ways|factors|key)\b", re.I)
NUMBER_WORD_RE = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|sixty|hundred|half|third|quarter|majority|most)\b", re.I)


@dataclass(frozen=True)
class AnswerPolicy:
    """When to answer and how much to say.

    ``min_score``: cosine similarity of the best passage below which the engine refuses.
    ``min_coverage``: share (0..1, idf-weighted) of the question's informative terms that must
    occur in the best passages. Both were calibrated on ``eval/questions.jsonl`` (see docs/quality.md).
    """

    min_score: float = 0.12
    min_coverage: float = 0.5
    max_sentences: int = 3
    max_chars: int = 700
    evidence_passages: int = 3


def coverage(query: Query, index: Index, analyzer: Analyzer, rows: list[int]) -> float:
    """Idf-weighted share of the question's unigram stems that appear in ``rows``' texts.

    Stems that occur nowhere in the corpus count with the highest idf: a question about
    something the reports never mention ("capital of France") is mostly not covered.
    """
    stems = [t for t in dict.fromkeys(query.terms) if " " not in t]
    if not stems:
        return 0.0
    present: set[str] = set()
    for row in rows:
        present.update(analyzer.stems(index.text(row)))
    max_idf = float(index.idf.max()) if len(index.idf) else 1.0
    total = covered = 0.0
    for stem in stems:
        j = index.term_id(stem)
        weight = float(index.idf[j]) if j >= 0 else max_idf
        total += weight
        if stem in present:
            covered += weight
    return covered / total if total else 0.0


def _sentence_terms(analyzer: Analyzer, text: str) -> set[str]:
    return set(analyzer.terms(text))


def choose_sentences(
    question: str,
    query: Query,
    hits: list[Hit],
    index: Index,
    analyzer: Analyzer,
    policy: AnswerPolicy,
) -> list[dict]:
    """Pick up to ``policy.max_sentences`` sentences that answer, in rank then reading order."""
    weights = {index.vocabulary[j]: w for j, w in query.weights.items()}
    wants_number = bool(QUANTITY_RE.search(question))
    wants_list = bool(LIST_RE.search(question))
    candidates: list[tuple[float, int, int, str]] = []  # (score, rank, position, text)
    for rank, hit in enumerate(hits[: policy.evidence_passages], start=1):
        text = index.text(hit.row)
        kind = index.passage(hit.row)["kind"]
        if kind == "heading":
            continue
        if kind in ("table_row", "list") and (kind == "table_row" or wants_list):
            units = [(0, len(text))]
        else:
            units = index.sentences(hit.row) or [(0, len(text))]
        for position, (s, e) in enumerate(units):
            sentence = text[s:e].strip()
            if len(sentence) < 3:
                continue
            terms = _sentence_terms(analyzer, sentence)
            score = sum(w for t, w in weights.items() if t in terms)
            if wants_number and NUMBER_WORD_RE.search(sentence):
                score *= 1.3
            if sentence.endswith(":") and kind == "list":
                # A list's lead-in answers only together with its items.
                sentence = text.strip()
            score *= hit.score ** 0.5  # sentences from stronger passages first
            if score > 0:
                candidates.append((score, rank, position, sentence))
    if not candidates:
        return []
    candidates.sort(key=lambda c: -c[0])
    best = candidates[0][0]
    chosen: list[tuple[float, int, int, str]] = []
    length = 0
    for cand in candidates:
        if len(chosen) >= policy.max_sentences or cand[0] < 0.5 * best:
            break
        if any(cand[3] in c[3] or c[3] in cand[3] for c in chosen):
            continue
        if chosen and length + len(cand[3]) > policy.max_chars:
            continue
        chosen.append(cand)
        length += len(cand[3])
    chosen.sort(key=lambda c: (c[1], c[2]))
    return [{"text": c[3], "citations": [c[1]]} for c in chosen]


def compose(
    question: str,
    query: Query,
    hits: list[Hit],
    index: Index,
    analyzer: Analyzer,
    top_k: int,
    policy: AnswerPolicy | None = None,
) -> dict:
    """The result object: question, answer (or None), status, sentences and cited passages."""
    policy = policy or AnswerPolicy()
    passages = []
    for rank, hit in enumerate(hits[:top_k], start=1):
        passage = index.passage(hit.row)
        passages.append({"rank": rank, **passage, "score": round(hit.score, 4)})
    evidence_rows = [h.row for h in hits[: policy.evidence_passages]]
    cover = coverage(query, index, analyzer, evidence_rows) if hits else 0.0
    best = hits[0].score if hits else 0.0
    sentences: list[dict] = []
    if hits and best >= policy.min_score and cover >= policy.min_coverage:
        sentences = [s for s in choose_sentences(question, query, hits, index, analyzer, policy) if s["citations"][0] <= len(passages)]
    answer = " ".join(f"{s['text']} [{s['citations'][0]}]" for s in sentences) or None
    return {
        "question": question,
        "answer": answer,
        "status": "answered" if answer else "not_found",
        "sentences": sentences,
        "passages": passages,
        "evidence": {"best_score": round(best, 4), "coverage": round(cover, 4)},
    }
