"""Plain text (.txt) and Markdown (.md) files.

The text is returned exactly as decoded from the file - no newline or whitespace
normalisation - so offsets into ``Extracted.text`` are offsets into the file's text.
Decoding: UTF-8, and UTF-8 with a byte-order mark (the mark itself is not part of the text).
Anything else is refused with a message asking for a UTF-8 copy, rather than guessed.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from ._common import Extracted, ReaderError, clean_value, display_name, require_text

_MD_H1_RE = re.compile(r"^ {0,3}#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_FENCE_RE = re.compile(r"^ {0,3}(```|~~~)")


def decode_text(data: bytes, path: Path) -> str:
    encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ReaderError(
            f"{display_name(path)} is not UTF-8 text (unreadable byte 0x{data[exc.start]:02X} "
            f"on line {line}); it was probably saved in an older encoding such as "
            "Windows-1252 or Latin-1. Open it in a text editor, save it with the encoding "
            "'UTF-8', and add it again."
        ) from None


def markdown_title(text: str) -> str | None:
    """The first level-1 ATX heading (``# Title``) outside code fences."""
    in_fence = False
    for line in text.splitlines():
        if _FENCE_RE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        m = _MD_H1_RE.match(line)
        if m:
            return clean_value(m.group(1))
    return None


def read_text_file(path: Path, kind: str) -> Extracted:
    text = decode_text(path.read_bytes(), path)
    require_text(text, path)
    metadata: dict[str, str] = {}
    if kind == "md":
        title = markdown_title(text)
        if title:
            metadata["title"] = title
    return Extracted(text=text, page_starts=(), metadata=metadata, kind=kind)
