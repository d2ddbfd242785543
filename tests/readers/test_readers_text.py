"""Plain text and Markdown, and the read_file entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.readers import SUPPORTED_SUFFIXES, Extracted, ReaderError, read_file

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def test_supported_suffixes():
    assert {".txt", ".md", ".pdf", ".docx", ".html"} <= set(SUPPORTED_SUFFIXES)


def test_txt_is_returned_exactly(tmp_path: Path):
    raw = "Heading\r\n\r\n35. The panel\u2019s finding.\r\n  \u2022 item\r\n"
    path = tmp_path / "report.txt"
    path.write_bytes(raw.encode("utf-8"))
    ex = read_file(path)
    assert ex == Extracted(text=raw, page_starts=(), metadata={}, kind="txt")


def test_utf8_bom_is_not_text(tmp_path: Path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbfFirst line\n")
    assert read_file(path).text == "First line\n"


def test_latin1_txt_is_refused_naming_the_file(tmp_path: Path):
    path = tmp_path / "old-report.txt"
    path.write_bytes("The child\u2019s caf\u00e9 visit.\n".replace("\u2019", "'").encode("latin-1"))
    with pytest.raises(ReaderError) as err:
        read_file(path)
    message = str(err.value)
    assert "old-report.txt" in message
    assert "UTF-8" in message


@pytest.mark.skipif(not CORPUS.is_dir(), reason="no bundled corpus")
def test_bundled_reports_read_unchanged():
    files = sorted(CORPUS.glob("*.txt"))
    assert files
    for path in files:
        ex = read_file(path)
        assert ex.kind == "txt"
        assert ex.text == path.read_bytes().decode("utf-8")


def test_markdown_title_and_text(tmp_path: Path):
    raw = "```\n# not a title\n```\n\n# Child W: review  \n\nSome *text*.\n"
    path = tmp_path / "review.md"
    path.write_text(raw, encoding="utf-8")
    ex = read_file(path)
    assert ex.kind == "md"
    assert ex.text == raw
    assert ex.metadata == {"title": "Child W: review"}


def test_empty_text_file(tmp_path: Path):
    path = tmp_path / "blank.txt"
    path.write_text("  \n\n")
    with pytest.raises(ReaderError, match="blank.txt.*no text"):
        read_file(path)


@pytest.mark.parametrize("name, hint", [("report.doc", "docx"), ("report.xlsx", "Supported types"), ("README", "Supported types")])
def test_unsupported_types(tmp_path: Path, name: str, hint: str):
    path = tmp_path / name
    path.write_bytes(b"data")
    with pytest.raises(ReaderError) as err:
        read_file(path)
    assert "not supported" in str(err.value)
    assert hint in str(err.value)


def test_missing_file(tmp_path: Path):
    with pytest.raises(ReaderError, match="not found"):
        read_file(tmp_path / "nope.pdf")


def test_suffix_is_case_insensitive(tmp_path: Path):
    path = tmp_path / "NOTES.TXT"
    path.write_text("Some notes.\n")
    assert read_file(path).kind == "txt"


def test_extracted_is_frozen():
    ex = Extracted(text="x", page_starts=(), metadata={}, kind="txt")
    with pytest.raises(AttributeError):
        ex.text = "y"  # type: ignore[misc]
