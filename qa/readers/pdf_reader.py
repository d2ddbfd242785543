"""PDF files (pypdf).

Pipeline
--------
1. Open and check: not a PDF / damaged / incomplete, password-protected, no text layer
   (scanned) are refused with a ReaderError that says what to do.
2. Extract each page with pypdf's plain text mode.  A visitor records, for every output
   line, its baseline position, font size and whether its font is bold, so the steps below
   can use the page geometry when pypdf reports it, and fall back to text-only rules when
   it does not.
3. Remove running headers and footers (see ``_remove_running_lines``) and bare page numbers.
4. Separate footnotes (a run of small-type lines at the foot of a page that starts with a
   note number) from the body text.
5. Rebuild paragraphs: hard-wrapped lines of one paragraph are joined into one line,
   hyphenation at line ends is repaired (see ``_join_hyphenated``), headings go on their
   own line, bullets become ``• item`` lines, and a paragraph that continues over a page
   break stays one paragraph.  Footnotes of a page follow the paragraph that is open at
   the foot of that page.
6. ``page_starts[k]`` is the offset of the first character of page k+1's text.  When a
   paragraph continues over a page break that is the first character of the continuation,
   inside the paragraph.  A page without text starts where the next text starts.
"""

from __future__ import annotations

import io
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ._common import (
    BULLET,
    Extracted,
    ReaderError,
    clean_title,
    clean_value,
    display_name,
    normalize_date,
    put,
    squeeze_spaces,
)

# ---------------------------------------------------------------------------------------
# Lines
# ---------------------------------------------------------------------------------------


@dataclass
class Line:
    text: str
    page: int
    y: float | None = None  # baseline, PDF user space (larger = higher on the page)
    size: float | None = None  # effective font size in points
    bold: bool = False


@dataclass
class PageInfo:
    index: int
    lines: list[Line] = field(default_factory=list)
    notes: list[Line] = field(default_factory=list)
    bottom: float | None = None
    top: float | None = None


_LIGATURES = str.maketrans(
    {
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "ft",
        "\ufb06": "st",
        "\u2010": "-",
        "\u2011": "-",
    }
)
# Bullet glyphs as they come out of PDFs, including the private-use code points of the
# Symbol and Wingdings fonts that Word uses for its default bullets.
_BULLET_CHARS = (
    "\u2022\u25cf\u25aa\u25a0\u25e6\u2023\u2043\u2219\u25ba\u25b6\u27a2\u27a4\u2756\u25c6\u25c7"
    "\uf0b7\uf0a7\uf0d8\uf076\uf0fc\uf0a8\uf06e\uf02d\uf0e0\uf0d9"
)
_BULLET_START_RE = re.compile(rf"^[{_BULLET_CHARS}]+\s*")
_BOLD_FONT_RE = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)


def _normalize_line(text: str) -> str:
    text = text.translate(_LIGATURES)
    text = squeeze_spaces(text)
    if text.endswith("\u00ad"):  # keep a final soft hyphen: it marks a broken word
        text = text[:-1].replace("\u00ad", "") + "\u00ad"
    else:
        text = text.replace("\u00ad", "")
    if _BULLET_START_RE.match(text):
        rest = _BULLET_START_RE.sub("", text, count=1)
        text = f"{BULLET} {rest}" if rest else BULLET
    return text


def _matmul(m: list[float], n: list[float]) -> list[float]:
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return [
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    ]


def _page_lines(page, index: int) -> tuple[list[Line], str]:
    """The page's text lines with geometry where pypdf reports it, and the raw text."""
    chunks: list[tuple[str, float | None, float | None, bool]] = []

    def visit(text, cm, tm, font_dict, font_size):
        if not text:
            return
        y = size = None
        bold = False
        try:
            m = _matmul(list(map(float, tm)), list(map(float, cm)))
            y = m[5]
            scale = math.hypot(m[2], m[3])
            if font_size and scale:
                size = float(font_size) * scale
            if font_dict is not None:
                base = str(font_dict.get("/BaseFont", ""))
                bold = bool(_BOLD_FONT_RE.search(base))
        except Exception:  # geometry is a hint only
            pass
        chunks.append((text, y, size, bold))

    try:
        raw = page.extract_text(visitor_text=visit)
    except Exception:
        chunks.clear()
        raw = page.extract_text()
        chunks.append((raw, None, None, False))
    if "".join(c[0] for c in chunks) != raw:  # never seen; be safe
        chunks = [(raw, None, None, False)]

    lines: list[Line] = []
    current: list[str] = []
    attrs: dict = {}
    visible_bold: list[bool] = []
    sizes: list[float] = []

    def finish():
        text = _normalize_line("".join(current))
        if text:
            lines.append(
                Line(
                    text=text,
                    page=index,
                    y=attrs.get("y"),
                    size=max(sizes) if sizes else None,
                    bold=bool(visible_bold) and all(visible_bold),
                )
            )

    for text, y, size, bold in chunks:
        segments = text.split("\n")
        for k, segment in enumerate(segments):
            if k > 0:
                finish()
                current, attrs, visible_bold, sizes = [], {}, [], []
            if not segment:
                continue
            current.append(segment)
            if segment.strip():
                if "y" not in attrs:
                    # only the first line of a chunk is known to sit at the chunk's position
                    attrs["y"] = y if k == 0 else None
                visible_bold.append(bold)
                if size:
                    sizes.append(size)
    finish()
    return lines, raw


# ---------------------------------------------------------------------------------------
# Running headers, footers and page numbers
# ---------------------------------------------------------------------------------------

EDGE_LINES = 4  # lines at each end of a page (in extraction order) that may be header/footer
EDGE_ZONE = 0.2  # ...and, when the position is known, within this fraction of the page height

_PAGE_NO_EXPLICIT_RE = re.compile(
    r"^(?:(?:page|p\.|pg\.?)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?"
    r"|\d{1,4}\s*(?:of|/)\s*\d{1,4}"
    r"|[-\u2013\u2014|]\s*\d{1,4}\s*[-\u2013\u2014|])$",
    re.IGNORECASE,
)
_PAGE_NO_BARE_RE = re.compile(r"^\d{1,4}$")
_NUMBERED_PARA_RE = re.compile(r"^\d{1,3}(?:\.\d{1,3})*[.)]?\s+\S")
_ROMAN_RE = re.compile(r"^(?=[ivxlc]{1,7}$)c{0,3}(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})$", re.IGNORECASE)


def _running_key(text: str) -> str:
    """Comparison key for header/footer lines: letters only, lower case.

    Page numbers, dates, punctuation, dash styles and spacing differences disappear, so
    "Child Q - Review - Page 3" and "Child Q – Review – Page 14" have the same key.
    """
    return "".join(ch for ch in text.lower() if ch.isalpha())


def _repeat_key(text: str) -> str:
    """``_running_key``, except that a numbered paragraph ("12. The panel ...") must repeat
    word for word: running headers don't start with a paragraph number, but consecutive
    paragraphs of a chronology may differ only in their numbers."""
    if _NUMBERED_PARA_RE.match(text):
        return "#" + text
    return _running_key(text)


def _edge_indices(page: PageInfo) -> list[int]:
    n = len(page.lines)
    idx = sorted(set(range(min(EDGE_LINES, n))) | set(range(max(0, n - EDGE_LINES), n)))
    if page.top is None or page.bottom is None:
        return idx
    height = page.top - page.bottom
    if height <= 0:
        return idx
    result = []
    for i in idx:
        y = page.lines[i].y
        if y is None or not (page.bottom - 5 <= y <= page.top + 5):
            result.append(i)  # position unknown or odd: rely on the text alone
        elif y >= page.top - EDGE_ZONE * height or y <= page.bottom + EDGE_ZONE * height:
            result.append(i)
    return result


_EDGE_NUMBER_RE = re.compile(r"^(\d{1,4})(?:\s+\D.*)?$|^\D.*?\s(\d{1,4})$")


def _edge_number(text: str) -> int | None:
    """A bare number, or a number starting/ending a short line: a page number candidate."""
    if _PAGE_NO_BARE_RE.match(text):
        return int(text)
    if len(text.split()) > 12 or re.match(r"^\d{1,4}[.)]\s", text):
        return None  # a numbered paragraph, not a running header
    m = _EDGE_NUMBER_RE.match(text)
    if not m:
        return None
    return int(m.group(1) or m.group(2))


def _is_roman(text: str) -> bool:
    return bool(text) and bool(_ROMAN_RE.match(text)) and (text.islower() or len(text) > 1)


def _remove_running_lines(pages: list[PageInfo]) -> None:
    """Drop running headers/footers and page numbers, in place.

    Header/footer rule: a line among the first or last EDGE_LINES lines of a page (and, when
    pypdf reports positions, in the top or bottom EDGE_ZONE of the page) is a running
    header/footer when a line with the same letters-only key (``_running_key``: numbers,
    punctuation and spacing ignored, so "near-same" lines such as "Page 3 of 20" and "Page
    4 of 20" match) sits at the edge of at least ``max(3, 40 %)`` of the pages (both pages of
    a 2-page document).  40 % rather than "most" so that alternating left/right-page
    headers are caught too.

    Page numbers: at the edge of a page, "Page 3", "3 of 20", "- 3 -" and lower-case roman
    numerals are always dropped; a bare number is dropped when its difference from the
    physical page number is one that recurs across the document (so the printed numbering
    may start anywhere, but a "147" that happens to end a table is kept).
    """
    n = len(pages)
    edges = {p.index: _edge_indices(p) for p in pages}

    # --- repeated lines
    repeated: set[str] = set()
    if n >= 2:
        counts: Counter[str] = Counter()
        for page in pages:
            keys = {_repeat_key(page.lines[i].text) for i in edges[page.index]}
            counts.update(k for k in keys if len(k) >= 3)
        threshold = n if n <= 2 else max(3, math.ceil(0.4 * n))
        repeated = {k for k, c in counts.items() if c >= threshold}

    # --- page numbers: which offsets (printed number - physical number) recur, counting
    # bare numbers and numbers that start or end a short edge line ("Chapter 2: Findings 14")
    offsets: Counter[int] = Counter()
    embedded: dict[tuple[int, int], int] = {}
    for page in pages:
        for i in edges[page.index]:
            number = _edge_number(page.lines[i].text)
            if number is not None:
                embedded[(page.index, i)] = number
                offsets[number - (page.index + 1)] += 1
    total = sum(offsets.values())
    good_offsets = {
        o for o, c in offsets.items() if (c >= 2 and c >= 0.2 * total) or (n == 1 and o == 0)
    }
    # keys of edge lines carrying the page number: chapter-specific running headers repeat
    # on fewer pages than `threshold`, but the page number gives them away
    numbered_keys: Counter[str] = Counter()
    for (index, i), number in embedded.items():
        if number - (index + 1) in good_offsets:
            numbered_keys[_running_key(pages[index].lines[i].text)] += 1

    for page in pages:
        drop = set()
        for i in edges[page.index]:
            t = page.lines[i].text
            key = _running_key(t)
            number = embedded.get((page.index, i))
            page_number = number is not None and number - (page.index + 1) in good_offsets
            if _repeat_key(t) in repeated:
                drop.add(i)
            elif _PAGE_NO_EXPLICIT_RE.match(t) or _is_roman(t):
                drop.add(i)
            elif page_number and _PAGE_NO_BARE_RE.match(t):
                drop.add(i)
            elif page_number and len(key) >= 3 and numbered_keys[key] >= 2:
                drop.add(i)
        if drop:
            page.lines = [ln for i, ln in enumerate(page.lines) if i not in drop]


# ---------------------------------------------------------------------------------------
# Line classification
# ---------------------------------------------------------------------------------------

_LIST_START_RE = re.compile(
    r"^(?:\d{1,3}(?:\.\d{1,3})*[.)]?|\(\d{1,3}\)|\(?[a-z]\)|\(?[ivx]{1,4}\))\s+\S"
)
_NOTE_START_RE = re.compile(r"^(?:\d{1,3}|[*\u2020\u2021\u00a7])\s*\S")
_ENDS_SENTENCE_RE = re.compile(r"[.!?:;][\"'\u201d\u2019)\]]*$")
_NO_BREAK_END_RE = re.compile(r"[,\-\u2013\u2014/(\u00ad]$")
_WORD_END_RE = re.compile(r"([A-Za-z][A-Za-z'\u2019]*(?:-[A-Za-z][A-Za-z'\u2019]*)*)-$")
_WORD_START_RE = re.compile(r"^([A-Za-z0-9][A-Za-z'\u2019]*)")
_TOKEN_RE = re.compile(r"[A-Za-z][A-Za-z'\u2019]*(?:-[A-Za-z][A-Za-z'\u2019]*)*")
_HEADING_BAD_END = {
    "the", "a", "an", "and", "or", "of", "to", "in", "for", "with", "on", "by", "at", "from",
    "as", "that", "which", "is", "was", "were", "be", "not", "but", "their", "his", "her",
}  # fmt: skip

# Left parts after which a line-end hyphen is usually a real one ("multi-agency"), used
# only when the part after the break is itself a word found elsewhere in the document.
COMPOUND_PREFIXES = {
    "multi", "inter", "non", "self", "co", "pre", "post", "well", "cross", "anti", "ex",
    "step", "semi", "half", "long", "short", "full", "part", "under", "over", "out",
    "high", "low", "face", "child", "family", "young", "so", "mid", "on", "off", "re",
}  # fmt: skip


def _ends_sentence(text: str) -> bool:
    return bool(_ENDS_SENTENCE_RE.search(text))


def _starts_lower(text: str) -> bool:
    return bool(text) and text[0].islower()


def _starts_upperish(text: str) -> bool:
    return bool(text) and (text[0].isupper() or text[0].isdigit() or text[0] in "\"'\u2018\u201c(")


@dataclass
class Stats:
    body_size: float | None
    typical: float  # typical full line length in characters
    leading: dict[float, float]  # font size (rounded) -> typical baseline distance


def _stats(pages: list[PageInfo]) -> Stats:
    size_weight: Counter[float] = Counter()
    for p in pages:
        for ln in p.lines:
            if ln.size:
                size_weight[round(ln.size * 2) / 2] += len(ln.text)
    body_size = size_weight.most_common(1)[0][0] if size_weight else None

    lengths = sorted(
        len(ln.text)
        for p in pages
        for ln in p.lines
        if len(ln.text) >= 15 and (body_size is None or _same_size(ln.size, body_size))
    )
    if not lengths:
        lengths = sorted(len(ln.text) for p in pages for ln in p.lines) or [80]
    typical = float(lengths[min(len(lengths) - 1, int(0.8 * len(lengths)))])

    gaps: dict[float, list[float]] = {}
    for p in pages:
        for a, b in zip(p.lines, p.lines[1:]):
            if a.y is None or b.y is None or not a.size or not _same_size(a.size, b.size):
                continue
            gap = a.y - b.y
            if 0 < gap < 3 * a.size:
                gaps.setdefault(round(a.size * 2) / 2, []).append(gap)
    # the lower quartile: most baseline distances are line spacing, the rest paragraph spacing
    leading = {s: sorted(g)[len(g) // 4] for s, g in gaps.items() if len(g) >= 3}
    return Stats(body_size=body_size, typical=max(typical, 20.0), leading=leading)


def _same_size(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return True
    return abs(a - b) <= 0.6


def _split_notes(pages: list[PageInfo], stats: Stats) -> None:
    """Move footnotes (small type at the foot of the page, starting with a note number)
    from ``page.lines`` to ``page.notes``, in place."""
    if stats.body_size is None:
        return
    small = stats.body_size * 0.88
    for page in pages:
        lines = page.lines
        k = len(lines)
        while k > 0 and lines[k - 1].size is not None and lines[k - 1].size <= small:
            k -= 1
        if k == len(lines) or k == 0:
            continue
        # the run must start with a note number and sit below the last body line
        while k < len(lines) and not _NOTE_START_RE.match(lines[k].text):
            k += 1
        if k == len(lines):
            continue
        last_body_y = lines[k - 1].y
        first_note_y = lines[k].y
        if last_body_y is not None and first_note_y is not None and first_note_y >= last_body_y:
            continue
        page.notes = lines[k:]
        page.lines = lines[:k]


# ---------------------------------------------------------------------------------------
# Paragraphs
# ---------------------------------------------------------------------------------------


class Vocabulary:
    """Words of the document, for the hyphenation rule."""

    def __init__(self, lines: list[Line]):
        self.plain: set[str] = set()
        self.hyphenated: set[str] = set()
        previous_broken = False
        for ln in lines:
            tokens = _TOKEN_RE.findall(ln.text)
            broken = bool(_WORD_END_RE.search(ln.text)) or ln.text.endswith("\u00ad")
            if previous_broken and tokens and ln.text[:1].isalpha():
                tokens = tokens[1:]  # the tail of a word broken at the previous line end
            if broken and tokens:
                tokens = tokens[:-1]  # the head of a word broken at this line end
            for tok in tokens:
                tok = tok.lower()
                if "-" in tok:
                    self.hyphenated.add(tok)
                    self.plain.update(tok.split("-"))
                else:
                    self.plain.add(tok)
            previous_broken = broken


def _join_hyphenated(left_line: str, right_line: str, vocab: Vocabulary) -> str | None:
    """How to join a line ending in a hyphen to the next line; None if it doesn't apply.

    Returns "" (drop the hyphen, no space) or "-" (keep the hyphen, no space).  The rule,
    in order, for ``...left-`` + ``right...``:

    1. a soft hyphen (U+00AD) is always dropped;
    2. ``right`` starts with a capital or a digit: keep ("Anti-Social", "COVID-19");
    3. ``left-right`` is written with a hyphen elsewhere in the document: keep;
    4. ``leftright`` is written as one word elsewhere in the document: drop;
    5. ``left`` is a common compound prefix (multi, inter, non, self, co, pre, well, ...) and
       ``right`` is a word found on its own elsewhere in the document: keep
       ("multi-agency"; but "pre-vious" -> "previous", since "vious" is no word);
    6. otherwise the hyphen was put in by the typesetter: drop ("safe-guarding").
    """
    if left_line.endswith("\u00ad"):
        return ""
    m_left = _WORD_END_RE.search(left_line)
    m_right = _WORD_START_RE.match(right_line)
    if not m_left or not m_right:
        return None
    left = m_left.group(1)
    right = m_right.group(1)
    if right[0].isupper() or right[0].isdigit():
        return "-"
    last = left.rsplit("-", 1)[-1].lower()
    if f"{left}-{right}".lower() in vocab.hyphenated or f"{last}-{right}".lower() in vocab.hyphenated:
        return "-"
    if f"{last}{right}".lower() in vocab.plain:
        return ""
    if last in COMPOUND_PREFIXES and right.lower() in vocab.plain:
        return "-"
    return ""


@dataclass
class Block:
    kind: str  # "heading" | "para" | "bullet"
    lines: list[Line] = field(default_factory=list)


class Assembler:
    def __init__(self, stats: Stats, vocab: Vocabulary):
        self.stats = stats
        self.vocab = vocab

    # -- line predicates ------------------------------------------------------------

    def _short(self, ln: Line, frac: float) -> bool:
        return len(ln.text) < frac * self.stats.typical

    def _ended(self, ln: Line | None, block: Block | None) -> bool:
        """Does ``ln`` (the previous line) end a block?"""
        if ln is None or block is None:
            return True
        if block.kind == "heading":
            return True
        return _ends_sentence(ln.text) or (
            self._short(ln, 0.6) and not _NO_BREAK_END_RE.search(ln.text)
        )

    def _big(self, ln: Line) -> bool:
        body = self.stats.body_size
        return body is not None and ln.size is not None and ln.size >= body * 1.15

    def _is_heading(self, prev: Line | None, block: Block | None, cur: Line, nxt: Line | None) -> bool:
        text = cur.text
        if text.startswith(BULLET) or len(text) > 120 or not any(c.isalpha() for c in text):
            return False
        if len(text.split()) > 15 or not _starts_upperish(text):
            return False
        if re.search(r"[.,;]$", text):
            return False
        last_word = re.sub(r"\W", "", text.split()[-1].lower())
        if last_word in _HEADING_BAD_END:
            return False
        if not self._ended(prev, block):
            return False
        if nxt is not None and nxt.page == cur.page and _starts_lower(nxt.text):
            # a wrapped heading continues in the same (large or bold) type
            if not ((self._big(cur) and self._big(nxt)) or (cur.bold and nxt.bold)):
                return False
        if self._big(cur):
            return True
        if cur.bold and not (nxt is not None and nxt.bold and not self._short(nxt, 0.7)):
            return self._short(cur, 0.8)
        # no font hints: a short line that stands alone
        return (
            self._short(cur, 0.6)
            and not text.endswith(":")
            and (nxt is None or _starts_upperish(nxt.text) or nxt.text.startswith(BULLET))
            and not _LIST_START_RE.match(text)
        )

    def _gap_break(self, prev: Line, cur: Line) -> bool:
        if prev.page != cur.page or prev.y is None or cur.y is None or not prev.size:
            return False
        gap = prev.y - cur.y
        if gap <= 0:
            return False  # new column or odd order: no information
        lead = self.stats.leading.get(round(prev.size * 2) / 2, prev.size * 1.2)
        return gap > 1.45 * lead

    # -- assembly -------------------------------------------------------------------

    def blocks(self, lines: list[Line], open_block: Block | None) -> tuple[list[Block], Block | None]:
        """Group ``lines`` into blocks.  ``open_block`` is the unfinished last block of
        the previous page (continued if the first line continues it).  Returns the
        finished blocks and the still-open last block."""
        done: list[Block] = []
        block = open_block
        prev = block.lines[-1] if block else None
        for i, cur in enumerate(lines):
            nxt = lines[i + 1] if i + 1 < len(lines) else None
            heading = self._is_heading(prev, block, cur, nxt)
            if block is None:
                block = Block(self._kind(cur, heading), [cur])
            elif self._continues(prev, block, cur, heading):
                block.lines.append(cur)
            else:
                done.append(block)
                block = Block(self._kind(cur, heading), [cur])
            prev = cur
        return done, block

    def _kind(self, cur: Line, heading: bool) -> str:
        if cur.text.startswith(BULLET):
            return "bullet"
        return "heading" if heading else "para"

    def _continues(self, prev: Line, block: Block, cur: Line, heading: bool) -> bool:
        text = cur.text
        if text.startswith(BULLET):
            return False
        if _LIST_START_RE.match(text) and self._ended(prev, block):
            return False
        if block.kind == "heading":
            same_type = (self._big(prev) and self._big(cur) and _same_size(prev.size, cur.size)) or (
                prev.bold and cur.bold
            )
            return same_type and cur.page == prev.page and not self._gap_break(prev, cur) and (
                heading or _starts_lower(text)
            )
        if heading:
            return False
        if self._gap_break(prev, cur):
            return False
        if _starts_lower(text):
            return True
        if _ends_sentence(prev.text) and self._short(prev, 0.8):
            return False
        if (
            self._short(prev, 0.55)
            and not _NO_BREAK_END_RE.search(prev.text)
            and _starts_upperish(text)
        ):
            return False
        return True

    # -- rendering ------------------------------------------------------------------

    def join_lines(self, lines: list[Line]) -> list[tuple[str, str, Line]]:
        """The pieces of a block's text: (separator, text, line) for each line.  A
        separator of "" or "-" means the previous piece's final hyphen is dropped and
        the words are joined (see ``_join_hyphenated``)."""
        pieces: list[tuple[str, str, Line]] = []
        prev_text = None
        for ln in lines:
            text = ln.text
            if prev_text is None:
                pieces.append(("", text, ln))
            else:
                hyphen = _join_hyphenated(prev_text, text, self.vocab)
                if hyphen is not None:
                    sep, last_text, last_line = pieces[-1]
                    pieces[-1] = (sep, last_text[:-1] + hyphen, last_line)
                    pieces.append(("", text, ln))
                elif re.search(r"(https?://|www\.)\S*/$", prev_text):
                    pieces.append(("", text, ln))  # a web address broken after a slash
                else:
                    pieces.append((" ", text, ln))
            prev_text = text
        return pieces


def _render(blocks: list[tuple[Block, list[tuple[str, str, Line]]]], n_pages: int) -> tuple[str, tuple[int, ...]]:
    out: list[str] = []
    pos = 0
    first: dict[int, int] = {}
    previous: Block | None = None
    for block, pieces in blocks:
        if previous is not None:
            sep = "\n" if (block.kind == "bullet" and previous.kind == "bullet") else "\n\n"
            out.append(sep)
            pos += len(sep)
        for k, (sep, piece, ln) in enumerate(pieces):
            if k == 0 and block.kind == "bullet" and not piece.startswith(f"{BULLET} "):
                piece = f"{BULLET} " + piece.lstrip(BULLET).lstrip()
            out.append(sep)
            pos += len(sep)
            if ln.page not in first:
                first[ln.page] = pos
            out.append(piece)
            pos += len(piece)
        previous = block
    text = "".join(out)
    if text:
        text += "\n"
    starts: list[int] = [0] * n_pages
    nxt = len(text)
    for p in range(n_pages - 1, -1, -1):
        if p in first:
            nxt = first[p]
        starts[p] = nxt
    for p in range(1, n_pages):  # footnotes moved after a continued paragraph: keep order
        starts[p] = max(starts[p], starts[p - 1])
    if starts:
        starts[0] = 0
    return text, tuple(starts)


# ---------------------------------------------------------------------------------------
# Opening, metadata, entry point
# ---------------------------------------------------------------------------------------


def _open(path: Path):
    import pypdf
    from pypdf.errors import DependencyError

    name = display_name(path)
    data = path.read_bytes()
    head = data[:1024]
    if b"%PDF-" not in head:
        if re.search(rb"<(!doctype html|html|head|body)", head, re.IGNORECASE):
            raise ReaderError(
                f"{name} is not a PDF: it is a web page saved with a .pdf name (often a "
                "login or error page saved instead of the report). Download the report "
                "again, or save the page with a .html name."
            )
        raise ReaderError(
            f"{name} is not a valid PDF (it does not start like a PDF file). The file is "
            "damaged or is another kind of file renamed to .pdf; get a fresh copy of the "
            "report and add that."
        )
    if b"%%EOF" not in data:
        raise ReaderError(
            f"{name} is incomplete or damaged (the end of the PDF is missing, as happens "
            "when a download is interrupted). Download or export the report again and add "
            "the new copy."
        )
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                result = reader.decrypt("")
            except DependencyError:
                raise ReaderError(
                    f"{name} is encrypted with a method this installation cannot open "
                    "(the 'cryptography' Python package is missing). Ask whoever runs the "
                    "service to install it, or save an unprotected copy of the PDF and add "
                    "that."
                ) from None
            if not result:
                raise ReaderError(
                    f"{name} is password-protected, so its text cannot be read. Open it with "
                    "the password, save a copy without a password (for example with 'Print "
                    "to PDF'), and add that copy."
                )
        pages = list(reader.pages)
    except ReaderError:
        raise
    except Exception as exc:
        raise ReaderError(
            f"{name} could not be read: the PDF is damaged ({_short_reason(exc)}). Download "
            "or export the report again and add the new copy."
        ) from None
    return reader, pages


def _short_reason(exc: Exception) -> str:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return reason[:120]


def _metadata(reader) -> dict[str, str]:
    metadata: dict[str, str] = {}
    try:
        info = reader.metadata
    except Exception:
        info = None
    if not info:
        return metadata

    def get(key):
        try:
            return info.get(key)
        except Exception:
            return None

    put(metadata, "title", clean_title(get("/Title")))
    put(metadata, "author", clean_value(get("/Author")))
    put(metadata, "date", normalize_date(get("/CreationDate")) or normalize_date(get("/ModDate")))
    subject = clean_value(get("/Subject"))
    if subject and subject != metadata.get("title"):
        put(metadata, "description", subject)
    return metadata


def _page_box(page) -> tuple[float | None, float | None]:
    try:
        box = page.cropbox
        return float(box.bottom), float(box.top)
    except Exception:
        return None, None


def read_pdf(path: Path) -> Extracted:
    name = display_name(path)
    reader, pdf_pages = _open(path)
    if not pdf_pages:
        raise ReaderError(f"{name} has no pages. Check that it is the right file and add it again.")

    pages: list[PageInfo] = []
    raw_chars = 0
    failures = 0
    for index, page in enumerate(pdf_pages):
        info = PageInfo(index=index)
        info.bottom, info.top = _page_box(page)
        try:
            info.lines, raw = _page_lines(page, index)
            raw_chars += sum(ch.isalnum() for ch in raw)
        except Exception:
            failures += 1
        pages.append(info)
    if failures == len(pdf_pages):
        raise ReaderError(
            f"{name} could not be read: the PDF is damaged (no page could be read). Download "
            "or export the report again and add the new copy."
        )
    if raw_chars < _min_chars(len(pdf_pages)):
        raise ReaderError(_ocr_message(name))

    _remove_running_lines(pages)
    _drop_contents_lines(pages)
    stats = _stats(pages)
    _split_notes(pages, stats)
    _merge_lone_markers(pages)
    vocab = Vocabulary([ln for p in pages for ln in p.lines + p.notes])
    asm = Assembler(stats, vocab)

    finished: list[Block] = []
    open_block: Block | None = None
    pending_notes: list[Block] = []
    for page in pages:
        done, open_block = asm.blocks(page.lines, open_block)
        if done and pending_notes:
            # the paragraph left open at the foot of the previous page has ended
            finished.append(done[0])
            finished.extend(pending_notes)
            pending_notes = []
            done = done[1:]
        finished.extend(done)
        if page.notes:
            note_blocks, last = asm.blocks(page.notes, None)
            pending_notes.extend(note_blocks + ([last] if last else []))
        if open_block is not None and not _may_continue(open_block):
            finished.append(open_block)
            open_block = None
        if open_block is None:
            finished.extend(pending_notes)
            pending_notes = []
    if open_block is not None:
        finished.append(open_block)
    finished.extend(pending_notes)

    rendered = [(b, asm.join_lines(b.lines)) for b in finished]
    text, page_starts = _render(rendered, len(pdf_pages))
    if sum(ch.isalnum() for ch in text) < _min_chars(len(pdf_pages)):
        # e.g. scanned pages that carry only a typed running header or page number
        raise ReaderError(_ocr_message(name))
    return Extracted(text=text, page_starts=page_starts, metadata=_metadata(reader), kind="pdf")


def _min_chars(n_pages: int) -> int:
    """Fewer letters and digits than this in the whole document: no real text layer."""
    return max(20, 5 * n_pages)


def _ocr_message(name: str) -> str:
    return (
        f"{name} has no extractable text; needs OCR. It looks like a scanned document "
        "(pictures of pages without a text layer). Run it through OCR - for example "
        "'Recognise text' in Adobe Acrobat or your scanner's 'searchable PDF' option - and "
        "add the searchable copy."
    )


def _may_continue(block: Block) -> bool:
    """Can the block left open at the foot of a page continue on the next page?"""
    return block.kind != "heading"


_TOC_LINE_RE = re.compile(r"(?:\.\s?){4,}\s*(?:\d{1,4}|[ivxlc]{1,7})$|\u2026\s*\d{1,4}$", re.IGNORECASE)


def _drop_contents_lines(pages: list[PageInfo]) -> None:
    """Table-of-contents entries ("2.1 Background ........ 4") are no document text."""
    for page in pages:
        page.lines = [ln for ln in page.lines if not _TOC_LINE_RE.search(ln.text)]


def _merge_lone_markers(pages: list[PageInfo]) -> None:
    """'•' or '35.' alone on a line belongs to the next line of the same page."""
    for page in pages:
        for attr in ("lines", "notes"):
            lines = getattr(page, attr)
            merged: list[Line] = []
            carry: Line | None = None
            for ln in lines:
                if carry is not None:
                    ln = Line(
                        text=f"{carry.text} {ln.text}",
                        page=ln.page,
                        y=carry.y if carry.y is not None else ln.y,
                        size=ln.size,
                        bold=ln.bold,
                    )
                    carry = None
                if ln.text == BULLET or re.fullmatch(r"\d{1,3}(?:\.\d{1,3})*\.", ln.text):
                    carry = ln
                    continue
                merged.append(ln)
            if carry is not None:
                merged.append(carry)
            setattr(page, attr, merged)
