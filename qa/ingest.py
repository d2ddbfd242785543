"""Corpus commands: ``qa add``, ``qa remove`` and ``qa catalogue``.

``qa add FILE...`` checks every file first (readable, supported, not already in the corpus, a file
name of its own) and changes nothing when one of them fails. It then copies the files into the
corpus folder (each through a hidden temporary file, so a half-copied report is never visible),
records their metadata in ``catalogue.toml`` and rebuilds the index (atomically, under the index
lock). If anything goes wrong after the first copy, the copies and the catalogue change are rolled
back, so a report is either fully added or not at all. A running server switches to the rebuilt
index on its next request (:meth:`qa.engine.Engine.reload_if_changed`).

``qa remove DOC_ID...`` is the reverse, with the same all-or-nothing rule.

``qa catalogue`` lists what the service thinks each document is and flags what needs attention.

The catalogue is edited as text, never rewritten from parsed data, so the comments, order and
layout an operator wrote survive: a new entry is appended as a table of its own, a removed entry's
table is cut out, and every edit is checked by parsing the result before it is written.

Only one ``qa add`` / ``qa remove`` runs on a corpus at a time (a lock on the corpus folder).

The catalogue records what the command line says (``--title`` and friends); whatever it does not
say is taken, when the index is built, from the file's own metadata (PDF info, DOCX properties,
HTML ``<title>``) and else derived from the text, so catalogue values override the file's own.
"""

from __future__ import annotations

import argparse
import difflib
import fcntl
import hashlib
import json
import os
import re
import sys
import tempfile
import time
import tomllib
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import tomli_w

from qa.store import atomic_write_bytes, fsync_dir
from qa.documents import CATALOGUE_NAME, METADATA_FIELDS, CorpusError, corpus_files, doc_id_for, read_catalogue
from qa.readers import SUPPORTED_SUFFIXES, ReaderError, kind_of, read_file
from qa.readers._common import normalize_date

__all__ = [
    "add_commands",
    "add_reports",
    "remove_reports",
    "catalogue_report",
    "IngestError",
    "safe_stem",
    "CatalogueText",
]

MAX_STEM = 80
ADDED_MARK = "# Added by qa add"

CATALOGUE_HEADER = """\
# Metadata for the reports in this folder, one table per file name.
# Fields: title, publisher, date (ISO: yyyy, yyyy-mm or yyyy-mm-dd), kind, source_url, notes.
# A file without an entry here is still indexed, with a title derived from its text.
"""


class IngestError(Exception):
    """A refusal or failure with a message for the person running the command.

    ``problems`` lists one line per file (or per reason); the corpus is unchanged when raised.
    """

    def __init__(self, problems: list[str] | str, footer: str = "") -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.footer = footer
        super().__init__("\n".join(self.problems + ([footer] if footer else [])))


# --------------------------------------------------------------------------------------------
# File names


def safe_stem(stem: str, fallback: str = "report") -> str:
    """A file-name stem that is safe in a URL and on any file system.

    Accents are dropped (``Adolygiad Ŵyr`` -> ``Adolygiad-Wyr``), anything but letters, digits,
    ``.``, ``_`` and ``-`` becomes ``-``; no leading dot (hidden files are not indexed) and no
    ``readme`` prefix (README files are skipped by the corpus reader).
    """
    text = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", text)
    text = re.sub(r"-{2,}", "-", text)
    text = re.sub(r"\.{2,}", ".", text)
    text = text.strip("-._")[:MAX_STEM].rstrip("-._")
    if not text:
        text = fallback
    if text.lower().startswith("readme"):
        text = "report-" + text
    return text


# --------------------------------------------------------------------------------------------
# Atomic file operations




def _copy_into(source: Path, target: Path, expected_sha: str) -> None:
    """Copy ``source`` to ``target`` through a hidden temp file; never overwrites ``target``.

    Raises FileExistsError if ``target`` appeared meanwhile, IngestError if the source changed
    since it was checked.
    """
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != expected_sha:
            raise IngestError(f"'{source.name}' changed while it was being added; run the command again.")
        os.chmod(tmp, 0o644)
        try:
            os.link(tmp, target)  # fails if target exists: never clobbers
        except FileExistsError:
            raise
        except OSError:  # file systems without hard links
            if target.exists():
                raise FileExistsError(target) from None
            os.replace(tmp, target)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    fsync_dir(target.parent)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def corpus_lock(corpus_dir: Path) -> Iterator[None]:
    """One ``qa add`` / ``qa remove`` at a time per corpus folder (a lock on the folder itself,
    so no lock file is left in it)."""
    try:
        fd = os.open(corpus_dir, os.O_RDONLY)
    except OSError as exc:
        raise IngestError(f"Cannot open the corpus folder {corpus_dir} ({exc.strerror or exc}).") from None
    try:
        if not os.access(corpus_dir, os.W_OK):
            raise IngestError(
                f"Cannot write to the corpus folder {corpus_dir}. Run the command as a user who may change "
                "that folder."
            )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("Waiting for another qa add / qa remove on this corpus to finish...", file=sys.stderr)
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------
# The catalogue, edited as text


_MULTILINE_RE = re.compile(r'"""|\'\'\'')


@dataclass
class _Header:
    line: int  # index into lines
    path: tuple[str, ...] | None  # key path of a [table] header; None for [[array]] headers


class CatalogueText:
    """``catalogue.toml`` as lines of text, with table-level edits that keep everything else.

    Every edit is checked: the edited text must parse, and parse to exactly the old data with
    only the intended entry changed; otherwise :class:`IngestError` is raised and nothing is
    written.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.data = self._parse(text)

    @staticmethod
    def _parse(text: str) -> dict:
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise IngestError(
                f"{CATALOGUE_NAME} is not valid TOML ({exc}). Fix it (or move it away) and run the command again."
            ) from None

    @classmethod
    def load(cls, corpus_dir: Path) -> tuple["CatalogueText", bytes | None]:
        """The catalogue and its exact bytes (None when there is no catalogue yet)."""
        path = Path(corpus_dir) / CATALOGUE_NAME
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls(""), None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise IngestError(f"{CATALOGUE_NAME} is not UTF-8 text; save it as UTF-8 and run the command again.") from None
        return cls(text), raw

    # -- locating tables ----------------------------------------------------------------------
    def _headers(self, lines: list[str]) -> list[_Header]:
        headers: list[_Header] = []
        in_string: str | None = None
        for i, line in enumerate(lines):
            stripped = line.strip()
            if in_string is None and stripped.startswith("["):
                path: tuple[str, ...] | None = None
                if not stripped.startswith("[["):
                    try:
                        parsed = tomllib.loads(stripped)
                    except tomllib.TOMLDecodeError:
                        parsed = None
                    if parsed is not None:
                        keys: list[str] = []
                        node = parsed
                        while isinstance(node, dict) and len(node) == 1:
                            key = next(iter(node))
                            keys.append(key)
                            node = node[key]
                        path = tuple(keys)
                headers.append(_Header(i, path))
                continue
            # Track multi-line strings so a "[" line inside one is not taken for a header.
            for match in _MULTILINE_RE.finditer(line.split("#", 1)[0] if in_string is None else line):
                token = match.group(0)
                if in_string is None:
                    in_string = token
                elif in_string == token:
                    in_string = None
        return headers

    def _span(self, lines: list[str], name: str) -> tuple[int, int] | None:
        """Lines [start, end) of the table ``[name]``: its header and body, without the comments
        and blank lines at its end (they introduce whatever follows)."""
        headers = self._headers(lines)
        for k, header in enumerate(headers):
            if header.path == (name,):
                end = headers[k + 1].line if k + 1 < len(headers) else len(lines)
                while end > header.line + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
                    end -= 1
                return header.line, end
        return None

    def has_entry(self, name: str) -> bool:
        return name in self.data

    # -- edits --------------------------------------------------------------------------------
    def _eol(self, text: str) -> str:
        """``text`` with the catalogue's own line endings (Windows editors write CRLF)."""
        return text.replace("\n", "\r\n") if "\r\n" in self.text else text

    def _checked(self, text: str, expected: dict) -> str:
        try:
            result = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            result = None
        if result != expected:
            raise IngestError(
                f"{CATALOGUE_NAME} is laid out in a way qa cannot edit safely (for example an entry "
                "written as an inline table). Write each entry as its own [\"file name\"] table and "
                "run the command again."
            )
        return text

    def add_entry(self, name: str, entry: dict[str, str], comment: str | None = None) -> None:
        """Append ``[name]`` with ``entry`` (``name`` must not have an entry yet)."""
        if name in self.data:
            raise IngestError(f"{CATALOGUE_NAME} already has an entry for {name!r}.")
        table = tomli_w.dumps({name: dict(entry)})
        if not table.lstrip().startswith("["):  # defensive: always a table of its own
            table = f"[{_toml_key(name)}]\n" + table
        text = self.text
        if not text.strip():
            text = CATALOGUE_HEADER
        if not text.endswith("\n"):
            text += self._eol("\n")
        block = (f"{comment}\n" if comment else "") + table
        text = text + self._eol("\n" + block)
        expected = dict(self.data)
        expected[name] = dict(entry)
        self.text = self._checked(text, expected)
        self.data = expected

    def update_entry(self, name: str, values: dict[str, str]) -> None:
        """Set ``values`` in the existing table ``[name]``, line by line, keeping its comments."""
        if not values:
            return
        lines = self.text.splitlines(keepends=True)
        span = self._span(lines, name)
        expected = dict(self.data)
        expected[name] = dict(self.data.get(name) or {}, **values)
        if span is None:
            self._checked("", expected)  # raises the "cannot edit safely" error
        start, end = span
        body = lines[start + 1:end]
        remaining = dict(values)
        for j, line in enumerate(body):
            m = re.match(r'^\s*("?)([A-Za-z0-9_-]+)\1\s*=', line)
            if not m or m.group(2) not in remaining:
                continue
            try:
                tomllib.loads(line)
            except tomllib.TOMLDecodeError:
                continue  # a multi-line value: leave it to the check below
            key = m.group(2)
            body[j] = self._eol(tomli_w.dumps({key: remaining.pop(key)}))
        if remaining:
            if body and not body[-1].endswith("\n"):
                body[-1] += self._eol("\n")
            elif not body and not lines[start].endswith("\n"):
                lines[start] += self._eol("\n")
            body.append(self._eol("".join(tomli_w.dumps({k: v}) for k, v in remaining.items())))
        text = "".join(lines[: start + 1] + body + lines[end:])
        self.text = self._checked(text, expected)
        self.data = expected

    def remove_entry(self, name: str) -> None:
        """Cut out the table ``[name]`` (and the "Added by qa add" line right above it)."""
        if name not in self.data:
            return
        lines = self.text.splitlines(keepends=True)
        span = self._span(lines, name)
        expected = {k: v for k, v in self.data.items() if k != name}
        if span is None:
            self._checked("", expected)  # raises
        start, end = span
        if start > 0 and lines[start - 1].lstrip().startswith(ADDED_MARK):
            start -= 1
        # Drop one blank line that separated this table from what came before.
        if start > 0 and not lines[start - 1].strip():
            start -= 1
        # ...and the blank line after it, when the table was the last thing in the file.
        rest = lines[end:]
        if all(not line.strip() for line in rest):
            rest = []
        text = "".join(lines[:start] + rest)
        if text and not text.endswith("\n"):
            text += "\n"
        self.text = self._checked(text, expected)
        self.data = expected

    def save(self, corpus_dir: Path) -> None:
        atomic_write_bytes(Path(corpus_dir) / CATALOGUE_NAME, self.text.encode("utf-8"))


def _toml_key(name: str) -> str:
    return tomli_w.dumps({name: 1}).split("=", 1)[0].strip()


def _restore_catalogue(corpus_dir: Path, original: bytes | None) -> None:
    path = Path(corpus_dir) / CATALOGUE_NAME
    if original is None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
    else:
        atomic_write_bytes(path, original)


# --------------------------------------------------------------------------------------------
# Metadata given on the command line


def clean_metadata(
    title: str | None = None,
    publisher: str | None = None,
    date: str | None = None,
    kind: str | None = None,
    source_url: str | None = None,
    notes: str | None = None,
) -> dict[str, str]:
    """Command-line metadata, tidied and checked; empty values are left out."""
    values: dict[str, str] = {}
    for name, value in (("title", title), ("publisher", publisher), ("kind", kind), ("notes", notes)):
        if value is not None and " ".join(value.split()):
            values[name] = " ".join(value.split())
    if date is not None and date.strip():
        iso = normalize_date(date.strip())
        if not iso:
            raise IngestError(
                f"--date {date!r} is not a date qa understands. Write it as 2024, 2024-03 or 2024-03-15 "
                "(or like 'March 2024' / '15 March 2024')."
            )
        values["date"] = iso
    if source_url is not None and source_url.strip():
        url = source_url.strip()
        if not re.match(r"^https?://[^\s/$.?#][^\s]*$", url, re.IGNORECASE):
            raise IngestError(
                f"--source-url {url!r} is not a web address. Give the full address starting with "
                "https:// (or http://), as copied from the browser's address bar."
            )
        values["source_url"] = url
    return values


# --------------------------------------------------------------------------------------------
# qa add


@dataclass
class Added:
    source: Path
    target: Path
    doc_id: str
    title: str = ""
    publisher: str | None = None
    date: str | None = None
    passages: int = 0
    guessed: list[str] = field(default_factory=list)
    catalogue: dict[str, str] = field(default_factory=dict)


def _existing(corpus_dir: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """Corpus files by content hash and by lower-case doc id."""
    by_hash: dict[str, Path] = {}
    by_id: dict[str, Path] = {}
    for path in corpus_files(corpus_dir):
        by_id.setdefault(doc_id_for(path).lower(), path)
        try:
            by_hash.setdefault(_sha256(path), path)
        except OSError:
            pass
    return by_hash, by_id


def _describe(path: Path, catalogue: dict[str, dict[str, str]]) -> str:
    title = (catalogue.get(path.name) or {}).get("title")
    return f"document {doc_id_for(path)}" + (f" (\"{title}\")" if title else "") + f", file {path.name}"


def add_reports(
    corpus_dir: Path,
    index_path: Path,
    files: list[Path],
    metadata: dict[str, str] | None = None,
    name: str | None = None,
) -> list[Added]:
    """Add ``files`` to the corpus with ``metadata`` (overrides the files' own) and rebuild the index.

    All or nothing: raises :class:`IngestError` and leaves the corpus, the catalogue and the index
    as they were when any file is refused or anything fails.
    """
    corpus_dir = Path(corpus_dir)
    metadata = dict(metadata or {})
    files = [Path(f) for f in files]
    if not corpus_dir.is_dir():
        raise IngestError(
            f"The corpus folder {corpus_dir} does not exist. Pass --corpus DIR (or set QA_CORPUS) to the "
            "folder the service reads its reports from."
        )
    if name is not None and len(files) != 1:
        raise IngestError("--name can only be used when adding one file.")
    if len(files) > 1 and ("title" in metadata or "source_url" in metadata):
        raise IngestError("--title and --source-url describe one report: add the files one at a time to set them.")

    with corpus_lock(corpus_dir):
        catalogue, original_catalogue = CatalogueText.load(corpus_dir)
        entries = read_catalogue(corpus_dir)
        by_hash, by_id = _existing(corpus_dir)
        problems: list[str] = []
        plan: list[tuple[Path, Path, str, dict[str, str]]] = []
        batch_hash: dict[str, Path] = {}
        batch_id: dict[str, Path] = {}
        for source in files:
            label = f"'{source.name}'"
            if source.is_dir():
                problems.append(f"{label} is a folder: give the report files themselves (for example {source}/*.pdf).")
                continue
            if kind_of(source) is None or not source.is_file():
                try:
                    read_file(source)  # raises the reader's message (unsupported type / not found)
                except ReaderError as exc:
                    problems.append(str(exc))
                    continue
            try:
                sha = _sha256(source)
            except OSError as exc:
                problems.append(f"{label} could not be read ({exc.strerror or exc}).")
                continue
            if sha in by_hash:
                existing = by_hash[sha]
                problems.append(
                    f"{label} is already in the corpus as {_describe(existing, entries)}: "
                    "the same file cannot be added twice."
                )
                continue
            if sha in batch_hash:
                problems.append(f"{label} is the same file as '{batch_hash[sha].name}' given earlier in this command.")
                continue
            wanted = source.stem
            if name is not None:  # "--name x.pdf" means x
                wanted = name[: -len(source.suffix)] if name.lower().endswith(source.suffix.lower()) else name
            stem = safe_stem(wanted, fallback=f"report-{sha[:8]}")
            target = corpus_dir / (stem + source.suffix.lower())
            if stem.lower() in by_id:
                existing = by_id[stem.lower()]
                problems.append(
                    f"{label} would be stored as {target.name}, but the corpus already has {_describe(existing, entries)}. "
                    f"If this is a new version, remove the old one first (qa remove {doc_id_for(existing)}); "
                    "if it is a different report, give it another name with --name NEW-NAME."
                )
                continue
            if stem.lower() in batch_id:
                problems.append(
                    f"{label} and '{batch_id[stem.lower()].name}' would both be stored as {stem}; add them one at a time "
                    "and give one of them another name with --name."
                )
                continue
            try:
                read_file(source)
            except ReaderError as exc:
                problems.append(str(exc))
                continue
            plan.append((source, target, sha, dict(metadata)))
            batch_hash[sha] = source
            batch_id[stem.lower()] = source
        if problems:
            raise IngestError(problems, footer="Nothing was added.")

        created: list[Path] = []
        added: list[Added] = []
        try:
            stamp = time.strftime("%Y-%m-%d")
            for source, target, sha, values in plan:
                _copy_into(source, target, sha)
                created.append(target)
                if catalogue.has_entry(target.name):
                    # An entry written before the file arrived: it wins, except over what the
                    # command line says.
                    catalogue.update_entry(target.name, metadata)
                    recorded = dict(read_entry(catalogue, target.name))
                else:
                    catalogue.add_entry(
                        target.name, values, comment=f"{ADDED_MARK} on {stamp} from {_comment_safe(source.name)}"
                    )
                    recorded = values
                added.append(Added(source, target, doc_id_for(target), catalogue=recorded))
            catalogue.save(corpus_dir)
            engine_docs = _rebuild(corpus_dir, index_path)
            by_doc = {d["doc_id"]: d for d in engine_docs}
            missing = [a.target.name for a in added if a.doc_id not in by_doc]
            if missing:
                raise IngestError(
                    f"{', '.join(missing)} did not make it into the index (see the warnings above)."
                )
            for a in added:
                d = by_doc[a.doc_id]
                a.title, a.publisher, a.date = d.get("title") or a.doc_id, d.get("publisher"), d.get("date")
                a.passages = int(d.get("passages") or 0)
                a.guessed = list(d.get("guessed") or [])
        except BaseException as exc:
            for path in created:
                path.unlink(missing_ok=True)
            _roll_back(corpus_dir, index_path, original_catalogue, exc, "Adding", "added")
        return added


def _roll_back(corpus_dir: Path, index_path: Path, original_catalogue: bytes | None, exc: BaseException,
               action: str, done: str) -> None:
    """After the files of a failed change are put back: restore the catalogue, rebuild the index
    to match, and re-raise the failure saying that nothing was changed."""
    _restore_catalogue(corpus_dir, original_catalogue)
    _rebuild_quietly(corpus_dir, index_path)
    footer = f"Nothing was {done} (the change was rolled back)."
    if isinstance(exc, IngestError):
        raise IngestError(exc.problems, footer=footer) from None
    if isinstance(exc, Exception):
        raise IngestError(f"{action} failed: {exc}", footer=footer) from exc
    raise exc


def read_entry(catalogue: CatalogueText, name: str) -> dict[str, str]:
    entry = catalogue.data.get(name) or {}
    return {k: str(v) for k, v in entry.items() if k in METADATA_FIELDS}


def _comment_safe(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)


def _rebuild(corpus_dir: Path, index_path: Path) -> list[dict]:
    """Rebuild the index for the changed corpus (atomically, under the index's build lock) and
    return its documents with passage counts."""
    from qa.engine import Engine
    from qa.index import ensure_index

    index = ensure_index(Path(corpus_dir), Path(index_path))
    return Engine(index, corpus_dir).documents()


def _rebuild_quietly(corpus_dir: Path, index_path: Path) -> None:
    """After a rollback: bring the index back in line with the corpus; never raises."""
    try:
        from qa.index import ensure_index

        ensure_index(Path(corpus_dir), Path(index_path))
    except BaseException as exc:  # noqa: BLE001 - the original error is the one to report
        print(f"qa: warning: the index could not be rebuilt after the rollback ({exc}); run qa index.", file=sys.stderr)


# --------------------------------------------------------------------------------------------
# qa remove


@dataclass
class Removed:
    doc_id: str
    filename: str
    title: str | None


def remove_reports(corpus_dir: Path, index_path: Path, doc_ids: list[str]) -> list[Removed]:
    """Remove the documents ``doc_ids`` (file and catalogue entry) and rebuild the index.

    All or nothing, like :func:`add_reports`.
    """
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise IngestError(f"The corpus folder {corpus_dir} does not exist. Pass --corpus DIR (or set QA_CORPUS).")
    with corpus_lock(corpus_dir):
        files = corpus_files(corpus_dir)
        by_id: dict[str, Path] = {}
        for path in files:
            by_id.setdefault(doc_id_for(path), path)
        by_name = {p.name: p for p in files}
        entries = read_catalogue(corpus_dir)
        problems = []
        chosen: list[Path] = []
        for doc_id in doc_ids:
            path = by_id.get(doc_id) or by_name.get(doc_id)
            if path is None:
                close = difflib.get_close_matches(doc_id, list(by_id), n=3, cutoff=0.6)
                hint = f" Did you mean {' or '.join(close)}?" if close else ""
                problems.append(
                    f"There is no document {doc_id!r} in {corpus_dir}.{hint} Run `qa catalogue` to see the "
                    "document ids (the first column)."
                )
                continue
            if path not in chosen:
                chosen.append(path)
        if problems:
            raise IngestError(problems, footer="Nothing was removed.")
        if len(chosen) >= len(files):
            raise IngestError(
                "That would remove every report, and the service needs at least one. Add the new reports "
                "first, then remove the old ones.",
                footer="Nothing was removed.",
            )

        catalogue, original_catalogue = CatalogueText.load(corpus_dir)
        moved: list[tuple[Path, Path]] = []
        warnings: list[str] = []
        try:
            for path in chosen:
                hidden = path.with_name(f".{path.name}.removing-{os.getpid()}")
                os.replace(path, hidden)
                moved.append((path, hidden))
                try:
                    catalogue.remove_entry(path.name)
                except IngestError:
                    warnings.append(
                        f"The entry for {path.name} in {CATALOGUE_NAME} could not be cut out safely and was left "
                        "there (it does nothing without the file); delete it by hand if you like."
                    )
            if original_catalogue is not None and catalogue.text.encode("utf-8") != original_catalogue:
                catalogue.save(corpus_dir)
            remaining = {d["doc_id"] for d in _rebuild(corpus_dir, index_path)}
            still = [doc_id_for(p) for p in chosen if doc_id_for(p) in remaining]
            if still:
                raise IngestError(f"{', '.join(still)} is still in the index after the rebuild.")
        except BaseException as exc:
            for path, hidden in moved:
                try:
                    os.replace(hidden, path)
                except FileNotFoundError:
                    pass
            _roll_back(corpus_dir, index_path, original_catalogue, exc, "Removing", "removed")
        for _, hidden in moved:
            try:
                hidden.unlink()
            except FileNotFoundError:
                pass
        fsync_dir(corpus_dir)
        for warning in warnings:
            print(f"qa: warning: {warning}", file=sys.stderr)
        return [Removed(doc_id_for(p), p.name, (entries.get(p.name) or {}).get("title")) for p in chosen]


# --------------------------------------------------------------------------------------------
# qa catalogue


def catalogue_report(corpus_dir: Path, index_path: Path) -> dict:
    """What the service thinks each document is, and what needs attention.

    ``{"corpus", "index", "documents": [...], "skipped": [{"filename", "reason"}],
    "orphan_entries": [file names]}``; each document has its metadata, ``passages``,
    ``guessed`` (fields not stated anywhere), ``in_catalogue`` and ``flags`` (plain-words list).
    """
    from qa.engine import Engine

    corpus_dir, index_path = Path(corpus_dir), Path(index_path)
    engine = Engine.open(corpus_dir, index_path)
    entries = read_catalogue(corpus_dir)
    documents = []
    for d in engine.documents():
        guessed = list(d.get("guessed") or [])
        in_catalogue = d.get("filename") in entries
        flags = [f"{name} guessed" for name in guessed]
        if not in_catalogue:
            flags.append("no catalogue entry")
        documents.append(
            {
                "doc_id": d.get("doc_id"),
                "filename": d.get("filename"),
                "title": d.get("title"),
                "publisher": d.get("publisher"),
                "date": d.get("date"),
                "kind": d.get("kind"),
                "format": d.get("format"),
                "source_url": d.get("source_url"),
                "passages": int(d.get("passages") or 0),
                "guessed": guessed,
                "in_catalogue": in_catalogue,
                "flags": flags,
            }
        )
    indexed = {d["filename"] for d in documents}
    skipped = []
    present = set()
    for path in corpus_files(corpus_dir):
        present.add(path.name)
        if path.name in indexed:
            continue
        try:
            read_file(path)
            reason = f"another file already uses the id {doc_id_for(path)!r}; rename one of them"
        except ReaderError as exc:
            reason = str(exc)
        skipped.append({"filename": path.name, "reason": reason})
    orphans = sorted(name for name in entries if name not in present)
    return {
        "corpus": str(corpus_dir),
        "index": str(index_path),
        "documents": documents,
        "skipped": skipped,
        "orphan_entries": orphans,
    }


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def format_catalogue(report: dict) -> str:
    lines = []
    docs = report["documents"]
    for d in docs:
        kinds = [d.get("kind")] + ([d.get("format")] if d.get("format") != d.get("kind") else [])
        facts = ", ".join(x for x in (*kinds, _count(d["passages"], "passage")) if x)
        lines.append(f"{d['doc_id']}  [{facts}]")
        lines.append(f"    {d.get('title') or '(no title)'}")
        lines.append(f"    {d.get('publisher') or '(publisher unknown)'} · {d.get('date') or '(date unknown)'}")
        if d["flags"]:
            lines.append("    ! " + "; ".join(d["flags"]))
    flagged = sum(1 for d in docs if d["flags"])
    lines.append("")
    lines.append(
        f"{_count(len(docs), 'document')}, {_count(sum(d['passages'] for d in docs), 'passage')}"
        + (f"; {flagged} need attention (marked !)" if flagged else "")
        + "."
    )
    if flagged:
        lines.append(
            "Guessed metadata: set it in catalogue.toml (then run qa index), or remove the document and "
            "add it again with --title / --publisher / --date."
        )
    for s in report["skipped"]:
        lines.append(f"NOT INDEXED: {s['filename']}: {s['reason']}")
    for name in report["orphan_entries"]:
        lines.append(f"Note: catalogue.toml has an entry for {name}, but there is no such file in the corpus.")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The commands


def add_commands(sub: argparse._SubParsersAction, paths_fn) -> None:
    """Register ``add``, ``remove`` and ``catalogue`` on the ``qa`` sub-command parsers."""
    supported = ", ".join(s for s in SUPPORTED_SUFFIXES if s != ".htm")
    p = sub.add_parser(
        "add",
        help="add report files to the corpus and rebuild the index",
        description=f"Copy report files ({supported}) into the corpus, record their metadata in "
        "catalogue.toml and rebuild the index. Running servers switch to the new index by themselves.",
    )
    paths_fn(p)
    p.add_argument("files", nargs="+", metavar="FILE", help="report files to add")
    p.add_argument("--title", help="the report's title (overrides what the file says)")
    p.add_argument("--publisher", help="who published it, e.g. the safeguarding partnership")
    p.add_argument("--date", help="publication date: 2024, 2024-03 or 2024-03-15")
    p.add_argument("--kind", help="what it is, e.g. 'serious case review', 'report', 'briefing'")
    p.add_argument("--source-url", dest="source_url", metavar="URL", help="where it was published (https://...)")
    p.add_argument("--notes", help="a short description (also helps questions find it)")
    p.add_argument("--name", metavar="NAME", help="store the file under this name (it becomes the document id)")
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("remove", help="remove documents from the corpus and rebuild the index")
    paths_fn(p)
    p.add_argument("doc_ids", nargs="+", metavar="DOC_ID", help="document id as shown by `qa catalogue`")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("catalogue", help="list the documents, their metadata and what needs attention")
    paths_fn(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_catalogue)


def _report_error(command: str, exc: IngestError) -> int:
    for problem in exc.problems:
        print(f"qa {command}: error: {problem}", file=sys.stderr)
    if exc.footer:
        print(exc.footer, file=sys.stderr)
    return 2


def cmd_add(args: argparse.Namespace) -> int:
    from qa.engine import resolve_paths

    corpus, index = resolve_paths(args.corpus, args.index)
    try:
        metadata = clean_metadata(args.title, args.publisher, args.date, args.kind, args.source_url, args.notes)
        added = add_reports(corpus, index, [Path(f) for f in args.files], metadata, name=args.name)
    except IngestError as exc:
        return _report_error("add", exc)
    except CorpusError as exc:
        return _report_error("add", IngestError(str(exc), footer="Nothing was added."))
    for a in added:
        print(f"Added {a.source.name} as document {a.doc_id} ({_count(a.passages, 'passage')})")
        print(f"    title:     {a.title}")
        print(f"    publisher: {a.publisher or '(unknown)'}")
        print(f"    date:      {a.date or '(unknown)'}")
        print(f"    file:      {a.target}")
        if a.guessed:
            print(f"    ! guessed: {', '.join(a.guessed)} (set with --title/--publisher/--date, or in catalogue.toml)")
        if a.passages == 0:
            print("    ! no passages: the file has no usable text, so questions will not find it")
    print(f"Index rebuilt: {index}")
    print("Running servers using this index pick the change up on their next request; no restart needed.")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from qa.engine import resolve_paths

    corpus, index = resolve_paths(args.corpus, args.index)
    try:
        removed = remove_reports(corpus, index, list(args.doc_ids))
    except IngestError as exc:
        return _report_error("remove", exc)
    except CorpusError as exc:
        return _report_error("remove", IngestError(str(exc), footer="Nothing was removed."))
    for r in removed:
        print(f"Removed document {r.doc_id} ({r.filename})" + (f": {r.title}" if r.title else ""))
    print(f"Index rebuilt: {index}")
    print("Running servers using this index stop citing it on their next request; no restart needed.")
    return 0


def cmd_catalogue(args: argparse.Namespace) -> int:
    from qa.engine import resolve_paths

    corpus, index = resolve_paths(args.corpus, args.index)
    report = catalogue_report(corpus, index)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(format_catalogue(report))
    return 0
