"""Web pages (.html / .htm), BeautifulSoup with the standard library's html.parser.

* Site chrome is dropped: script/style/noscript/template/svg/iframe/form/button, nav, aside,
  the page's header and footer (a <header>/<footer> inside <article> or <main> is the
  article's own and is kept), hidden elements, and elements whose role, class or id says
  navigation, menu, breadcrumbs, cookie/consent banner, skip link, sharing, pagination,
  sidebar and the like.
* The content root is <main> (or role="main") when present, else the <article> elements,
  else <body>.
* Headings on their own line, list items as "• item", table rows as "a | b | c" (first
  row included), <pre> kept as is, other blocks one paragraph per line.
* Metadata: og:title > <title> (title); meta author / article:author / dc.creator
  (author); og:site_name / meta publisher / dc.publisher (publisher); meta date /
  article:published_time / dc.date / dcterms.created / citation_publication_date, else a
  <time datetime> in the content (date); link rel=canonical > og:url (source_url, absolute
  http(s) only); meta description / og:description (description).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin

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

_DROP_TAGS = {
    "script", "style", "noscript", "template", "svg", "iframe", "form", "button", "select",
    "input", "textarea", "nav", "aside", "dialog", "canvas", "object", "embed", "map",
    "head", "title", "meta", "link",
}  # fmt: skip
_CHROME_ROLES = {
    "navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar",
    "dialog", "alertdialog", "toolbar",
}  # fmt: skip
# Words that, as a whole word of a class or id, mark chrome.
_CHROME_WORDS = {
    "nav", "navbar", "navigation", "menu", "menubar", "submenu", "breadcrumb", "breadcrumbs",
    "cookie", "cookies", "consent", "gdpr", "skip", "skiplink", "sidebar", "share", "sharing",
    "social", "pagination", "pager", "newsletter", "subscribe", "advert", "advertisement",
    "ads", "popup", "modal", "masthead", "footer", "toolbar",
}  # fmt: skip
# Substrings that mark chrome even inside a longer word ("mainNavigation", "cookieBar").
_CHROME_SUBSTRINGS = ("breadcrumb", "cookie", "navigation", "navbar", "skiplink", "skip-link", "consent")
_NEVER_DROP = {"html", "body", "main", "article"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "header", "footer", "blockquote", "address",
    "figure", "figcaption", "details", "summary", "dl", "dt", "dd", "ul", "ol", "li", "table",
    "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "hr", "center", "fieldset",
    "legend", "body", "html",
}  # fmt: skip


def _words(value) -> list[str]:
    if isinstance(value, (list, tuple)):
        value = " ".join(value)
    return [w for w in re.split(r"[^a-z0-9]+", str(value or "").lower()) if w]


def _is_chrome(el) -> bool:
    name = el.name
    if name in _NEVER_DROP:
        return False
    attrs = el.attrs or {}
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true":
        return True
    style = str(attrs.get("style", "")).replace(" ", "").lower()
    if "display:none" in style or "visibility:hidden" in style:
        return True
    role = str(attrs.get("role", "")).lower()
    if role in _CHROME_ROLES:
        return True
    for attr in ("class", "id"):
        value = attrs.get(attr)
        if not value:
            continue
        words = _words(value)
        if any(w in _CHROME_WORDS for w in words):
            return True
        raw = (" ".join(value) if isinstance(value, (list, tuple)) else str(value)).lower()
        if any(s in raw for s in _CHROME_SUBSTRINGS):
            return True
        if attr == "id" and raw in ("header", "site-header", "global-header", "page-header-nav"):
            return True
        if attr == "class" and any(w in ("site-header", "global-header") for w in value):
            return True
    return False


def _inside(el, names: set[str]) -> bool:
    for parent in el.parents:
        if parent.name in names:
            return True
    return False


def _strip_chrome(root) -> None:
    from bs4 import Comment, Declaration, Doctype, ProcessingInstruction

    for node in root.find_all(string=lambda s: isinstance(s, (Comment, Doctype, Declaration, ProcessingInstruction))):
        node.extract()
    for el in root.find_all(list(_DROP_TAGS)):
        el.decompose()
    for el in root.find_all(["header", "footer"]):
        if el.decomposed:
            continue
        if not _inside(el, {"article", "main"}):
            el.decompose()
    total = len(collapse_ws(root.get_text(" "))) or 1
    for el in root.find_all(True):
        if el.decomposed:
            continue
        if _is_chrome(el) and not _holds_content(el, total):
            el.decompose()


def _holds_content(el, total: int) -> bool:
    """A wrapper whose class merely mentions chrome (``<div class="page has-sidebar">``)
    must not take the report with it: keep elements that contain the main content or
    most of the page's text."""
    if el.find(["main", "article", "h1"]) is not None:
        return True
    return len(collapse_ws(el.get_text(" "))) > 0.4 * total


class _Renderer:
    def __init__(self):
        self.blocks: list[Block] = []
        self.inline: list[str] = []
        self.list_count = 0
        self.table_count = 0

    def flush(self) -> None:
        text = collapse_ws("".join(self.inline))
        self.inline = []
        if text:
            self.blocks.append(Block("para", text))

    def walk(self, el) -> None:
        from bs4 import NavigableString, Tag

        for child in el.children:
            if isinstance(child, NavigableString):
                self.inline.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name == "br":
                self.inline.append(" ")
            elif name in _HEADINGS:
                self.flush()
                text = collapse_ws(child.get_text(" "))
                if text:
                    self.blocks.append(Block("heading", text))
            elif name in ("ul", "ol", "menu"):
                self.flush()
                self.list_items(child)
            elif name == "table":
                self.flush()
                self.table(child)
            elif name == "pre":
                self.flush()
                text = child.get_text()
                if text.strip():
                    self.blocks.append(Block("pre", text))
            elif name == "hr":
                self.flush()
            elif name in _BLOCK_TAGS:
                self.flush()
                self.walk(child)
                self.flush()
            elif name == "img":
                continue
            else:
                self.walk(child)

    def list_items(self, lst) -> None:
        self.list_count += 1
        group = self.list_count
        for li in lst.find_all("li", recursive=False):
            sub = _Renderer()
            sub.list_count = self.list_count
            sub.table_count = self.table_count
            sub.walk(li)
            sub.flush()
            # the item's own text, then its nested items (as bullets of the same list)
            head: list[str] = []
            rest: list[Block] = []
            for b in sub.blocks:
                if b.kind in ("bullet", "row", "pre") or rest:
                    rest.append(b)
                else:
                    head.append(b.text)
            text = collapse_ws(" ".join(head))
            if text:
                self.blocks.append(Block("bullet", text, group=group))
            for b in rest:
                self.blocks.append(Block("bullet", b.text, group=group) if b.kind == "bullet" else b)
            self.list_count = max(self.list_count, sub.list_count)
            self.table_count = max(self.table_count, sub.table_count)

    def table(self, table) -> None:
        rows = []
        for tr in table.find_all("tr"):
            if tr.find_parent("table") is not table:
                continue  # a nested table's row
            cells = [collapse_ws(c.get_text(" ")) for c in tr.find_all(["td", "th"], recursive=False)]
            if any(cells):
                rows.append(cells)
        if not rows:
            return
        if max(len(r) for r in rows) <= 1:  # a layout table: its cells are paragraphs
            for r in rows:
                for cell in r:
                    if cell:
                        self.blocks.append(Block("para", cell))
            return
        self.table_count += 1
        caption = table.find("caption")
        if caption is not None:
            text = collapse_ws(caption.get_text(" "))
            if text:
                self.blocks.append(Block("para", text))
        for cells in rows:
            self.blocks.append(Block("row", collapse_ws(" | ".join(cells)), group=self.table_count))


def _meta(soup, *keys: str) -> str | None:
    wanted = {k.lower() for k in keys}
    for tag in soup.find_all("meta"):
        key = (tag.get("name") or tag.get("property") or tag.get("itemprop") or "").strip().lower()
        if key in wanted:
            value = tag.get("content")
            if value and value.strip():
                return value.strip()
    return None


def _metadata(soup) -> dict[str, str]:
    metadata: dict[str, str] = {}
    title_tag = soup.find("title")
    put(metadata, "title", clean_title(_meta(soup, "og:title", "dc.title", "citation_title")))
    if title_tag is not None:
        put(metadata, "title", clean_title(title_tag.get_text(" ")))
    put(metadata, "author", clean_value(_meta(soup, "author", "article:author", "dc.creator", "citation_author")))
    put(metadata, "publisher", clean_value(_meta(soup, "og:site_name", "publisher", "dc.publisher", "citation_publisher")))
    for key in (
        "date", "article:published_time", "dc.date", "dc.date.issued", "dcterms.created",
        "dcterms.issued", "citation_publication_date", "citation_date", "datepublished",
        "publication_date", "article:modified_time", "dcterms.modified",
    ):  # fmt: skip
        value = normalize_date(_meta(soup, key))
        if value:
            put(metadata, "date", value)
            break
    base = None
    base_tag = soup.find("base", href=True)
    if base_tag is not None and re.match(r"https?://", base_tag["href"], re.IGNORECASE):
        base = base_tag["href"]
    candidates = []
    for link in soup.find_all("link", href=True):
        rel = link.get("rel") or []
        rel = rel if isinstance(rel, list) else [rel]
        if "canonical" in [r.lower() for r in rel]:
            candidates.append(link["href"])
    og_url = _meta(soup, "og:url")
    if og_url:
        candidates.append(og_url)
    for href in candidates:
        href = href.strip()
        if base and not re.match(r"[a-z]+:", href, re.IGNORECASE):
            href = urljoin(base, href)
        if re.match(r"https?://\S+$", href, re.IGNORECASE):
            put(metadata, "source_url", href)
            break
    description = clean_value(_meta(soup, "description", "og:description", "dc.description"))
    put(metadata, "description", description)
    return metadata


def read_html(path: Path) -> Extracted:
    from bs4 import BeautifulSoup

    data = path.read_bytes()
    if data[:5] == b"%PDF-":
        raise ReaderError(
            f"{display_name(path)} is a PDF saved with a web-page name. Rename it to .pdf and "
            "add it again."
        )
    soup = BeautifulSoup(data, "html.parser")
    metadata = _metadata(soup)

    body = soup.body or soup
    _strip_chrome(body)
    roots = body.find_all("main") or body.find_all(attrs={"role": "main"})
    if not roots:
        roots = [a for a in body.find_all("article") if a.find_parent("article") is None]
    roots = [r for r in roots if r.find_parent(["main", "article"]) is None] or roots
    if not roots or not any(collapse_ws(r.get_text(" ")) for r in roots):
        roots = [body]

    if "date" not in metadata:
        for root in roots:
            t = root.find("time", datetime=True)
            if t is not None and normalize_date(t["datetime"]):
                metadata["date"] = normalize_date(t["datetime"])
                break

    renderer = _Renderer()
    for root in roots:
        renderer.walk(root)
        renderer.flush()
    text = render_blocks(renderer.blocks)
    require_text(
        text,
        path,
        "The page may load its content with JavaScript: open it in a browser, wait until the "
        "report is shown, save it as 'Web page, complete' or print it to PDF, and add that.",
    )
    return Extracted(text=text, page_starts=(), metadata=metadata, kind="html")
