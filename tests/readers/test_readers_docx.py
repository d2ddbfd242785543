"""Word reader."""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from qa.readers import ReaderError, read_file


def blocks(text: str) -> list[str]:
    return [b.strip() for b in text.split("\n\n") if b.strip()]


def test_headings_paragraphs_bullets_numbering_and_table(review_docx: Path):
    ex = read_file(review_docx)
    assert ex.kind == "docx"
    assert ex.page_starts == ()
    assert blocks(ex.text) == [
        "Rapid review: Baby R",
        "Summary",
        "This rapid review considers the circumstances of Baby R, who was seven weeks old "
        "when she was taken to hospital with a fractured arm.",
        "35. The panel noted that the father was not known to the health visitor.",
        "What went well",
        "• The midwife shared concerns on the same day.\n"
        "• The GP followed up the missed appointment.",
        "Recommendations",
        # Word's automatic numbering, rendered as Word shows it
        "1. Fathers should be invited to every antenatal appointment.",
        "2. Bruising protocols should apply to non-mobile babies.",
        "Agency | Contact | Outcome\n"
        "Health visiting | 12 March | New birth visit completed\n"
        "Police | 20 March | No further action",
        "The table lists each agency's last contact before the injury.",
    ]


def test_core_properties(review_docx: Path):
    ex = read_file(review_docx)
    assert ex.metadata["title"] == "Rapid review: Baby R"
    assert ex.metadata["author"] == "Eastvale Safeguarding Partnership"
    assert ex.metadata["date"] == "2022-11-03"
    assert "source_url" not in ex.metadata


def test_template_defaults_are_not_metadata(tmp_path: Path):
    import docx

    document = docx.Document()  # python-docx template: author "python-docx", created 2013
    document.add_paragraph("Only some text.")
    path = tmp_path / "plain.docx"
    document.save(str(path))
    ex = read_file(path)
    assert ex.metadata == {}


def test_numbering_continues_and_nests(tmp_path: Path):
    import docx

    document = docx.Document()
    document.add_heading("Analysis", level=1)
    document.add_paragraph("First finding.", style="List Number")
    document.add_paragraph("Second finding.", style="List Number")
    document.add_heading("Further analysis", level=1)
    document.add_paragraph("Third finding.", style="List Number")
    document.add_paragraph("A point under the third finding.", style="List Bullet 2")
    path = tmp_path / "numbered.docx"
    document.save(str(path))
    text = read_file(path).text
    assert "1. First finding." in text
    assert "2. Second finding." in text
    assert "3. Third finding." in text
    assert "• A point under the third finding." in text


def test_one_column_table_is_read_as_paragraphs(tmp_path: Path):
    import docx

    document = docx.Document()
    box = document.add_table(rows=1, cols=1)
    cell = box.rows[0].cells[0]
    cell.text = "Key message for practitioners."
    cell.add_paragraph("Always see the child alone.")
    path = tmp_path / "box.docx"
    document.save(str(path))
    assert blocks(read_file(path).text) == ["Key message for practitioners.", "Always see the child alone."]


def test_empty_document(tmp_path: Path):
    import docx

    path = tmp_path / "empty.docx"
    docx.Document().save(str(path))
    with pytest.raises(ReaderError, match="empty.docx.*no text"):
        read_file(path)


def test_corrupt_docx(review_docx: Path, tmp_path: Path):
    data = review_docx.read_bytes()
    truncated = tmp_path / "truncated.docx"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReaderError) as err:
        read_file(truncated)
    assert "truncated.docx" in str(err.value) and "damaged" in str(err.value)

    not_word = tmp_path / "archive.docx"
    with zipfile.ZipFile(not_word, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ReaderError, match="archive.docx"):
        read_file(not_word)


def test_old_word_and_password_protected_word(tmp_path: Path):
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    old = tmp_path / "old.docx"
    old.write_bytes(ole + b"WordDocument".decode().encode("utf-16-le") + b"\x00" * 100)
    with pytest.raises(ReaderError, match="Word 97-2003"):
        read_file(old)
    protected = tmp_path / "locked.docx"
    protected.write_bytes(ole + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 100)
    with pytest.raises(ReaderError, match="locked.docx is password-protected|'locked.docx' is password-protected"):
        read_file(protected)


def test_date_from_created(tmp_path: Path):
    import docx

    document = docx.Document()
    document.core_properties.author = "A. Reviewer"
    document.core_properties.created = datetime(2019, 1, 31, 23, 0)
    document.add_paragraph("Text.")
    path = tmp_path / "dated.docx"
    document.save(str(path))
    assert read_file(path).metadata == {"author": "A. Reviewer", "date": "2019-01-31"}


def _set_company(path: Path, company: str) -> None:
    """Write docProps/app.xml with a Company field, as Word does."""
    app = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        f"<Application>Microsoft Office Word</Application><Company>{company}</Company></Properties>"
    )
    source = zipfile.ZipFile(path)
    items = {name: source.read(name) for name in source.namelist()}
    source.close()
    items["docProps/app.xml"] = app.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in items.items():
            z.writestr(name, data)


@pytest.mark.parametrize("company, expected", [("Northshire County Council", "Northshire County Council"), ("Microsoft", None)])
def test_publisher_from_company(review_docx: Path, company: str, expected: str | None):
    with zipfile.ZipFile(review_docx) as z:
        has_app = "docProps/app.xml" in z.namelist()
    _set_company(review_docx, company)
    if not has_app:
        pytest.skip("template has no extended properties part to carry the Company field")
    assert read_file(review_docx).metadata.get("publisher") == expected
