"""Document readers: one file in, its plain text, page offsets and own metadata out.

    from qa.readers import read_file, Extracted, ReaderError, SUPPORTED_SUFFIXES
    ex = read_file(Path("corpus/report.pdf"))
    ex.text          # paragraphs separated by blank lines, headings on their own line,
                     # numbered paragraphs "35. ...", bullets "• ...", table rows "a | b | c"
    ex.page_starts   # PDF: offset where each page starts; () for other formats
    ex.metadata      # title / author / publisher / date / source_url / description, when known
    ex.kind          # "txt" | "md" | "pdf" | "docx" | "html"

Every failure a user can cause (unsupported type, damaged file, password, scanned PDF,
wrong text encoding, empty document) raises ReaderError with a message that names the
file and says what to do.
"""

from __future__ import annotations

from pathlib import Path

from ._common import Extracted, ReaderError, display_name

__all__ = ["read_file", "Extracted", "ReaderError", "SUPPORTED_SUFFIXES", "kind_of"]

_KINDS = {
    ".txt": "txt",
    ".md": "md",
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
}

#: File name endings read_file accepts (compared case-insensitively).
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(_KINDS)

_ADVICE = {
    ".doc": "This is the old Word format: open it in Word and use 'Save As' > 'Word Document (.docx)' or 'PDF'.",
    ".rtf": "Open it in Word and use 'Save As' > 'Word Document (.docx)' or 'PDF'.",
    ".odt": "Open it in LibreOffice or Word and save it as .docx or PDF.",
    ".pages": "Export it from Pages as Word (.docx) or PDF.",
    ".xps": "Print it to PDF and add the PDF.",
    ".oxps": "Print it to PDF and add the PDF.",
    ".mht": "Open it in a browser and save it as 'Web page, HTML only' (.html), or print it to PDF.",
    ".mhtml": "Open it in a browser and save it as 'Web page, HTML only' (.html), or print it to PDF.",
    ".xhtml": "Rename it to .html and add it again.",
    ".markdown": "Rename it to .md and add it again.",
    ".text": "Rename it to .txt and add it again.",
}


def kind_of(path: Path) -> str | None:
    """The reader kind for ``path``'s suffix, or None when it is not supported."""
    return _KINDS.get(Path(path).suffix.lower())


def read_file(path: Path) -> Extracted:
    """Read one report file.  Raises ReaderError (with a message for a non-developer)."""
    path = Path(path)
    suffix = path.suffix.lower()
    kind = _KINDS.get(suffix)
    if kind is None:
        supported = ", ".join(s for s in SUPPORTED_SUFFIXES if s != ".htm")
        what = f"'{suffix}' files are" if suffix else "Files without a type ending are"
        advice = _ADVICE.get(suffix, "Save or export the report in one of those formats and add it again.")
        raise ReaderError(
            f"{display_name(path)} cannot be added: {what} not supported. Supported types: "
            f"{supported}. {advice}"
        )
    if not path.is_file():
        raise ReaderError(
            f"{display_name(path)} was not found (looked for {path}). Check the file name and location."
        )
    try:
        if kind in ("txt", "md"):
            from .text_reader import read_text_file

            return read_text_file(path, kind)
        if kind == "pdf":
            from .pdf_reader import read_pdf

            return read_pdf(path)
        if kind == "docx":
            from .docx_reader import read_docx

            return read_docx(path)
        from .html_reader import read_html

        return read_html(path)
    except PermissionError:
        raise ReaderError(
            f"{display_name(path)} could not be opened: permission denied. Make the file "
            "readable (or copy it somewhere you can read it) and add it again."
        ) from None
    except OSError as exc:
        raise ReaderError(
            f"{display_name(path)} could not be read ({exc.strerror or exc}). Check the file "
            "and add it again."
        ) from None
    except ReaderError:
        raise
    except Exception as exc:  # a file the parser library chokes on must not crash the caller
        raise ReaderError(
            f"{display_name(path)} could not be read: the file seems damaged or unusual "
            f"({type(exc).__name__}: {str(exc)[:120]}). Try saving it again from the program "
            "that made it (or as PDF) and add the new copy."
        ) from exc
