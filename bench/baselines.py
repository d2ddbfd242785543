"""The yardsticks our engine is measured against, on the same passage texts.

- ``bm25s``: the peer library (numpy backend, English stop words, no stemmer), top-10 per query.
- the inverted-index *floor*: sklearn's TfidfVectorizer (English stop words, unigrams, l2-normalised
  rows, float32) over the passages, the matrix stored
  term-major (CSC); a query adds its terms' columns (weighted by the query's tf-idf) into a dense
  score vector and takes the top 10 by ``argpartition``. Nothing is touched but the query's posting
  lists (plus one pass over the score vector), so this is about as fast as TF-IDF retrieval gets in numpy.
- the *naive* product: the same matrix doc-major (CSR), ``X @ q.T`` per query, for reference.

Every timing is one call of the function that answers one question, query tokenization included.
"""

from __future__ import annotations

import gc
import time
from typing import Callable

import numpy as np

from bench.stats import latency_summary

TOP = 10


def top_k(scores: np.ndarray, k: int = TOP) -> np.ndarray:
    # argpartition(-scores, k - 1), not argpartition(scores, n - k): with most scores 0 (passages
    # sharing no query term) numpy's introselect is ~20x slower on the latter (3-6 ms at 150k)
    k = min(k, len(scores))
    neg = -scores
    idx = np.argpartition(neg, k - 1)[:k]
    return idx[np.argsort(neg[idx], kind="stable")]


def time_queries(fn: Callable[[str], object], questions: list[str], repeat: int = 1,
                 warmup: int = 20) -> tuple[dict, list]:
    """Latency summary (ms) of fn over the questions, after a warm-up; returns (summary, last results)."""
    for q in questions[:warmup]:
        fn(q)
    samples = []
    results = []
    for r in range(repeat):
        for q in questions:
            t0 = time.perf_counter()
            res = fn(q)
            samples.append(time.perf_counter() - t0)
            if r == repeat - 1:
                results.append(res)
    return latency_summary(samples), results


# -- bm25s ---------------------------------------------------------------------------------------
def bench_bm25s(texts: list[str], questions: list[str], repeat: int = 1) -> tuple[dict, list]:
    import bm25s

    gc.collect()
    t0 = time.perf_counter()
    tokens = bm25s.tokenize(texts, stopwords="en", show_progress=False)
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    build = time.perf_counter() - t0
    vocab = len(tokens.vocab)
    del tokens

    def query(q: str):
        qt = bm25s.tokenize(q, stopwords="en", show_progress=False)
        try:
            docs, _scores = retriever.retrieve(qt, k=TOP, show_progress=False, n_threads=0)
        except ValueError:  # no query term in the vocabulary
            return []
        return docs[0].tolist()

    lat, results = time_queries(query, questions, repeat)
    out = {"build_s": round(build, 3), "vocabulary": vocab, "query_ms": lat}
    del retriever
    gc.collect()
    return out, results


# -- the inverted-index floor and the naive product ------------------------------------------
class TfidfFloor:
    def __init__(self, texts: list[str]):
        from sklearn.feature_extraction.text import TfidfVectorizer

        t0 = time.perf_counter()
        self.vec = TfidfVectorizer(dtype=np.float32, stop_words="english")
        self.csr = self.vec.fit_transform(texts).tocsr()
        self.fit_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        csc = self.csr.tocsc()
        csc.sort_indices()
        self.indptr, self.indices, self.data = csc.indptr, csc.indices, csc.data
        self.csc_s = time.perf_counter() - t1
        self.n = self.csr.shape[0]
        self.vocab = self.vec.vocabulary_
        self.idf = self.vec.idf_.astype(np.float32)
        self.analyzer = self.vec.build_analyzer()

    def floor(self, q: str) -> list[int]:
        counts: dict[int, int] = {}
        for t in self.analyzer(q):
            j = self.vocab.get(t)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            return []
        scores = np.zeros(self.n, np.float32)
        indptr, indices, data, idf = self.indptr, self.indices, self.data, self.idf
        for j, c in counts.items():
            a, b = indptr[j], indptr[j + 1]
            scores[indices[a:b]] += data[a:b] * (c * idf[j])  # rows within a column are unique
        return top_k(scores).tolist()

    def naive(self, q: str) -> list[int]:
        qv = self.vec.transform([q])
        scores = (self.csr @ qv.T).toarray().ravel()
        return top_k(scores).tolist()


def bench_tfidf(texts: list[str], questions: list[str], repeat: int = 1) -> tuple[dict, dict, list, list]:
    gc.collect()
    f = TfidfFloor(texts)
    floor_lat, floor_res = time_queries(f.floor, questions, repeat)
    naive_lat, naive_res = time_queries(f.naive, questions, repeat)
    # the two must rank alike (same scores up to rounding): a check that the floor is right
    agree = np.mean([len(set(a) & set(b)) / max(1, len(b)) for a, b in zip(floor_res, naive_res)])
    floor = {"build_s": round(f.fit_s + f.csc_s, 3), "fit_s": round(f.fit_s, 3), "csc_s": round(f.csc_s, 3),
             "vocabulary": len(f.vocab), "nnz": int(f.csr.nnz), "query_ms": floor_lat,
             "top10_agreement_with_naive": round(float(agree), 3)}
    naive = {"build_s": round(f.fit_s, 3), "query_ms": naive_lat}
    del f
    gc.collect()
    return floor, naive, floor_res, naive_res
