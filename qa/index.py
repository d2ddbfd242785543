"""Passages -> a saved TF-IDF index; load it, check it is current, rebuild it when it is not.

The index is one file (see :mod:`qa.store`) holding:

* ``X``: the passage-term TF-IDF matrix in CSC form (term-major), so a question touches only the
  posting lists of its own terms; shape ``(n_passages, n_terms)``, float32, rows L2-normalised;
* the vocabulary (sorted, looked up by binary search), idf weights and document frequencies;
* every passage's text, anchor, section, paragraph, page, kind and source offsets;
* each passage's sentence spans (for answer sentences) and the documents' metadata;
* the corpus fingerprint it was built from and the analyzer/format versions.

:func:`ensure_index` is what callers use: it loads the index if it matches the corpus, and
otherwise rebuilds it (atomically, under a lock, so concurrent workers build it once).
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import re
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from qa.analysis import ANALYZER_VERSION, Analyzer, fold
from qa.documents import Document, corpus_fingerprint, load_corpus
from qa.passages import CHUNKER_VERSION, Passage, build_passages
from qa.sentences import SentenceSplitter, params_from_json, params_to_json, train_punkt
from qa.store import Store, StoreError, StringTable, write_store

log = logging.getLogger(__name__)

FORMAT_VERSION = 7
"""Bump when what an index holds changes (7: the catalogue's words are in the vocabulary)."""
KINDS = ("paragraph", "list", "heading", "caption", "table_row", "table_note", "footnote")
MIN_BIGRAM_DF = 2
"""Bigrams that occur in fewer passages than this are left out of the index."""
SECTION_WEIGHT = 1
"""How many times a passage's section heading is added to its indexed text."""


class IndexError_(Exception):
    """The index cannot be built or loaded."""


@dataclass(frozen=True)
class BuildStats:
    documents: int
    passages: int
    terms: int
    seconds: float


def default_index_path() -> Path:
    """The index lives in the user's cache, outside the source tree."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "safeguarding-qa" / "index.qaidx"


# --------------------------------------------------------------------------------------------
# Building


def indexed_text(passage: Passage) -> str:
    """What the index sees of a passage: its text plus its section heading.

    The heading ("Ensuring necessary action takes place") names the topic that the paragraph's
    own words often leave implicit.
    """
    parts = [passage.text]
    if passage.section and passage.kind != "table_row":
        parts.extend([passage.section] * SECTION_WEIGHT)
    return "\n".join(parts)


def build_index(
    corpus_dir: Path,
    index_path: Path,
    analyzer: Analyzer | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BuildStats:
    """Read the corpus, cut passages, fit TF-IDF and write the index file atomically.

    ``progress(done, total)`` is called as documents are cut into passages.
    """
    started = time.perf_counter()
    analyzer = analyzer or Analyzer()
    fingerprint = corpus_fingerprint(corpus_dir)
    documents = load_corpus(corpus_dir)
    params = train_punkt([d.text for d in documents])
    splitter = SentenceSplitter(params)
    passages: list[Passage] = []
    doc_of: list[int] = []
    for i, document in enumerate(documents):
        cut = build_passages(document, splitter)
        passages.extend(cut)
        doc_of.extend([i] * len(cut))
        if progress:
            progress(i + 1, len(documents))
    if not passages:
        raise IndexError_(f"The reports in {corpus_dir} produced no passages; are they empty?")

    texts = [indexed_text(p) for p in passages]
    counter = CountVectorizer(analyzer=analyzer.terms, dtype=np.float32)
    # The catalogue's words join the vocabulary though no passage uses them: "the research page"
    # or "the press release" name a report, not a topic the reports lack. Only passages count
    # for df, so a word only the catalogue uses has no passages and the highest idf.
    counter.fit(texts + [catalogue_text(d.metadata()) for d in documents])
    tf = counter.transform(texts).tocsr()
    vocabulary = list(counter.get_feature_names_out())
    n = tf.shape[0]
    df = np.bincount(tf.indices, minlength=tf.shape[1]).astype(np.int32)
    # A bigram seen in one passage only is noise for ranking and, on a large corpus, most of the
    # vocabulary: keep bigrams that recur.
    keep = np.flatnonzero(np.asarray([" " not in t for t in vocabulary]) | (df >= MIN_BIGRAM_DF))
    if keep.size < len(vocabulary):
        tf = tf[:, keep]
        df = df[keep]
        vocabulary = [vocabulary[i] for i in keep]
    idf = (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)
    X = _tfidf(tf, idf)
    # Rows keep their raw tf-idf weights; retrieval divides by a length norm at query time, so
    # the length normalisation (cosine or pivoted) is a query-time setting, not baked in.
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel()).astype(np.float32)
    X = X.tocsc()
    X.sort_indices()
    titles = _tfidf(counter.transform([catalogue_text(d.metadata(), TITLE_FIELDS) for d in documents]).tocsr()[:, keep], idf)
    title_norms = np.sqrt(np.asarray(titles.multiply(titles).sum(axis=1)).ravel())
    titles = (sp.diags(1 / np.maximum(title_norms, 1e-9)) @ titles).astype(np.float32).tocsc()

    arrays = _passage_arrays(passages, doc_of)
    vocab_blob, vocab_offsets = StringTable.pack(vocabulary)
    arrays.update(
        X_data=X.data.astype(np.float32),
        X_indices=X.indices.astype(np.int32),
        X_indptr=X.indptr.astype(np.int64),
        p_norm=norms,
        p_numbers=np.asarray([len(_NUMBER_RE.findall(p.text)) for p in passages], dtype=np.int16),
        T_data=titles.data,
        T_indices=titles.indices.astype(np.int32),
        T_indptr=titles.indptr.astype(np.int64),
        idf=idf,
        df=df,
        vocab_blob=vocab_blob,
        vocab_offsets=vocab_offsets,
    )
    arrays.update(_spelling_arrays(documents, analyzer))
    header = {
        "format_version": FORMAT_VERSION,
        "analyzer_version": ANALYZER_VERSION,
        "chunker_version": CHUNKER_VERSION,
        "fingerprint": fingerprint,
        "corpus_dir": str(Path(corpus_dir).resolve()),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "n_passages": n,
        "n_terms": len(vocabulary),
        "mean_norm": float(norms.mean()),
        "documents": [d.metadata() for d in documents],
        "punkt": params_to_json(params),
    }
    write_store(index_path, arrays, header)
    return BuildStats(len(documents), n, len(vocabulary), time.perf_counter() - started)


_NUMBER_RE = re.compile(r"\b\d[\d,.]*%?")
_PLAIN_WORD_RE = re.compile(r"\b[a-z]{3,}\b")
_WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def _tfidf(tf: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear term frequency times idf."""
    tf = tf.astype(np.float32, copy=True)
    tf.data = 1 + np.log(tf.data)
    return (tf @ sp.diags(idf)).tocsr().astype(np.float32)


TITLE_FIELDS = ("title", "kind", "publisher", "notes")
"""The catalogue fields that say what a report is and is about, matched against questions as its
title (``RetrievalConfig.title_weight``)."""
CATALOGUE_FIELDS = TITLE_FIELDS + ("date",)
"""Those and the date: the words a passage is read with (:meth:`Index.document_stems`). The date
is not matched as a title: "2010" in a question would favour every passage of a 2010 report."""


def catalogue_text(metadata: dict, fields: tuple[str, ...] = CATALOGUE_FIELDS) -> str:
    """What a report is and is about, in its cataloguer's words (by default title, kind such as
    "press release", publisher, notes and date), from a document's metadata dict."""
    return " ".join(str(metadata.get(k) or "") for k in fields).strip()


def _spelling_arrays(documents: list[Document], analyzer: Analyzer) -> dict[str, np.ndarray]:
    """The corpus' own words and their character trigrams, for correcting typos in questions."""
    counts: Counter[str] = Counter()
    for document in documents:
        counts.update(_PLAIN_WORD_RE.findall(fold(document.text)))
    words = sorted(counts)
    trigrams = CountVectorizer(analyzer="char_wb", ngram_range=(3, 3), binary=True, dtype=np.float32)
    W = trigrams.fit_transform(words).tocsc() if words else sp.csc_matrix((0, 0), dtype=np.float32)
    blob, offsets = StringTable.pack(words)
    grams = list(trigrams.get_feature_names_out()) if words else []
    gram_blob, gram_offsets = StringTable.pack(grams)
    return {
        "w_blob": blob,
        "w_offsets": offsets,
        "w_count": np.asarray([counts[w] for w in words], dtype=np.int32),
        "g_blob": gram_blob,
        "g_offsets": gram_offsets,
        "W_indices": W.indices.astype(np.int32),
        "W_indptr": W.indptr.astype(np.int64),
    }


def _passage_arrays(passages: list[Passage], doc_of: list[int]) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    for name in ("text", "anchor", "section", "paragraph", "parent"):
        blob, offsets = StringTable.pack([getattr(p, name) or "" for p in passages])
        arrays[f"p_{name}_blob"], arrays[f"p_{name}_offsets"] = blob, offsets
    arrays["p_doc"] = np.asarray(doc_of, dtype=np.int32)
    arrays["p_kind"] = np.asarray([KINDS.index(p.kind) for p in passages], dtype=np.uint8)
    arrays["p_start"] = np.asarray([p.start for p in passages], dtype=np.int64)
    arrays["p_end"] = np.asarray([p.end for p in passages], dtype=np.int64)
    arrays["p_page"] = np.asarray([p.page or 0 for p in passages], dtype=np.int32)
    return arrays


# --------------------------------------------------------------------------------------------
# Loading


class Index:
    """A loaded index: arrays are memory-mapped; strings are decoded only when asked for."""

    def __init__(self, path: Path) -> None:
        self.store = Store(path)
        header = self.store.header
        built_by = tuple(header.get(k) for k in ("format_version", "analyzer_version", "chunker_version"))
        if built_by != (FORMAT_VERSION, ANALYZER_VERSION, CHUNKER_VERSION):
            raise StoreError(
                f"{path} was built by another version (format {built_by[0]}, analyzer {built_by[1]}, "
                f"chunker {built_by[2]})."
            )
        s = self.store
        self.path = Path(path)
        self.fingerprint: str = header["fingerprint"]
        self.documents: list[dict] = header["documents"]
        self.doc_position: dict[str, int] = {d["doc_id"]: i for i, d in enumerate(self.documents)}
        self.n_passages: int = header["n_passages"]
        self.vocabulary = StringTable(s["vocab_blob"], s["vocab_offsets"])
        self.idf: np.ndarray = s["idf"]
        self.df: np.ndarray = s["df"]
        self.X_data, self.X_indices, self.X_indptr = s["X_data"], s["X_indices"], s["X_indptr"]
        self.passage_norm: np.ndarray = s["p_norm"]
        self.passage_numbers: np.ndarray = s["p_numbers"]
        self.mean_norm = float(header.get("mean_norm") or 1.0)
        self.T_data, self.T_indices, self.T_indptr = s["T_data"], s["T_indices"], s["T_indptr"]
        self.words = StringTable(s["w_blob"], s["w_offsets"])
        self.word_counts: np.ndarray = s["w_count"]
        self.trigrams = StringTable(s["g_blob"], s["g_offsets"])
        self.W_indices, self.W_indptr = s["W_indices"], s["W_indptr"]
        self.passage_doc: np.ndarray = s["p_doc"]
        self.passage_kind: np.ndarray = s["p_kind"]
        self._strings = {
            name: StringTable(s[f"p_{name}_blob"], s[f"p_{name}_offsets"])
            for name in ("text", "anchor", "section", "paragraph", "parent")
        }
        self.sentence_splitter = SentenceSplitter(params_from_json(header.get("punkt", {})))
        self._term_id = functools.lru_cache(maxsize=100_000)(self.vocabulary.find)
        self._sentences = functools.lru_cache(maxsize=4096)(lambda i: self.sentence_splitter.spans(self.text(i)))
        self._sentence_terms = functools.lru_cache(maxsize=4096)(
            lambda i, analyzer: [frozenset(analyzer.terms(self.text(i)[a:b])) for a, b in self.sentences(i)]
        )
        self._word_stems = functools.lru_cache(maxsize=4096)(
            lambda i, analyzer: [
                (m.start(), m.end(), frozenset(analyzer.stems(m.group())))
                for m in _WORD_RE.finditer(self.text(i))
            ]
        )
        self._stems = functools.lru_cache(maxsize=4096)(lambda i, analyzer: frozenset(analyzer.stems(self.text(i))))
        self._document_stems = functools.lru_cache(maxsize=1024)(
            lambda d, analyzer: frozenset(analyzer.stems(catalogue_text(self.documents[d])))
        )

    @property
    def identity(self) -> tuple[int, int, int]:
        """(inode, mtime, size) of the file this was loaded from: changes when a new index replaces it."""
        return self.store.identity

    def term_id(self, term: str) -> int:
        """Column of ``term`` in the matrix, or -1 (binary search, cached per worker)."""
        return self._term_id(term)

    def word_stems(self, i: int, analyzer) -> list[tuple[int, int, frozenset[str]]]:
        """``(start, end, stems)`` of every word of passage ``i``'s text (cached), for highlighting."""
        return self._word_stems(i, analyzer)

    def sentence_terms(self, i: int, analyzer) -> list[frozenset[str]]:
        """Terms of each sentence of passage ``i`` (parallel to :meth:`sentences`; cached)."""
        return self._sentence_terms(i, analyzer)

    def stems(self, i: int, analyzer) -> frozenset[str]:
        """The stems of passage ``i``'s text (cached: answers look at the same top passages often)."""
        return self._stems(i, analyzer)

    def document_stems(self, d: int, analyzer) -> frozenset[str]:
        """The stems of document ``d``'s catalogue entry (:func:`catalogue_text`, cached): what a
        whole report is and is about, e.g. the years of "Learning lessons from serious case reviews
        2009–2010" or the "press release"."""
        return self._document_stems(d, analyzer)

    def column(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Posting list of term ``j``: (passage rows, tf-idf weights)."""
        lo, hi = self.X_indptr[j], self.X_indptr[j + 1]
        return self.X_indices[lo:hi], self.X_data[lo:hi]

    def title_column(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Documents whose title/notes contain term ``j``: (document numbers, weights)."""
        lo, hi = self.T_indptr[j], self.T_indptr[j + 1]
        return self.T_indices[lo:hi], self.T_data[lo:hi]

    def words_with_trigram(self, gram: str) -> np.ndarray:
        """Corpus words (row numbers in :attr:`words`) that contain the character trigram."""
        g = self.trigrams.find(gram)
        if g < 0:
            return np.zeros(0, dtype=np.int32)
        return self.W_indices[self.W_indptr[g] : self.W_indptr[g + 1]]

    def text(self, i: int) -> str:
        return self._strings["text"][i]

    def sentences(self, i: int) -> list[tuple[int, int]]:
        """Sentence spans of passage ``i``'s text (Punkt with the corpus' learned parameters).

        Computed on demand, for the few passages an answer draws on, and cached: splitting every
        passage at build time would cost more than the rest of the build on a large corpus.
        """
        return self._sentences(i)

    def passage(self, i: int) -> dict:
        """Passage ``i`` as a JSON-ready dict (no rank or score)."""
        doc = self.documents[int(self.passage_doc[i])]
        anchor = self._strings["anchor"][i]
        page = int(self.store["p_page"][i])
        return {
            "id": f"{doc['doc_id']}:{anchor}",
            "anchor": anchor,
            "doc_id": doc["doc_id"],
            "title": doc["title"],
            "publisher": doc.get("publisher"),
            "date": doc.get("date"),
            "section": self._strings["section"][i] or None,
            "paragraph": self._strings["paragraph"][i] or None,
            "page": page or None,
            "kind": KINDS[int(self.passage_kind[i])],
            "parent": self._strings["parent"][i] or None,
            "text": self.text(i),
            "start": int(self.store["p_start"][i]),
            "end": int(self.store["p_end"][i]),
        }

    def passages_of(self, doc_index: int) -> np.ndarray:
        """Row numbers of a document's passages, in reading order."""
        return np.flatnonzero(self.passage_doc == doc_index)


@contextmanager
def _build_lock(index_path: Path) -> Iterator[None]:
    index_path.parent.mkdir(parents=True, exist_ok=True)
    with open(index_path.with_name(index_path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _remove_stale_temporaries(index_path: Path) -> None:
    """Temporary files of builds that were killed before their rename (call under the lock)."""
    for leftover in index_path.parent.glob(f".{index_path.name}.*.tmp"):
        log.warning("Removing %s, left by an interrupted build.", leftover)
        leftover.unlink(missing_ok=True)


def rebuild_index(corpus_dir: Path, index_path: Path, progress: Callable[[int, int], None] | None = None) -> BuildStats:
    """Build the index now (``qa index``), under the same lock as automatic rebuilds.

    The new file replaces the old one atomically: servers keep answering from the old index
    until the new one is complete, then switch (see Engine.reload_if_changed).
    """
    index_path = Path(index_path)
    with _build_lock(index_path):
        _remove_stale_temporaries(index_path)
        return build_index(corpus_dir, index_path, progress=progress)


def load_index(index_path: Path) -> Index:
    """Load ``index_path``; raises :class:`StoreError` if it is missing, corrupt or outdated."""
    return Index(index_path)


def ensure_index(corpus_dir: Path, index_path: Path, progress: Callable[[int, int], None] | None = None) -> Index:
    """An index that matches the corpus: loaded if current, else rebuilt (once, under a lock)."""
    index_path = Path(index_path)
    fingerprint = corpus_fingerprint(corpus_dir)
    try:
        index = Index(index_path)
        if index.fingerprint == fingerprint:
            return index
        log.info("Corpus changed since %s was built; rebuilding.", index_path)
    except StoreError as exc:
        if index_path.exists():
            log.warning("Index %s is unusable (%s); rebuilding it from %s.", index_path, exc, corpus_dir)
    with _build_lock(index_path):
        # Another process may have finished the build while we waited for the lock.
        try:
            index = Index(index_path)
            if index.fingerprint == corpus_fingerprint(corpus_dir):
                return index
        except StoreError:
            pass
        _remove_stale_temporaries(index_path)
        stats = build_index(corpus_dir, index_path, progress=progress)
        log.info("Built %s: %d documents, %d passages, %d terms in %.1fs.", index_path, stats.documents, stats.passages, stats.terms, stats.seconds)
    return Index(index_path)
