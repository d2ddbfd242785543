"""Corpus folder + catalogue -> Documents.

A corpus is a folder of report files (``.txt``, ``.md``, ``.pdf``, ``.docx``, ``.html``) with an
optional ``catalogue.toml`` beside them that gives each file's title, publisher, date and kind.
Metadata comes from the catalogue first, then from the file itself (PDF info, DOCX properties,
HTML ``<title>``), then is derived from the text; :attr:`Document.guessed` names the fields that
were not stated anywhere, so ``qa catalogue`` can flag them.
"""

from __future__ import annotations

import hashlib
import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from qa.readers import SUPPORTED_SUFFIXES, ReaderError, read_file

log = logging.getLogger(__name__)

CATALOGUE_NAME = "catalogue.toml"
METADATA_FIELDS = ("title", "publisher", "date", "kind", "source_url", "notes")


class CorpusError(Exception):
    """The corpus cannot be used at all (missing folder, no readable reports, broken catalogue)."""


@dataclass(frozen=True)
class Document:
    """One report: its full text (offsets in passages point into it) and its metadata."""

    doc_id: str
    filename: str
    text: str
    title: str
    publisher: str | None = None
    date: str | None = None
    kind: str | None = None
    source_url: str | None = None
    notes: str | None = None
    format: str = "txt"
    page_starts: tuple[int, ...] = ()
    guessed: tuple[str, ...] = field(default=())

    def metadata(self) -> dict:
        """Metadata as a JSON-ready dict (no text)."""
        return {
            "doc_id": self.doc_id,
            "filename": self.filename,
            "title": self.title,
            "publisher": self.publisher,
            "date": self.date,
            "kind": self.kind,
            "source_url": self.source_url,
            "notes": self.notes,
            "format": self.format,
            "guessed": list(self.guessed),
        }


def doc_id_for(path: Path) -> str:
    """The stable identifier of a corpus file: its name without the suffix."""
    return path.stem


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Report files in ``corpus_dir`` in a stable order (hidden files and READMEs are skipped)."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise CorpusError(
            f"Corpus folder {corpus_dir} does not exist. Pass --corpus DIR (or set QA_CORPUS) "
            "to a folder of report files."
        )
    return sorted(
        p
        for p in corpus_dir.iterdir()
        if p.is_file()
        and p.suffix.lower() in SUPPORTED_SUFFIXES
        and not p.name.startswith(".")
        and not p.name.lower().startswith("readme")
    )


def read_catalogue(corpus_dir: Path) -> dict[str, dict[str, str]]:
    """The catalogue as ``{file name: {field: value}}``; empty when there is none."""
    path = Path(corpus_dir) / CATALOGUE_NAME
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path} is not valid TOML ({exc}); fix or remove it.") from exc
    return {
        name: {k: str(v) for k, v in entry.items() if k in METADATA_FIELDS and v not in ("", None)}
        for name, entry in data.items()
        if isinstance(entry, dict)
    }


def corpus_fingerprint(corpus_dir: Path) -> str:
    """A hash of every report file's name and bytes plus the catalogue: changes when any of them does."""
    digest = hashlib.sha256()
    corpus_dir = Path(corpus_dir)
    paths = corpus_files(corpus_dir)
    catalogue = corpus_dir / CATALOGUE_NAME
    if catalogue.exists():
        paths.append(catalogue)
    for path in paths:
        digest.update(path.name.encode("utf-8") + b"\0")
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()[:32]


def derive_title(text: str, fallback: str) -> str:
    """First short non-empty line of the text, else the file name."""
    for line in text.splitlines():
        line = " ".join(line.split())
        if 3 <= len(line) <= 150:
            return line
        if line:
            break
    return fallback


def load_document(path: Path, entry: dict[str, str] | None = None) -> Document:
    """Read one file and merge its metadata: catalogue entry, then the file's own, then derived."""
    extracted = read_file(path)
    entry = entry or {}
    own = extracted.metadata
    values: dict[str, str | None] = {}
    guessed: list[str] = []
    for name in ("title", "publisher", "date", "source_url"):
        own_key = "author" if name == "publisher" and "publisher" not in own else name
        values[name] = entry.get(name) or own.get(own_key)
        if not values[name] and name != "source_url":
            guessed.append(name)
    if not values["title"]:
        values["title"] = derive_title(extracted.text, path.stem)
    return Document(
        doc_id=doc_id_for(path),
        filename=path.name,
        text=extracted.text,
        title=values["title"] or path.stem,
        publisher=values["publisher"],
        date=values["date"],
        kind=entry.get("kind") or extracted.kind,
        source_url=values["source_url"],
        notes=entry.get("notes"),
        format=extracted.kind,
        page_starts=tuple(extracted.page_starts),
        guessed=tuple(guessed),
    )


def load_corpus(corpus_dir: Path) -> list[Document]:
    """Every readable report in ``corpus_dir``.

    A file that cannot be read is skipped with a warning naming it, so one bad upload never stops
    the rest from being indexed. A corpus with no readable report at all is an error.
    """
    catalogue = read_catalogue(corpus_dir)
    documents = []
    uncatalogued: list[str] = []
    seen: dict[str, str] = {}
    for path in corpus_files(corpus_dir):
        doc_id = doc_id_for(path)
        if doc_id in seen:
            log.warning("Skipping %s: %s already uses the id %r; rename one of them.", path.name, seen[doc_id], doc_id)
            continue
        if path.name not in catalogue:
            uncatalogued.append(path.name)
        try:
            documents.append(load_document(path, catalogue.get(path.name)))
        except (ReaderError, OSError) as exc:
            log.warning("Skipping %s: %s", path.name, exc)
            continue
        seen[doc_id] = path.name
    if uncatalogued:
        names = ", ".join(uncatalogued[:5]) + (f" and {len(uncatalogued) - 5} more" if len(uncatalogued) > 5 else "")
        log.warning("%d file(s) have no entry in %s (%s); their titles are derived from their text.", len(uncatalogued), CATALOGUE_NAME, names)
    if not documents:
        raise CorpusError(
            f"No readable reports in {corpus_dir}. Add .txt, .md, .pdf, .docx or .html files "
            "(or point --corpus / QA_CORPUS at the right folder)."
        )
    return documents
