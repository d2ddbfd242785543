"""PDF reader: what a user would notice in answers and citations."""

from __future__ import annotations

import bisect
import re
from pathlib import Path

import pytest
from readers_fixtures import FOOTER, HEADER, draw_pages

from qa.readers import Extracted, ReaderError, read_file


def page_of(ex: Extracted, offset: int) -> int:
    """1-based page number of a character, the way the passage builder should compute it."""
    return bisect.bisect_right(ex.page_starts, offset)


def paragraphs(ex: Extracted) -> list[str]:
    return [p.strip() for p in ex.text.split("\n\n") if p.strip()]


def test_kind_and_one_page_start_per_page(review_pdf: Path):
    ex = read_file(review_pdf)
    assert ex.kind == "pdf"
    assert len(ex.page_starts) == 3
    assert ex.page_starts[0] == 0
    assert list(ex.page_starts) == sorted(ex.page_starts)


def test_running_header_footer_and_page_numbers_removed(review_pdf: Path):
    ex = read_file(review_pdf)
    assert HEADER not in ex.text
    assert FOOTER not in ex.text.splitlines()
    assert ex.text.count(FOOTER) == 1  # only where the body text names the partnership
    assert not re.search(r"Page \d", ex.text)
    # the partnership's name in the body text is kept
    assert "commissioned by the Northshire Safeguarding Children Partnership after Child Q" in ex.text


def test_paragraph_across_page_break_is_one_paragraph(review_pdf: Path):
    ex = read_file(review_pdf)
    para3 = next(p for p in paragraphs(ex) if p.startswith("3. "))
    assert "\n" not in para3
    assert para3 == (
        "3. During the spring the health visitor, the nursery manager, the school nurse and "
        "the family support worker met every fortnight, and the designated safeguarding lead "
        "at the nursery kept a record of each concern that was raised about bruising, about "
        "missed appointments and about the mother's low mood."
    )
    start = ex.text.index(para3)
    # the paragraph starts on page 1 and its second half is on page 2
    assert page_of(ex, start) == 1
    assert page_of(ex, ex.text.index("fortnight")) == 2
    # page 2 starts with the first character of page 2's text, inside the paragraph
    assert ex.text[ex.page_starts[1] :].startswith("family support worker met every fortnight")
    assert ex.text[ex.page_starts[2] :].startswith("Recommendations")


def test_pages_of_later_paragraphs(review_pdf: Path):
    ex = read_file(review_pdf)
    assert page_of(ex, ex.text.index("4. Practitioners described")) == 2
    assert page_of(ex, ex.text.index("6. The partnership should ask")) == 3
    assert page_of(ex, ex.text.index("1. This review was commissioned")) == 1


def test_hyphenation_repaired_and_real_hyphens_kept(review_pdf: Path):
    ex = read_file(review_pdf)
    assert "designated safeguarding lead" in ex.text
    assert "safe-" not in ex.text and "safe guarding" not in ex.text
    # "multi-" at a line end, written "multi-agency" elsewhere: the hyphen is real
    assert "the multi-agency plan that followed" in ex.text
    assert "multiagency" not in ex.text


def test_lines_of_a_paragraph_joined_and_blocks_separated(review_pdf: Path):
    ex = read_file(review_pdf)
    paras = paragraphs(ex)
    assert paras[0] == "Learning from the review of Child Q"
    assert paras[1] == "Introduction"
    assert paras[2].startswith("1. This review was commissioned")
    assert paras[2].endswith("the adults caring for her.")
    assert "Findings" in paras and "Recommendations" in paras
    numbered = [p for p in paras if re.match(r"\d+\. ", p)]
    assert [p.split(".")[0] for p in numbered] == ["1", "2", "3", "4", "5", "6", "7"]
    assert all("\n" not in p for p in numbered)


def test_bullets(review_pdf: Path):
    ex = read_file(review_pdf)
    assert (
        "• Information about the father's history was held by the police but not shared.\n"
        "• Nobody asked Child Q about her injuries when she was seen at nursery."
    ) in ex.text


def test_footnote_kept_after_the_paragraph_it_interrupted(review_pdf: Path):
    ex = read_file(review_pdf)
    paras = paragraphs(ex)
    note = "1 Working Together to Safeguard Children, HM Government, 2018."
    assert note in paras
    assert paras[paras.index(note) - 1].startswith("3. During the spring")


def test_metadata_from_pdf_info(review_pdf: Path):
    ex = read_file(review_pdf)
    assert ex.metadata["title"] == "Child Q: local child safeguarding practice review"
    assert ex.metadata["author"] == "Northshire Safeguarding Children Partnership"
    assert ex.metadata["date"] == "2023-05-17"
    assert "source_url" not in ex.metadata


def test_reportlab_flowing_layout(flowing_pdf: Path):
    ex = read_file(flowing_pdf)
    assert len(ex.page_starts) >= 3
    assert "Serious Case Review - Family B" not in ex.text
    assert "Southborough Local Safeguarding Children Board" not in ex.text
    paras = paragraphs(ex)
    assert paras[0] == "Background to the review"
    numbered = [p for p in paras if re.match(r"\d+\. ", p)]
    assert [int(p.split(".")[0]) for p in numbered] == list(range(1, 25))
    for k, para in enumerate(numbered, start=1):
        # each paragraph is whole: its five sentences, in one line, nothing from the page chrome
        assert para.count("to the lead professional.") == 5, para
        assert f"passed note {k}-5 to the lead professional." in para
        assert "\n" not in para
    # every page after the first starts inside or at the start of a numbered paragraph,
    # and that text is on that page
    for number, start in enumerate(ex.page_starts[1:], start=2):
        assert page_of(ex, start) == number
        assert ex.text[start].isalnum()
    assert ex.metadata["title"] == "Serious Case Review: Family B"
    assert ex.metadata["author"] == "Southborough LSCB"


def test_scanned_pdf_needs_ocr(scanned_pdf: Path):
    with pytest.raises(ReaderError) as err:
        read_file(scanned_pdf)
    message = str(err.value)
    assert "no extractable text; needs OCR" in message
    assert "scanned.pdf" in message


def test_password_protected_pdf(encrypted_pdf: Path):
    with pytest.raises(ReaderError) as err:
        read_file(encrypted_pdf)
    message = str(err.value)
    assert "password-protected" in message
    assert "protected.pdf" in message


def test_owner_password_only_pdf_is_read(owner_only_pdf: Path):
    ex = read_file(owner_only_pdf)
    assert "designated safeguarding lead" in ex.text
    assert len(ex.page_starts) == 3


def test_truncated_pdf(truncated_pdf: Path):
    with pytest.raises(ReaderError) as err:
        read_file(truncated_pdf)
    message = str(err.value)
    assert "truncated.pdf" in message
    assert "damaged" in message or "incomplete" in message


def test_garbage_and_html_named_pdf(tmp_path: Path):
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"\x00\x01 this is not a pdf at all " * 20)
    with pytest.raises(ReaderError, match="not a valid PDF"):
        read_file(junk)
    page = tmp_path / "download.pdf"
    page.write_text("<!DOCTYPE html><html><body>Please log in</body></html>")
    with pytest.raises(ReaderError, match="web page"):
        read_file(page)


def test_damaged_body_with_intact_end(review_pdf: Path, tmp_path: Path):
    data = review_pdf.read_bytes()
    middle = len(data) // 2
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(data[:200] + b"\x00" * (middle - 200) + data[middle:])
    with pytest.raises(ReaderError, match="broken.pdf"):
        read_file(broken)


def test_page_numbers_only_at_page_edges_are_dropped(tmp_path: Path):
    places = ["the family home", "the nursery", "the health centre"]
    counts = ["147", "23", "98"]
    pages = [
        [("para", f"{k}. Meeting {k} of the review took place at {places[k - 1]} in the spring.")]
        + [("para", [f"Visits recorded at {places[k - 1]} that year:", counts[k - 1]])]
        for k in range(1, 4)
    ]
    pdf = draw_pages(tmp_path / "numbers.pdf", pages=pages, header=None, footer=None)
    ex = read_file(pdf)
    # the counts end the page text but do not run like page numbers: kept
    for count in counts:
        assert re.search(rf"\b{count}\b", ex.text)


def test_bare_page_numbers_are_dropped(tmp_path: Path):
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path = tmp_path / "bare.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    for k in range(1, 5):
        c.setFont("Helvetica", 10)
        c.drawString(56, 760, f"{k}. The chronology for month {k} shows {k + 2} contacts with the family.")
        c.drawCentredString(A4[0] / 2, 30, str(k + 2))  # printed numbering starts at 3
        c.showPage()
    c.save()
    ex = read_file(path)
    lines = [line for line in ex.text.splitlines() if line.strip()]
    assert lines == [
        f"{k}. The chronology for month {k} shows {k + 2} contacts with the family." for k in range(1, 5)
    ]
