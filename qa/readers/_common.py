"""Shared pieces of the readers: the result type, the error type, metadata clean-up and
the renderer that turns a list of blocks into the plain-text shape of the bundled reports.

The plain-text shape (what the passage builder expects):

* blocks (paragraphs, headings, lists, tables) are separated by one blank line;
* a heading is a block of its own, on one line;
* a numbered paragraph starts with its number, e.g. ``35. The panel ...``;
* a bullet is a line starting ``• `` - consecutive bullets of one list are on consecutive lines;
* a table row is a line with its cells joined by `` | `` - rows of one table are on
  consecutive lines, the first row (the header) included.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

BULLET = "\u2022"  # •


class ReaderError(Exception):
    """A file could not be turned into document text.

    The message is meant for the person adding the report: it names the file, says what is
    wrong in plain words and what to do about it.
    """


@dataclass(frozen=True)
class Extracted:
    """The text of one file and what the file says about itself.

    text:        document text (see the module docstring for its shape)
    page_starts: offset in ``text`` where each page starts (PDF: one per page, in page
                 order, non-decreasing; an empty page starts where the next text starts).
                 ``()`` for formats without pages.  The page of a character at offset
                 ``i`` is ``bisect.bisect_right(page_starts, i)`` (1-based).
    metadata:    ``title``, ``author``, ``publisher``, ``date`` (ISO ``yyyy-mm-dd``,
                 ``yyyy-mm`` or ``yyyy``), ``source_url``, ``description`` - a key is absent
                 when the file does not say.
    kind:        ``"txt" | "md" | "pdf" | "docx" | "html"``
    """

    text: str
    page_starts: tuple[int, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    kind: str = "txt"

    def page_of(self, offset: int) -> int | None:
        """1-based page number of the character at ``offset``; None without pages."""
        if not self.page_starts:
            return None
        import bisect

        return max(1, bisect.bisect_right(self.page_starts, offset))


# ---------------------------------------------------------------------------------------
# Small text helpers
# ---------------------------------------------------------------------------------------

_WS_RE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200c\u200d\u2060\ufeff]")


def collapse_ws(text: str) -> str:
    """All runs of whitespace (newlines included) to one space; stripped."""
    text = _CONTROL_RE.sub("", text)
    return " ".join(text.split())


def squeeze_spaces(line: str) -> str:
    """Runs of spaces, tabs and no-break spaces inside one line to one space; stripped."""
    return _WS_RE.sub(" ", _CONTROL_RE.sub("", line)).strip()


def display_name(path: Path) -> str:
    return f"'{path.name}'"


# ---------------------------------------------------------------------------------------
# Metadata helpers
# ---------------------------------------------------------------------------------------

# Values producers write when nobody filled the field in.
_PLACEHOLDERS = {
    "",
    "untitled",
    "anonymous",
    "(anonymous)",
    "untitled document",
    "word document",
    "document",
    "(unspecified)",
    "unspecified",
    "unknown",
    "anonymous",
    "none",
    "null",
    "n/a",
    "user",
    "windows user",
    "microsoft office user",
    "microsoft word",
    "administrator",
    "admin",
    "owner",
    "python-docx",
    "reportlab pdf library - www.reportlab.com",
}

_FILENAME_LIKE_RE = re.compile(
    r"^(microsoft (word|powerpoint|excel) - )|\.(docx?|pdf|rtf|odt|pptx?|xlsx?|indd|txt)$",
    re.IGNORECASE,
)


def clean_value(value: object) -> str | None:
    """A metadata value as a tidy one-line string, or None when it is empty or a placeholder."""
    if value is None:
        return None
    text = collapse_ws(str(value))
    text = unicodedata.normalize("NFC", text)
    if text.lower() in _PLACEHOLDERS:
        return None
    return text


def clean_title(value: object) -> str | None:
    """Like clean_value, and also drops titles that are really file names
    ("Microsoft Word - draft v3.docx"), which would pass for a real title downstream."""
    text = clean_value(value)
    if text is None or _FILENAME_LIKE_RE.search(text):
        return None
    return text


_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))

_ISO_RE = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?(?:[T ].*)?$")
_PDF_DATE_RE = re.compile(r"^D?:?(\d{4})(\d{2})?(\d{2})?")
_DMY_RE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_DAY_MONTH_YEAR_RE = re.compile(
    rf"^(?:\w+,?\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_ALT})\.?,?\s+(\d{{4}})", re.IGNORECASE
)
_MONTH_DAY_YEAR_RE = re.compile(
    rf"^(?:\w+,?\s+)?({_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})", re.IGNORECASE
)
_MONTH_YEAR_RE = re.compile(rf"^({_MONTH_ALT})\.?,?\s+(\d{{4}})$", re.IGNORECASE)


def _iso(year: int, month: int | None = None, day: int | None = None) -> str | None:
    if not 1900 <= year <= 2100:
        return None
    if month is None:
        return f"{year:04d}"
    if not 1 <= month <= 12:
        return None
    if day is None:
        return f"{year:04d}-{month:02d}"
    try:
        date(year, month, day)
    except ValueError:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def normalize_date(value: object) -> str | None:
    """A date as ISO ``yyyy-mm-dd`` / ``yyyy-mm`` / ``yyyy``, or None when it can't be read.

    Understands datetime/date objects, ISO 8601 (``2024-03-08T10:00:00Z``), PDF dates
    (``D:20240308101500+00'00'``), ``08 March 2024``, ``March 8, 2024``, ``March 2024`` and
    ``08/03/2024`` (read the UK way: day first).
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return _iso(value.year, value.month, value.day)
    if isinstance(value, date):
        return _iso(value.year, value.month, value.day)
    text = collapse_ws(str(value))
    if not text:
        return None
    if text.startswith("D:") or re.fullmatch(r"\d{8,14}.*", text):
        m = _PDF_DATE_RE.match(text)
        if m:
            year = int(m.group(1))
            month = int(m.group(2)) if m.group(2) else None
            day = int(m.group(3)) if m.group(3) and month else None
            return _iso(year, month, day)
        return None
    m = _ISO_RE.match(text)
    if m:
        year = int(m.group(1))
        month = int(m.group(2)) if m.group(2) else None
        day = int(m.group(3)) if m.group(3) else None
        return _iso(year, month, day)
    m = _DMY_RE.match(text)
    if m:
        return _iso(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    m = _DAY_MONTH_YEAR_RE.match(text)
    if m:
        return _iso(int(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1)))
    m = _MONTH_DAY_YEAR_RE.match(text)
    if m:
        return _iso(int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2)))
    m = _MONTH_YEAR_RE.match(text)
    if m:
        return _iso(int(m.group(2)), _MONTHS[m.group(1).lower()])
    return None


def put(metadata: dict[str, str], key: str, value: str | None) -> None:
    """Set ``key`` unless it is already set or ``value`` is None (first source wins)."""
    if value and key not in metadata:
        metadata[key] = value


# ---------------------------------------------------------------------------------------
# Blocks -> text
# ---------------------------------------------------------------------------------------


@dataclass
class Block:
    """One unit of document text before rendering.

    kind:  "heading" | "para" | "bullet" | "row" | "pre"
    group: bullets/rows with the same group (one list, one table) are rendered on
           consecutive lines; everything else is separated by a blank line.
    """

    kind: str
    text: str
    group: int | None = None


def render_blocks(blocks: list[Block]) -> str:
    parts: list[str] = []
    previous: Block | None = None
    for block in blocks:
        text = block.text.strip("\n") if block.kind == "pre" else block.text.strip()
        if not text:
            continue
        if block.kind == "bullet" and not text.startswith(BULLET):
            text = f"{BULLET} {text}"
        if previous is not None:
            same_run = (
                block.kind in ("bullet", "row")
                and previous.kind == block.kind
                and previous.group == block.group
            )
            parts.append("\n" if same_run else "\n\n")
        parts.append(text)
        previous = block
    return "".join(parts) + ("\n" if parts else "")


def require_text(text: str, path: Path, hint: str = "") -> None:
    """Raise the 'empty document' ReaderError when ``text`` has no words."""
    if not any(ch.isalnum() for ch in text):
        message = f"{display_name(path)} contains no text, so there is nothing to answer from."
        if hint:
            message += " " + hint
        else:
            message += " Check that it is the right file and add it again."
        raise ReaderError(message)
