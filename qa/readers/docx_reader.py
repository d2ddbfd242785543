"""Word documents (.docx, python-docx).

* Body paragraphs and tables in document order (content controls and text boxes included;
  tracked deletions, field codes and the table of contents left out).
* Paragraphs in a "Heading n", "Title" or "Subtitle" style (or a style based on one, or with
  an outline level) are headings, on their own line.
* List paragraphs: Word's automatic numbering is rendered as Word displays it, so an
  auto-numbered paragraph reads "35. The panel ..." exactly as in the document (case
  reviews number their paragraphs this way, and citations use those numbers); bulleted
  items (and list paragraphs whose numbering can't be resolved) become "• item" lines.
* Tables: one line per row, cells joined by " | ", the first (header) row included.  A
  one-column table is a box around text, so its content is read as ordinary paragraphs.
* Footnotes follow the body, in reference order, as "1 Note text." paragraphs.
* Metadata from the core properties (title, author, created -> date) and the Company
  field of the extended properties (-> publisher).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from ._common import (
    Block,
    Extracted,
    ReaderError,
    clean_title,
    clean_value,
    collapse_ws,
    display_name,
    normalize_date,
    put,
    render_blocks,
    require_text,
)

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# The python-docx default template says it was created at this moment; it is no date of
# the document.
_TEMPLATE_STAMP = "2013-12-23"


def _open(path: Path):
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    name = display_name(path)
    with path.open("rb") as fh:
        head = fh.read(8)
    if head == _OLE_MAGIC:
        data = path.read_bytes()
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise ReaderError(
                f"{name} is password-protected, so its text cannot be read. Open it in Word "
                "with the password, remove the password (File > Info > Protect Document), "
                "save, and add it again."
            )
        raise ReaderError(
            f"{name} is an old-format Word file (Word 97-2003 .doc) with a .docx name. Open "
            "it in Word and use 'Save As' > 'Word Document (.docx)', then add the new file."
        )
    if not zipfile.is_zipfile(path):
        raise ReaderError(
            f"{name} is not a valid Word document: the file is damaged or is another kind of "
            "file renamed to .docx. Save it again from Word (or as PDF) and add the new copy."
        )
    try:
        return docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError) as exc:
        reason = str(exc)[:120]
    except ValueError as exc:
        if "content type" in str(exc):
            raise ReaderError(
                f"{name} is not an ordinary Word document (it may be a template or a "
                "macro-enabled file). Open it in Word, save it as 'Word Document (.docx)' and "
                "add the new file."
            ) from None
        reason = str(exc)[:120]
    except Exception as exc:  # lxml XMLSyntaxError and friends
        reason = f"{type(exc).__name__}: {str(exc)[:120]}"
    raise ReaderError(
        f"{name} could not be read: the Word document is damaged ({reason}). Save it again "
        "from Word (or as PDF) and add the new copy."
    )


# ---------------------------------------------------------------------------------------
# Numbering
# ---------------------------------------------------------------------------------------


def _to_roman(n: int) -> str:
    out = []
    for value, sym in (
        (1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
        (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"),
    ):  # fmt: skip
        while n >= value:
            out.append(sym)
            n -= value
    return "".join(out)


def _to_letters(n: int) -> str:
    # Word: a..z, aa..zz, aaa..
    n = max(n, 1)
    letter = "abcdefghijklmnopqrstuvwxyz"[(n - 1) % 26]
    return letter * ((n - 1) // 26 + 1)


def _format_number(n: int, fmt: str) -> str:
    if fmt == "lowerLetter":
        return _to_letters(n)
    if fmt == "upperLetter":
        return _to_letters(n).upper()
    if fmt == "lowerRoman":
        return _to_roman(n)
    if fmt == "upperRoman":
        return _to_roman(n).upper()
    if fmt == "decimalZero":
        return f"{n:02d}"
    return str(n)


def _val(el, tag: str, default: str | None = None) -> str | None:
    if el is None:
        return default
    child = el.find(f"{W}{tag}")
    if child is None:
        return default
    return child.get(f"{W}val", default)


class Numbering:
    """Word automatic numbering: what each list paragraph displays before its text."""

    def __init__(self, document):
        self.levels: dict[str, dict[int, tuple[str, str, int]]] = {}  # abstractNumId -> ilvl -> (fmt, lvlText, start)
        self.num_abstract: dict[str, str] = {}
        self.num_start: dict[str, dict[int, int]] = {}
        self.counters: dict[str, dict[int, int]] = {}
        try:
            root = document.part.numbering_part.element
        except Exception:
            return
        for absnum in root.findall(f"{W}abstractNum"):
            aid = absnum.get(f"{W}abstractNumId")
            levels = {}
            for lvl in absnum.findall(f"{W}lvl"):
                ilvl = int(lvl.get(f"{W}ilvl", "0"))
                fmt = _val(lvl, "numFmt", "decimal") or "decimal"
                text = _val(lvl, "lvlText", "") or ""
                start = _int(_val(lvl, "start", "1"), 1)
                levels[ilvl] = (fmt, text, start)
            self.levels[aid] = levels
        for num in root.findall(f"{W}num"):
            nid = num.get(f"{W}numId")
            self.num_abstract[nid] = _val(num, "abstractNumId")
            starts = {}
            for override in num.findall(f"{W}lvlOverride"):
                start = _val(override, "startOverride")
                if start is not None:
                    starts[int(override.get(f"{W}ilvl", "0"))] = _int(start, 1)
            self.num_start[nid] = starts

    def label(self, num_id: str, ilvl: int) -> str | None:
        """The displayed label ("35.", "4.2", "a)", "•"), "" for none, None if unknown."""
        levels = self.levels.get(self.num_abstract.get(num_id) or "")
        if not levels or ilvl not in levels:
            return None
        fmt, text, start = levels[ilvl]
        start = self.num_start.get(num_id, {}).get(ilvl, start)
        counters = self.counters.setdefault(num_id, {})
        counters[ilvl] = counters[ilvl] + 1 if ilvl in counters else start
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        if fmt == "bullet":
            return "\u2022"
        if fmt == "none" or not text:
            return ""

        def repl(m: re.Match) -> str:
            k = int(m.group(1)) - 1
            lvl_fmt, _, lvl_start = levels.get(k, ("decimal", "", 1))
            value = counters.get(k, self.num_start.get(num_id, {}).get(k, lvl_start))
            return _format_number(value, lvl_fmt)

        return re.sub(r"%([1-9])", repl, text).strip()


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


# ---------------------------------------------------------------------------------------
# Paragraph text
# ---------------------------------------------------------------------------------------

_SKIP_TAGS = {
    f"{W}delText", f"{W}instrText", f"{W}del", f"{W}moveFrom", f"{W}pPr", f"{W}rPr",
    f"{MC}Fallback", f"{W}txbxContent", f"{W}footnoteReference", f"{W}endnoteReference",
}  # fmt: skip


def _para_text(p, footnote_refs: list[str] | None = None) -> str:
    parts: list[str] = []

    def walk(el):
        for child in el:
            tag = child.tag
            if not isinstance(tag, str) or tag in _SKIP_TAGS:
                if tag == f"{W}footnoteReference" and footnote_refs is not None:
                    fid = child.get(f"{W}id")
                    if fid is not None:
                        footnote_refs.append(fid)
                continue
            if tag == f"{W}t":
                parts.append(child.text or "")
            elif tag in (f"{W}tab", f"{W}br", f"{W}cr"):
                parts.append(" ")
            elif tag == f"{W}noBreakHyphen":
                parts.append("-")
            elif tag == f"{W}p":
                continue  # nested paragraph (text box): read separately
            else:
                walk(child)

    walk(p)
    return collapse_ws("".join(parts))


def _text_boxes(p) -> list:
    """Paragraphs inside text boxes anchored in paragraph ``p`` (preferred rendering only)."""
    found = []

    def walk(el):
        for child in el:
            if not isinstance(child.tag, str) or child.tag == f"{MC}Fallback":
                continue
            if child.tag == f"{W}txbxContent":
                found.extend(child.iter(f"{W}p"))
            else:
                walk(child)

    walk(p)
    return found


# ---------------------------------------------------------------------------------------
# Document walk
# ---------------------------------------------------------------------------------------


class _Walker:
    def __init__(self, document):
        from docx.text.paragraph import Paragraph

        self.document = document
        self.Paragraph = Paragraph
        self.numbering = Numbering(document)
        self.blocks: list[Block] = []
        self.footnote_refs: list[str] = []
        self.table_count = 0
        self._style_cache: dict[str, tuple[bool, bool, bool]] = {}

    # style: (is_heading, is_list, is_toc)
    def _style_info(self, style) -> tuple[bool, bool, bool]:
        if style is None:
            return False, False, False
        key = style.style_id or style.name or ""
        if key in self._style_cache:
            return self._style_cache[key]
        heading = listy = toc = False
        s, depth = style, 0
        while s is not None and depth < 10:
            name = (s.name or "").lower()
            if re.match(r"(heading\s*\d|title$|subtitle$)", name):
                heading = True
            if name.startswith("list"):
                listy = True
            if re.match(r"(toc\s*\d|toc heading|table of contents)", name):
                toc = True
            ppr = s.element.pPr
            if ppr is not None and _val(ppr, "outlineLvl") not in (None, "9"):
                heading = True
            s = s.base_style
            depth += 1
        info = (heading, listy, toc)
        self._style_cache[key] = info
        return info

    def _num_pr(self, p, style) -> tuple[str | None, int]:
        ppr = p.find(f"{W}pPr")
        numpr = ppr.find(f"{W}numPr") if ppr is not None else None
        num_id = ilvl = None
        if numpr is not None:
            num_id = _val(numpr, "numId")
            ilvl = _val(numpr, "ilvl")
        s, depth = style, 0
        while num_id is None and s is not None and depth < 10:
            sppr = s.element.pPr
            snum = sppr.find(f"{W}numPr") if sppr is not None else None
            if snum is not None:
                num_id = _val(snum, "numId")
                ilvl = ilvl or _val(snum, "ilvl")
            s = s.base_style
            depth += 1
        return num_id, _int(ilvl, 0)

    def paragraph(self, p, parent) -> None:
        para = self.Paragraph(p, parent)
        try:
            style = para.style
        except Exception:
            style = None
        heading, listy, toc = self._style_info(style)
        ppr = p.find(f"{W}pPr")
        if ppr is not None and _val(ppr, "outlineLvl") not in (None, "9"):
            heading = True
        if toc:
            return
        text = _para_text(p, self.footnote_refs)
        num_id, ilvl = self._num_pr(p, style)
        label = None
        if num_id is not None and num_id != "0":
            label = self.numbering.label(num_id, ilvl)
            if label is None:
                label = "\u2022"
        elif listy and not heading:
            label = "\u2022"
        if text:
            if heading:
                self.blocks.append(Block("heading", f"{label} {text}" if label and label != "\u2022" else text))
            elif label == "\u2022":
                self.blocks.append(Block("bullet", text, group=_int(num_id, -1)))
            elif label:
                self.blocks.append(Block("para", f"{label} {text}"))
            else:
                self.blocks.append(Block("para", text))
        for box_p in _text_boxes(p):
            box_text = _para_text(box_p)
            if box_text:
                self.blocks.append(Block("para", box_text))

    def table(self, tbl, parent) -> None:
        rows = [tr for tr in tbl if tr.tag == f"{W}tr"]
        widths = [len([tc for tc in tr if tc.tag == f"{W}tc"]) for tr in rows]
        if widths and max(widths) <= 1:
            # a one-column table frames text: read its content as paragraphs
            for tr in rows:
                for tc in tr:
                    if tc.tag == f"{W}tc":
                        self.container(tc, parent)
            return
        self.table_count += 1
        for tr in rows:
            cells = []
            for tc in tr:
                if tc.tag == f"{W}sdt":
                    content = tc.find(f"{W}sdtContent")
                    tcs = [c for c in content if c.tag == f"{W}tc"] if content is not None else []
                elif tc.tag == f"{W}tc":
                    tcs = [tc]
                else:
                    continue
                for cell in tcs:
                    texts = [_para_text(p, self.footnote_refs) for p in cell.iter(f"{W}p")]
                    cells.append(collapse_ws(" ".join(t for t in texts if t)))
            if any(cells):
                line = " | ".join(cells)
                self.blocks.append(Block("row", collapse_ws(line), group=self.table_count))

    def container(self, el, parent) -> None:
        for child in el:
            tag = child.tag
            if tag == f"{W}p":
                self.paragraph(child, parent)
            elif tag == f"{W}tbl":
                self.table(child, parent)
            elif tag == f"{W}sdt":
                content = child.find(f"{W}sdtContent")
                if content is not None:
                    self.container(content, parent)
            elif tag in (f"{W}customXml", f"{W}ins", f"{W}moveTo", f"{W}smartTag"):
                self.container(child, parent)

    def footnotes(self) -> None:
        if not self.footnote_refs:
            return
        notes: dict[str, str] = {}
        try:
            for rel in self.document.part.rels.values():
                if rel.reltype.endswith("/footnotes") and not rel.is_external:
                    from lxml import etree

                    root = etree.fromstring(rel.target_part.blob)
                    for fn in root.findall(f"{W}footnote"):
                        fid = fn.get(f"{W}id")
                        texts = [_para_text(p) for p in fn.iter(f"{W}p")]
                        notes[fid] = collapse_ws(" ".join(t for t in texts if t))
        except Exception:
            return
        seen: set[str] = set()
        number = 0
        for fid in self.footnote_refs:
            if fid in seen:
                continue
            seen.add(fid)
            number += 1
            if notes.get(fid):
                self.blocks.append(Block("para", f"{number} {notes[fid]}"))


# Company values that say who set up the computer, not who published the report.
_NOT_A_PUBLISHER = {
    "", "microsoft", "microsoft corporation", "hp", "hewlett-packard", "hewlett packard", "dell",
    "lenovo", "home", "personal", "private", "self", "none", "company", "organisation",
    "organization",
}  # fmt: skip


def _metadata(document) -> dict[str, str]:
    metadata: dict[str, str] = {}
    try:
        props = document.core_properties
        put(metadata, "title", clean_title(props.title))
        put(metadata, "author", clean_value(props.author))
        created = normalize_date(props.created)
        if created and not (created == _TEMPLATE_STAMP and (props.author or "") in ("python-docx", "")):
            put(metadata, "date", created)
        subject = clean_value(props.subject)
        if subject and subject != metadata.get("title"):
            put(metadata, "description", subject)
    except Exception:
        pass
    try:
        for part in document.part.package.iter_parts():
            if str(part.partname) == "/docProps/app.xml":
                m = re.search(rb"<(?:\w+:)?Company>([^<]*)</(?:\w+:)?Company>", part.blob)
                if m:
                    company = clean_value(m.group(1).decode("utf-8", "replace"))
                    if company and company.lower().strip(" .,-") not in _NOT_A_PUBLISHER:
                        put(metadata, "publisher", company)
                break
    except Exception:
        pass
    return metadata


def read_docx(path: Path) -> Extracted:
    document = _open(path)
    walker = _Walker(document)
    body = document.element.body
    walker.container(body, document._body)
    walker.footnotes()
    text = render_blocks(walker.blocks)
    require_text(text, path)
    return Extracted(text=text, page_starts=(), metadata=_metadata(document), kind="docx")
