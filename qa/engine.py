"""The engine: the one object the CLI, the JSON API and the pages all call.

It owns a loaded index, answers questions with :meth:`Engine.ask` (returning the result object
described in docs/architecture.md), and switches to a newer index file when one replaces it on
disk (:meth:`Engine.reload_if_changed`), so ``qa index`` or ``qa add`` never needs a restart.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading
from pathlib import Path
from typing import Callable

import numpy as np

from qa.analysis import Analyzer, everyday_english
from qa.answer import AnswerPolicy, compose
from qa.index import Index, default_index_path, ensure_index
from qa.retrieval import Filters, RetrievalConfig, Retriever
from qa.store import StoreError

log = logging.getLogger(__name__)

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "corpus"
MAX_TOP_K = 20


def keep_freed_memory() -> None:
    """Ask glibc to keep freed large blocks instead of returning them to the OS.

    Each question allocates a few passage-length numpy arrays (1.2 MB at 150,000 passages); by
    default glibc unmaps them on free and the next question faults them back in, page by page,
    which costs more than the scoring itself. Raising the mmap and trim thresholds keeps them in
    the process heap. Harmless elsewhere: on a libc without mallopt nothing happens.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024)
        libc.mallopt(m_trim_threshold, 256 * 1024 * 1024)
    except (OSError, AttributeError):
        pass


def resolve_paths(corpus: str | Path | None, index: str | Path | None) -> tuple[Path, Path]:
    """Corpus and index paths from arguments, then QA_CORPUS / QA_INDEX, then the defaults."""
    corpus_path = Path(corpus or os.environ.get("QA_CORPUS") or DEFAULT_CORPUS).expanduser()
    index_path = Path(index or os.environ.get("QA_INDEX") or default_index_path()).expanduser()
    return corpus_path, index_path


class Engine:
    """Answers questions from one corpus through its index."""

    def __init__(
        self,
        index: Index,
        corpus_dir: Path,
        analyzer: Analyzer | None = None,
        policy: AnswerPolicy | None = None,
        config: RetrievalConfig | None = None,
    ) -> None:
        self.corpus_dir = Path(corpus_dir)
        self.analyzer = analyzer or Analyzer()
        self.policy = policy or AnswerPolicy()
        self.config = config or RetrievalConfig()
        self._lock = threading.Lock()
        self._rejected: tuple[int, int, int] | None = None
        self._set_index(index)

    @classmethod
    def open(
        cls,
        corpus_dir: str | Path | None = None,
        index_path: str | Path | None = None,
        progress: Callable[[int, int], None] | None = None,
        config: RetrievalConfig | None = None,
    ) -> "Engine":
        """Load the index for ``corpus_dir``, building or rebuilding it first if it is missing,
        corrupt, from another version, or older than the corpus."""
        corpus, path = resolve_paths(corpus_dir, index_path)
        keep_freed_memory()
        everyday_english()  # read the word list now (~0.1 s) rather than on a user's first question
        return cls(ensure_index(corpus, path, progress=progress), corpus, config=config)

    def _set_index(self, index: Index) -> None:
        self.index = index
        self.retriever = Retriever(index, self.analyzer, self.config)

    # -- answering -----------------------------------------------------------------------
    def ask(
        self,
        question: str,
        history: list[str] | tuple[str, ...] | None = None,
        top_k: int = 5,
        filters: Filters | None = None,
    ) -> dict:
        """Answer ``question`` (earlier questions of the conversation in ``history``, oldest first).

        Returns the result object: ``{"question", "answer" (str or None), "status" ("answered" or
        "not_found"), "sentences", "passages" (top_k, best first), "evidence"}``.
        """
        if not isinstance(question, str) or not question.strip():
            raise ValueError("The question is empty: type a question about the reports.")
        if not 1 <= int(top_k) <= MAX_TOP_K:
            raise ValueError(f"top_k must be between 1 and {MAX_TOP_K}.")
        question = " ".join(question.split())
        history = [h for h in (history or []) if isinstance(h, str) and h.strip()]
        index, retriever = self.index, self.retriever  # one consistent pair even if a reload happens
        query, hits = retriever.search(question, history, top_k=max(top_k, 10), filters=filters)
        return compose(question, query, hits, index, self.analyzer, int(top_k), self.policy)

    # -- documents -----------------------------------------------------------------------
    def documents(self) -> list[dict]:
        """Every document's metadata with its passage count, in corpus order."""
        counts = np.bincount(self.index.passage_doc, minlength=len(self.index.documents))
        return [dict(d, passages=int(counts[i])) for i, d in enumerate(self.index.documents)]

    def document(self, doc_id: str) -> dict | None:
        """A document's metadata and all its passages in reading order, or None if unknown."""
        i = self.index.doc_position.get(doc_id)
        if i is None:
            return None
        index = self.index
        rows = index.passages_of(i)
        return dict(index.documents[i], passages=[index.passage(int(r)) for r in rows])

    def health(self) -> dict:
        return {
            "status": "ok",
            "index_loaded": True,
            "fingerprint": self.index.fingerprint,
            "passages": self.index.n_passages,
            "documents": len(self.index.documents),
            "index_built_at": self.index.store.header.get("built_at"),
        }

    # -- hot reload ------------------------------------------------------------------------
    def reload_if_changed(self) -> bool:
        """Switch to the index file on disk if it was replaced since it was loaded.

        Cheap (one ``stat``) so it can run before every request. A new file that is corrupt is
        ignored with a warning and the current index keeps serving.
        """
        try:
            stat = os.stat(self.index.path)
        except OSError:
            return False
        identity = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if identity == self.index.identity or identity == self._rejected:
            return False
        with self._lock:
            if (stat.st_ino, stat.st_mtime_ns, stat.st_size) == self.index.identity:
                return False
            try:
                fresh = Index(self.index.path)
            except StoreError as exc:
                self._rejected = identity
                log.warning("A new index file appeared but cannot be used (%s); still serving the previous one.", exc)
                return False
            self._set_index(fresh)
            log.info("Switched to the rebuilt index (%d passages).", fresh.n_passages)
            return True
