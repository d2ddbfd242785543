"""Document -> Passages: paragraph-sized pieces of report text, each with its place in the source.

The reports are text extracted from PDFs and web pages, so the builder undoes what extraction did:

* hard-wrapped lines are joined into paragraphs; a word split by a line-end hyphen is rejoined
  only when the document spells it elsewhere without the hyphen (so "multi-agency" stays);
* numbered paragraphs ("35. One serious case review ...") are kept whole with their number, even
  across a page break or a footnote interleaved at the bottom of a page;
* footnotes become passages of their own, linked to the paragraph that cites them;
* a list stays in one passage with the sentence that introduces it;
* tables become one passage per row, with the table's caption and column headings in it;
* page furniture (share links, "image representing news article", press-office phone numbers,
  catalogue "Related to ..." tails) is dropped;
* every passage is at most :data:`MAX_CHARS` characters; longer paragraphs are split on sentence
  boundaries and each part keeps its paragraph number and section.

The parser is a single pass over lines that builds *units* (runs of non-blank lines), followed by
a pass that classifies units and assembles them into passages.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field, replace
from typing import Iterator

from qa.documents import Document
from qa.sentences import SentenceSplitter

CHUNKER_VERSION = 4
"""Bumped whenever a change here cuts the same text into different passages, so saved indexes
are rebuilt rather than served with stale passages."""

MAX_CHARS = 1200
"""Upper bound on a passage's text length, in characters."""

MIN_CHARS = 24
"""Unnumbered paragraphs shorter than this, with no figures, are fragments and are dropped."""

TARGET_CHARS = 900
"""Preferred size of the parts a long paragraph is split into."""

TABLE_ROW_SEPARATOR = " — "
"""Between a table row passage's caption (and column headings) and the row itself."""

BULLET_GLYPHS = "•−–-*·▪◦●○■□➢►"
_BULLET_RE = re.compile(rf"^\s*[{re.escape(BULLET_GLYPHS)}]\s+(?=\S)")
_NUMBERED_RE = re.compile(r"^\s*(\d{1,3})\.\s+(?=[A-Z‘'\"(“0-9])")
_FOOTNOTE_START_RE = re.compile(r"^(\d{1,2}) +(?=\S)")
_SEPARATOR_RE = re.compile(r"^[ \t_]{12,}$")
_CAPTION_RE = re.compile(r"^\s*(Table|Figure|Chart|Diagram)\s+(\d+|[A-Z])\s*[.:]", re.IGNORECASE)
_ROW_RE = re.compile(r"^\s*(?P<label>\S.{0,70}?)\s+(?P<value>\d[\d,./%]*\*{0,3})\s*$")
_META_RE = re.compile(r"^\s*(Source|Date|Published|Author|Updated)\s*:\s*\S", re.IGNORECASE)
_TERMINAL = ".!?"

# Page furniture: lines or one-line units that are never part of a report's content.
_FURNITURE_RE = re.compile(
    r"^\s*(image representing .*|printable version.*|e-?mail this to a friend.*|share this.*|"
    r"download \(\d+\s*[kKmM]B\s*\)|back to top|skip to (main )?content|cookie.*|"
    r"(read|download|view|see) (the|also|more|full|our)\b.{0,140}|link to (the )?report|"
    r"join our .{0,60}|follow us .{0,60}|more items related to .*)\s*$",
    re.IGNORECASE,
)
# Paragraphs that are contact details rather than content (press-office phone numbers).
_CONTACT_RE = re.compile(r"(press office|media can contact|enquiry line|duty press officer)", re.IGNORECASE)
_PHONE_RE = re.compile(r"\b0\d{2,4}[ -]?\d{3,4}[ -]?\d{3,4}\b")
# Everything from one of these headings to the end of the document is site navigation.
_TAIL_RE = re.compile(r"^\s*(related to\s+\S.*|associated resources|related content|you may also like)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Passage:
    """A paragraph-sized piece of one document.

    ``start``/``end`` are character offsets into the document text: the passage's text was
    built from source characters in ``[start, end)`` (lines joined, footnotes in between left out).
    """

    doc_id: str
    anchor: str
    kind: str  # paragraph | list | heading | caption | table_row | table_note | footnote
    text: str
    start: int
    end: int
    section: str | None = None
    paragraph: str | None = None
    page: int | None = None
    parent: str | None = None  # footnotes: the anchor of the paragraph they annotate

    @property
    def id(self) -> str:
        return f"{self.doc_id}:{self.anchor}"


# --------------------------------------------------------------------------------------------
# Step 1: lines -> units (runs of consecutive content lines), with footnotes set aside.


@dataclass
class _Line:
    start: int
    end: int
    raw: str

    @property
    def text(self) -> str:
        return self.raw.strip()

    @property
    def indented(self) -> bool:
        return self.raw[:1] in (" ", "\t")


@dataclass
class _Unit:
    lines: list[_Line] = field(default_factory=list)
    footnote: str | None = None  # footnote number, for footnote units

    @property
    def first(self) -> _Line:
        return self.lines[0]

    @property
    def text(self) -> str:
        return " ".join(line.text for line in self.lines)


def _iter_lines(text: str) -> Iterator[_Line]:
    offset = 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        yield _Line(offset, offset + len(body), body)
        offset += len(raw)


class _Numbering:
    """Tracks numbered paragraphs so that "2010. ..." at a line start is not taken for one."""

    def __init__(self) -> None:
        self.last: int | None = None
        self.seen: set[int] = set()

    def plausible(self, line: _Line) -> int | None:
        match = _NUMBERED_RE.match(line.raw)
        if not match:
            return None
        n = int(match.group(1))
        if n in self.seen:
            return None
        if self.last is None:
            return n if n <= 3 else None
        if n == 1 or (n != self.last and abs(n - self.last) <= 3):
            return n
        return None

    def take(self, n: int) -> None:
        if n == 1:
            self.seen.clear()
        self.last = n
        self.seen.add(n)


def _split_units(text: str) -> list[_Unit]:
    units: list[_Unit] = []
    current = _Unit()
    numbering = _Numbering()
    in_footnotes = False
    footnote: _Unit | None = None

    def close() -> None:
        nonlocal current
        if current.lines:
            units.append(current)
        current = _Unit()

    for line in _iter_lines(text):
        if _SEPARATOR_RE.match(line.raw):
            # A footnote rule at the bottom of a page: footnotes follow until the next page,
            # whose first line the extraction indents by one space.
            close()
            in_footnotes, footnote = True, None
            continue
        if in_footnotes:
            if not line.text:
                continue
            start = _FOOTNOTE_START_RE.match(line.raw)
            if start:
                footnote = _Unit([line], footnote=start.group(1))
                units.append(footnote)
                continue
            if not line.indented and footnote is not None and numbering.plausible(line) is None:
                footnote.lines.append(line)
                continue
            in_footnotes, footnote = False, None
        if not line.text:
            close()
            continue
        if _FURNITURE_RE.match(line.raw):
            continue  # a share link or image caption line, whatever surrounds it
        if not current.lines and _is_unruled_footnote(text, line):
            # A footnote printed without a rule above it ("2 Working together ...").
            footnote = _Unit([line], footnote=_FOOTNOTE_START_RE.match(line.raw).group(1))  # type: ignore[union-attr]
            units.append(footnote)
            in_footnotes = True
            continue
        if current.lines and _starts_new_unit(current, line, numbering):
            close()
        if not current.lines:
            n = numbering.plausible(line)
            if n is not None:
                numbering.take(n)
        current.lines.append(line)
    close()
    return units


def _is_unruled_footnote(text: str, line: _Line) -> bool:
    match = _FOOTNOTE_START_RE.match(line.raw)
    if not match or not line.raw[match.end():match.end() + 1].isupper():
        return False
    marker = re.compile(rf"[a-z.,;:’')]{match.group(1)}(?=\s)")
    return bool(marker.search(text, max(0, line.start - 6000), line.start))


def _starts_new_unit(current: _Unit, line: _Line, numbering: _Numbering) -> bool:
    """Within a run of lines, a bullet, a new numbered paragraph or a heading after a page break
    starts a new unit even without a blank line before it."""
    previous = current.lines[-1].text
    if _BULLET_RE.match(line.raw) and (_BULLET_RE.match(current.first.raw) or previous.endswith(":")):
        return True
    if previous[-1:] in _TERMINAL + ":’”)" or line.indented:
        if numbering.plausible(line) is not None:
            return True
        if _CAPTION_RE.match(line.raw):
            return True
    if line.indented and previous[-1:] in _TERMINAL and _looks_like_heading(line.text):
        return True
    # A caption line glued to the paragraph that follows it ("Figure 1. ... \n 12. Figure 2 ...").
    if _CAPTION_RE.match(current.first.raw) and numbering.plausible(line) is not None:
        return True
    return False


# --------------------------------------------------------------------------------------------
# Step 2: units -> classified blocks.


def _looks_like_heading(text: str) -> bool:
    words = text.split()
    return (
        0 < len(words) <= 25
        and len(text) <= 200
        and text[-1] not in ".;,:!?"
        and (text[0].isupper() or text[0].isdigit())
        and not _ROW_RE.match(text)
        and not _CAPTION_RE.match(text)
    )


# Short words a real heading does not end on ("Extra reports were", "Panel, to").
_OPEN_ENDINGS = frozenset(
    "a also an and are as at be been by for from had has have in into is of on or that the their this to was were which who with".split()
)


def _mend_torn_headings(units: list[_Unit], kinds: list[str], text: str) -> list[str]:
    """Demote "headings" that are really torn prose from a garbled page back to paragraphs.

    Column-mangled PDF pages leave short lines between blank lines ("One positive example
    concerned a Polish family. Extra reports were", "There were examples that showe",
    "130. In the best examples, the terms of reference were clear about how the review").
    Taken as headings, their words would leave the passage text and become section labels, so a
    question about them would find nothing. Torn prose shows itself by a sentence break inside
    the line, by ending on a word that needs a continuation or on a cut-off word (one seen
    nowhere else in the document, yet the start of a word that is), or by reading like a
    sentence: a long line with a clause after a comma, or a numbered "heading" of many words.
    """
    counts: dict[str, int] = {}
    for word in re.findall(r"[A-Za-z]+", text):
        word = word.lower()
        counts[word] = counts.get(word, 0) + 1
    vocabulary = sorted(counts)
    mended = list(kinds)
    for i, (unit, kind) in enumerate(zip(units, kinds)):
        if kind != "heading":
            continue
        numbered = bool(_NUMBERED_RE.match(unit.first.raw))
        words = unit.text.split()
        last = words[-1].lower()
        torn = (
            bool(re.search(r"[a-z]{2}[.?!] +[A-Z]", unit.text))
            or last in _OPEN_ENDINGS
            or (len(last) <= 2 and last.isalpha() and not words[-1].isupper())  # "reviews th"
            or (last.isalpha() and counts.get(last, 0) <= 1 and _cut_off(last, vocabulary))
            or (numbered and len(words) > 8)
            or (len(words) >= 9 and ", " in unit.text)
        )
        if torn:
            mended[i] = "numbered" if numbered else "paragraph"
    return mended


# Words that, early in a paragraph, refer to someone or something named before it.
_BACK_REFERENCES = frozenset("she he her his him they them their it its this these those such".split())
# Two short paragraphs of one account are joined only while the result stays paragraph-sized.
LEANING_MAX_CHARS = 700


def _leans_back(text: str) -> bool:
    """Whether a paragraph opens by referring back: a pronoun or "this"/"these" among its first
    four words, before any name ("When younger, she was placed ...", "This meant ...")."""
    for position, word in enumerate(re.findall(r"[A-Za-z’']+", text)[:4]):
        if word.lower() in _BACK_REFERENCES:
            return True
        if position and word[0].isupper():  # a name comes first: the paragraph says who it is about
            return False
    return False


def _cut_off(word: str, vocabulary: list[str]) -> bool:
    """True if ``word`` is the start of a longer word in the sorted ``vocabulary`` that is not just
    its plural ("equalit" -> "equality", but not "method" -> "methods")."""
    j = bisect.bisect_right(vocabulary, word)
    while j < len(vocabulary) and vocabulary[j].startswith(word):
        if vocabulary[j][len(word):] not in ("s", "es"):
            return True
        j += 1
    return False


def _is_row(text: str) -> bool:
    return bool(_ROW_RE.match(text)) and not text.rstrip().endswith(".") and len(text) <= 90


def _is_group_label(text: str) -> bool:
    return len(text) <= 50 and not _is_row(text) and text[-1:] not in ".;,:" and not any(c.isdigit() for c in text[-3:])


def _is_table_block(unit: _Unit) -> bool:
    """A unit made of table rows, optionally led by a group label ("Homicide")."""
    texts = [line.text for line in unit.lines]
    body = texts[1:] if len(texts) > 1 and _is_group_label(texts[0]) else texts
    return bool(body) and all(_is_row(t) for t in body)


def _classify(unit: _Unit, numbering_seen: set[int]) -> str:
    text = unit.text
    first = unit.first
    if unit.footnote is not None:
        return "footnote"
    if len(unit.lines) == 1 and (_FURNITURE_RE.match(text) or (len(text) < 8 and sum(c.isalnum() for c in text) < 3)):
        return "furniture"
    if _CONTACT_RE.search(text) and _PHONE_RE.search(text):
        return "furniture"
    if _META_RE.match(text) and len(unit.lines) == 1 and len(text) <= 120:
        return "meta"
    if _CAPTION_RE.match(first.raw):
        return "caption"
    if _BULLET_RE.match(first.raw):
        return "bullet"
    if len(unit.lines) >= 2 and all(" | " in line.text for line in unit.lines):
        return "pipe_table"  # "a | b | c" rows from Word and HTML tables, header first
    match = _NUMBERED_RE.match(first.raw)
    if match and int(match.group(1)) in numbering_seen:
        if len(unit.lines) == 1 and len(text) <= 80 and text[-1:] not in ".;:,!?":
            return "heading"  # a numbered heading ("1. Introduction"), not a paragraph
        return "numbered"
    if _is_table_block(unit):
        return "row"
    if len(unit.lines) == 1 and _looks_like_heading(text):
        return "heading"
    if text[:1].islower() or text[:1] in "(,;":
        return "continuation"
    return "paragraph"


# --------------------------------------------------------------------------------------------
# Step 3: blocks -> passages. Text is assembled with a parallel map to source offsets.


_WORD_RE = re.compile(r"\S+")


@dataclass
class _Builder:
    """Accumulates passage text as pieces, each remembering where in the source it came from.

    A piece is either a word copied from the source (its characters map to consecutive source
    offsets) or inserted text such as a joining space or a "• " (all of it maps to one offset).
    """

    kind: str
    section: str | None
    number: str | None = None
    pieces: list[str] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)  # source offset of each piece's first character
    copied: list[bool] = field(default_factory=list)  # True: the piece is source text, char for char
    length: int = 0
    list_marker: str | None = None
    parent: object = None

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def __len__(self) -> int:
        return self.length

    def tail(self, n: int) -> str:
        """The last ``n`` characters (without joining the whole text)."""
        out: list[str] = []
        size = 0
        for piece in reversed(self.pieces):
            out.append(piece)
            size += len(piece)
            if size >= n:
                break
        return "".join(reversed(out))[-n:]

    def first_source(self) -> int:
        return self.sources[0] if self.sources else -1

    def source_at(self, i: int) -> int:
        """Source offset of character ``i`` of the text."""
        if not hasattr(self, "_starts") or len(self._starts) != len(self.pieces):
            starts, position = [], 0
            for piece in self.pieces:
                starts.append(position)
                position += len(piece)
            self._starts = starts
        k = bisect.bisect_right(self._starts, i) - 1
        return self.sources[k] + (i - self._starts[k] if self.copied[k] else 0)

    def add_text(self, text: str, source: int) -> None:
        """Add literal text (a separator or label) attributed to one source position."""
        self.pieces.append(text)
        self.sources.append(source)
        self.copied.append(False)
        self.length += len(text)

    def add_line(self, line: _Line, skip: int = 0) -> None:
        """Add a source line's words, whitespace runs folded to single spaces."""
        body = line.raw[skip:].strip()
        if body and "  " not in body and "\t" not in body:  # the usual case: copy the line whole
            self.pieces.append(body)
            self.sources.append(line.raw.index(body[0], skip) + line.start)
            self.copied.append(True)
            self.length += len(body)
            return
        first = True
        for match in _WORD_RE.finditer(line.raw, skip):
            start = match.start()
            if not first:
                self.add_text(" ", line.start + start - 1)
            first = False
            word = match.group()
            self.pieces.append(word)
            self.sources.append(line.start + start)
            self.copied.append(True)
            self.length += len(word)

    def join_line(self, line: _Line, words: set[str], skip: int = 0) -> None:
        """Append a wrapped line: repair a line-end hyphen only if the document backs it."""
        end = self.tail(40)
        if len(end) > 1 and end[-1] == "-" and end[-2].isalpha():
            head = re.search(r"[A-Za-z]+-$", end)
            tail = re.match(r"[a-z]+", line.raw[skip:].lstrip())
            if head and tail:
                joined = head.group()[:-1] + tail.group()
                if joined.lower() in words and f"{head.group()}{tail.group()}".lower() not in words:
                    self.pieces[-1] = self.pieces[-1][:-1]
                    self.length -= 1
            self.add_line(line, skip)
            return
        if self.length:
            self.add_text(" ", line.start)
        self.add_line(line, skip)


def _word_forms(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*", text)}


def build_passages(document: Document, splitter: SentenceSplitter | None = None) -> list[Passage]:
    """Cut ``document`` into passages in reading order.

    Returns passages whose ``text`` is at most :data:`MAX_CHARS` characters, with unique anchors.
    """
    splitter = splitter or SentenceSplitter()
    words = _word_forms(document.text)
    units = _split_units(document.text)
    numbering_seen = _numbered_set(units)

    builders: list[_Builder] = []
    footnotes: list[tuple[_Builder, int]] = []
    section: str | None = None
    pending_headings: list[_Unit] = []
    pending_meta: list[_Unit] = []
    table: _TableState | None = None
    row_prefix: list[_Unit] = []
    kinds = [_classify(u, numbering_seen) for u in units]
    kinds = _mend_torn_headings(units, kinds, document.text)
    kinds = _mark_tail(units, kinds)
    column_heads = _find_column_heads(units, kinds)

    def body() -> _Builder | None:
        for b in reversed(builders):
            if b.kind in ("paragraph", "list"):
                return b
            if b.kind not in ("footnote",):
                return None
        return None

    def flush_headings() -> None:
        # Headings with no body under them (a title line, a closing "published October 2010")
        # still carry content, so they become small passages of their own.
        for h in pending_headings[:-1]:
            b = _Builder("heading", section)
            b.add_line(h.first)
            builders.append(b)
        pending_headings[1:] = []

    def open_paragraph(kind: str, unit: _Unit, number: str | None = None) -> _Builder:
        nonlocal pending_meta
        if pending_headings:
            pending_headings.clear()
        b = _Builder(kind, section, number)
        for meta in pending_meta:  # "Source: ..." / "Date: ..." lines belong to the item they precede
            b.add_line(meta.first)
            b.add_text(". " if meta.first.text[-1:] not in _TERMINAL else " ", meta.first.end)
        pending_meta = []
        builders.append(b)
        return b

    for index, (unit, kind) in enumerate(zip(units, kinds)):
        if kind in ("furniture", "tail"):
            continue
        if kind == "column_head":
            continue
        if kind == "row_prefix":
            row_prefix.append(unit)
            continue
        if table is not None and table.rows == 0 and _column_heads_line(unit, kind, kinds[index + 1 : index + 2]):
            # Column headings between a caption and its first row ("months year 1 to 2 years").
            table.columns = f"{table.columns} {unit.text}" if table.columns else unit.text
            continue
        if table is not None and kind not in ("row", "table_note", "row_prefix"):
            table = None
        if kind == "footnote":
            b = _Builder("footnote", section, parent=None)
            b.number = unit.footnote
            for j, line in enumerate(unit.lines):
                if j:
                    b.join_line(line, words)
                else:
                    b.add_line(line)
            footnotes.append((b, unit.first.start))
            builders.append(b)
            continue
        if kind == "meta":
            pending_meta.append(unit)
            continue
        if kind == "heading":
            flush_headings()
            pending_headings.append(unit)
            section = unit.text
            continue
        if kind == "caption":
            caption = _Builder("caption", section)
            _add_unit(caption, unit, words)
            builders.append(caption)
            table = _TableState(title=caption.text, columns=None, number=_table_label(caption.text, builders))
            continue
        if kind == "pipe_table":
            table = _TableState(title=section or "Table", columns=unit.lines[0].text, number=_table_label(section or "", builders))
            _add_rows(builders, table, _Unit(unit.lines[1:]), section, [])
            table = None
            continue
        if kind == "row" or (table is not None and kind == "table_note"):
            if table is None:
                table = _TableState(title=section or "Table", columns=column_heads.get(index), number=_table_label(section or "", builders))
            elif table.columns is None and column_heads.get(index):
                table.columns = column_heads[index]
            _add_rows(builders, table, unit, section, row_prefix)
            row_prefix = []
            continue
        if kind == "table_note":
            kind = "paragraph"
        if kind == "numbered":
            n = _NUMBERED_RE.match(unit.first.raw).group(1)  # type: ignore[union-attr]
            b = open_paragraph("paragraph", unit, n)
            _add_unit(b, unit, words)
            continue
        previous = body()
        if kind == "bullet":
            marker = _BULLET_RE.match(unit.first.raw).group().strip()  # type: ignore[union-attr]
            if previous is not None and not pending_headings:
                _add_item(previous, unit, words, marker)
                continue
            b = open_paragraph("list", unit)
            _add_item(b, unit, words, marker, first=True)
            continue
        if previous is not None and not pending_headings:
            ends = previous.tail(8).rstrip()[-1:]
            # Items of a list whose glyphs were lost in extraction: indented lines after a lead-in.
            if unit.first.indented and (ends == ":" or previous.list_marker == "indent") and len(unit.text) <= 300:
                _add_item(previous, unit, words, "indent")
                continue
            if kind == "continuation" and ends not in _TERMINAL:
                previous.join_line(unit.first, words)
                for line in unit.lines[1:]:
                    previous.join_line(line, words)
                continue
            # A short lead-in ("Sir X, Chief Inspector:") belongs with what it introduces.
            if ends == ":" and len(previous) <= 150 and previous.kind == "paragraph":
                previous.add_text(" ", unit.first.start)
                _add_unit(previous, unit, words, join_first=False)
                continue
            # A short unnumbered paragraph that goes on about the one before ("When younger, she
            # was ...") is the rest of the same account: apart, neither says who or what it is about.
            if (
                kind == "paragraph"
                and previous.kind == "paragraph"
                and previous.number is None
                and len(previous) + len(unit.text) <= LEANING_MAX_CHARS
                and _leans_back(unit.text)
            ):
                previous.add_text(" ", unit.first.start)
                _add_unit(previous, unit, words, join_first=False)
                continue
        b = open_paragraph("paragraph", unit)
        _add_unit(b, unit, words)
    flush_headings()
    if pending_headings:
        b = _Builder("heading", section)
        b.add_line(pending_headings[-1].first)
        builders.append(b)

    _link_footnotes(builders, footnotes)
    return _finish(document, builders, splitter)


@dataclass
class _TableState:
    title: str
    columns: str | None
    number: str
    group: str | None = None
    rows: int = 0


def _column_heads_line(unit: _Unit, kind: str, following: list[str]) -> bool:
    """A short label line directly followed by table rows: the table's column headings."""
    text = unit.text
    return kind in ("paragraph", "heading", "continuation") and len(unit.lines) == 1 and len(text) <= 80 and text[-1:] not in ".;:!?" and following == ["row"]


def _table_label(title: str, builders: list[_Builder]) -> str:
    """"1" for "Table 1: ...", "B" for "Annex B: ...", else the table's position in the document."""
    match = re.match(r"\s*(?:Table|Annex|Appendix)\s+([A-Z0-9]+)\b", title, re.IGNORECASE)
    if match:
        return match.group(1)
    return str(len({b.number for b in builders if b.kind == "table_row"}) + 1)


def _numbered_set(units: list[_Unit]) -> set[int]:
    numbering = _Numbering()
    seen: set[int] = set()
    for unit in units:
        if unit.footnote is None:
            n = numbering.plausible(unit.first)
            if n is not None:
                numbering.take(n)
                seen.add(n)
    return seen


def _mark_tail(units: list[_Unit], kinds: list[str]) -> list[str]:
    for i, unit in enumerate(units):
        if kinds[i] != "footnote" and _TAIL_RE.match(unit.text):
            return kinds[:i] + ["tail"] * (len(kinds) - i)
    return kinds


def _find_column_heads(units: list[_Unit], kinds: list[str]) -> dict[int, str]:
    """Column headings of tables without a caption: the short label units between a heading and
    a run of at least three row units (e.g. "Local Safeguarding Children Board" / "Date of
    evaluation letter"). Returns {index of the first row unit: "head | head | head"}."""
    heads: dict[int, str] = {}
    i = 0
    while i < len(units):
        if kinds[i] == "row":
            j = i
            while j < len(units):
                if kinds[j] == "row":
                    j += 1
                elif j + 1 < len(units) and kinds[j + 1] == "row" and kinds[j] in ("paragraph", "heading") and len(units[j].text) <= 60 and units[j].text[-1:] not in ".;:":
                    kinds[j] = "row_prefix"
                    j += 1
                else:
                    break
            if j - i >= 3:
                k = i - 1
                labels: list[int] = []
                while k >= 0 and kinds[k] in ("paragraph", "heading") and len(units[k].text) <= 50 and units[k].text[-1:] not in ".;:":
                    labels.insert(0, k)
                    k -= 1
                if labels and kinds[labels[0]] == "heading" and len(labels) > 1:
                    labels = labels[1:]  # the first is the section heading, kept as the section
                if len(labels) >= 2:
                    for k in labels:
                        kinds[k] = "column_head"
                    heads[i] = " | ".join(units[k].text for k in labels)
            else:
                for k in range(i, j):
                    kinds[k] = "paragraph" if kinds[k] == "row" else "heading" if _looks_like_heading(units[k].text) else "paragraph"
            i = j
        else:
            i += 1
    # A row run that follows a caption ("Table 1: ...") keeps its notes ("* Parent/carer ...").
    for i in range(1, len(units)):
        if kinds[i] in ("paragraph", "bullet") and units[i].text[:1] == "*" and kinds[i - 1] in ("row", "table_note"):
            kinds[i] = "table_note"
    return heads


def _add_unit(b: _Builder, unit: _Unit, words: set[str], join_first: bool = True) -> None:
    for j, line in enumerate(unit.lines):
        if j == 0 and not b.length:
            b.add_line(line)
        elif j == 0 and not join_first:
            b.add_line(line)
        else:
            b.join_line(line, words)


def _add_item(b: _Builder, unit: _Unit, words: set[str], marker: str, first: bool = False) -> None:
    """Append a list item on its own line as "• item"."""
    b.kind = "list"
    b.list_marker = marker
    match = _BULLET_RE.match(unit.first.raw)
    skip = match.end() if match else 0
    if b.length:
        b.add_text("\n• ", unit.first.start)
    else:
        b.add_text("• ", unit.first.start)
    b.add_line(unit.first, skip)
    for line in unit.lines[1:]:
        b.join_line(line, words)


def _add_rows(builders: list[_Builder], table: _TableState, unit: _Unit, section: str | None, prefix_units: list[_Unit]) -> None:
    """One passage per table row: "<caption> (<columns>) — <group>: <row as printed>"."""
    lines = unit.lines
    if _is_group_label(lines[0].text) and len(lines) > 1 and not _is_row(lines[0].text):
        table.group = lines[0].text
        lines = lines[1:]
    if len(unit.lines) == 1 and not table.columns:
        table.group = table.group if unit.lines[0].text.lower().startswith("total") else None
    for line in lines:
        table.rows += 1
        b = _Builder("table_row", section)
        b.number = table.number
        prefix = table.title
        if table.columns:
            prefix += f" ({table.columns})"
        prefix += TABLE_ROW_SEPARATOR
        if table.group:
            prefix += f"{table.group}: "
        b.add_text(prefix, line.start)
        for extra in prefix_units:
            for extra_line in extra.lines:
                b.add_line(extra_line)
                b.add_text(" ", extra_line.end)
        prefix_units = []
        b.add_line(line)
        builders.append(b)


def _link_footnotes(builders: list[_Builder], footnotes: list[tuple[_Builder, int]]) -> None:
    """Point each footnote at the nearest earlier paragraph carrying its marker ("action.5")."""
    for note, position in footnotes:
        marker = re.compile(rf"[A-Za-z.,;:’')\]] ?{note.number}(?=\s|$)")
        candidates = [b for b in builders if b.kind in ("paragraph", "list") and b.length and b.first_source() < position]
        for b in reversed(candidates):
            if marker.search(b.text):
                note.parent = b
                break


def _finish(document: Document, builders: list[_Builder], splitter: SentenceSplitter) -> list[Passage]:
    passages: list[Passage] = []
    used: dict[str, int] = {}
    anchors: dict[int, str] = {}
    sequence = 0
    row_counts: dict[str, int] = {}

    def unique(anchor: str) -> str:
        used[anchor] = used.get(anchor, 0) + 1
        return anchor if used[anchor] == 1 else f"{anchor}-{used[anchor]}"

    for b in builders:
        text = b.text.strip()
        if not text or (b.kind == "paragraph" and not b.number and len(text) < MIN_CHARS and not any(c.isdigit() for c in text)):
            continue  # extraction debris ("y and diversity") says nothing on its own
        sequence += 1
        if b.kind == "footnote":
            base = f"fn-{b.number}"
        elif b.kind == "table_row":
            row_counts[b.number or "0"] = row_counts.get(b.number or "0", 0) + 1
            base = f"t-{b.number}-{row_counts[b.number or '0']}"
        elif b.number:
            base = f"p-{b.number}"
        else:
            base = f"s-{sequence}"
        parts = _split_long(b, splitter)
        for k, (part_text, start, end) in enumerate(parts):
            anchor = unique(base if k == 0 else f"{base}-{k + 1}")
            if k == 0:
                anchors[id(b)] = anchor
            passages.append(
                Passage(
                    doc_id=document.doc_id,
                    anchor=anchor,
                    kind=b.kind,
                    text=part_text,
                    start=start,
                    end=end,
                    section=b.section,
                    paragraph=b.number if b.kind in ("paragraph", "list") else None,
                    page=_page_of(document.page_starts, start),
                    parent=None,
                )
            )
            if b.kind == "footnote":
                passages[-1] = replace(passages[-1], paragraph=None)
    # Footnote parents are resolved after anchors exist.
    by_builder = {id(b): b for b in builders}
    result = []
    for p in passages:
        if p.kind == "footnote":
            note = next((b for b in builders if b.kind == "footnote" and anchors.get(id(b)) == p.anchor), None)
            parent = note.parent if note is not None else None
            if isinstance(parent, _Builder) and id(parent) in by_builder:
                p = replace(p, parent=anchors.get(id(parent)))
        result.append(p)
    return result


def _page_of(page_starts: tuple[int, ...], offset: int) -> int | None:
    if not page_starts:
        return None
    return max(1, bisect.bisect_right(page_starts, offset))


def _split_long(b: _Builder, splitter: SentenceSplitter) -> list[tuple[str, int, int]]:
    """Split a builder's text into parts of at most MAX_CHARS on sentence (or list item) boundaries."""
    text = b.text
    lead = len(text) - len(text.lstrip())
    text_end = len(text.rstrip())

    def span(i: int, j: int) -> tuple[str, int, int]:
        while i < j and text[i].isspace():
            i += 1
        while j > i and text[j - 1].isspace():
            j -= 1
        return text[i:j], b.source_at(i), b.source_at(j - 1) + 1

    if text_end - lead <= MAX_CHARS:
        return [span(lead, text_end)]
    pieces = splitter.spans(text)
    # Sentences longer than the bound (tables flattened into prose, run-on lists) are cut at spaces.
    bounded: list[tuple[int, int]] = []
    for s, e in pieces:
        while e - s > MAX_CHARS:
            cut = text.rfind(" ", s, s + TARGET_CHARS) if text.rfind(" ", s, s + TARGET_CHARS) > s else s + TARGET_CHARS
            bounded.append((s, cut))
            s = cut
        bounded.append((s, e))
    parts: list[tuple[int, int]] = []
    start, end = bounded[0]
    for s, e in bounded[1:]:
        if e - start <= TARGET_CHARS or (e - start <= MAX_CHARS and (end - start) < TARGET_CHARS // 2):
            end = e
        else:
            parts.append((start, end))
            start, end = s, e
    parts.append((start, end))
    # Balance: fold a tiny last part into the previous one when the bound allows.
    if len(parts) > 1 and parts[-1][1] - parts[-2][0] <= MAX_CHARS:
        parts[-2:] = [(parts[-2][0], parts[-1][1])]
    return [span(s, e) for s, e in parts]
