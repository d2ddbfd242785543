"""Passages cut from the real seed reports keep paragraphs, lists, tables and footnotes intact."""

from __future__ import annotations

import re

from qa.passages import MAX_CHARS

from .conftest import REPORT_2009


def by_anchor(passages, doc_id=REPORT_2009):
    return {p.anchor: p for p in passages[doc_id]}


def test_numbered_paragraphs_35_and_44_are_whole_with_their_numbers(passages):
    p = by_anchor(passages)
    assert p["p-35"].paragraph == "35"
    assert p["p-35"].text.startswith("35. One serious case review following the death of a three-week-old baby")
    # The page break inside paragraph 35 is joined, not cut.
    assert "A child of the father by a previous partner was the subject of care proceedings." in p["p-35"].text
    assert p["p-35"].text.endswith("but the necessary action had not been taken.")
    assert p["p-44"].paragraph == "44"
    assert "were both looked after and were both living with the same foster carers" in p["p-44"].text
    assert p["p-44"].text.endswith("while also addressing separately the issues of parenting.")


def test_footnote_5_is_its_own_passage_linked_to_paragraph_43_not_inside_44(passages):
    p = by_anchor(passages)
    assert "special educational needs" not in p["p-44"].text
    note = p["fn-5"]
    assert note.kind == "footnote"
    assert note.text.startswith("5 Ofsted reported a similar finding")
    assert note.parent == "p-43"


def test_four_common_reasons_list_shares_a_passage_with_its_lead_in(passages):
    p = by_anchor(passages)["p-45"]
    assert p.kind == "list"
    assert "four common reasons why the necessary action was not taken:" in p.text
    for item in ("gaps in the services that were available", "‘professional drift’ resulting in a lack of action."):
        assert f"\n• {item}" in p.text


def test_sections_are_recorded(passages):
    p = by_anchor(passages)
    assert p["p-45"].section == "Ensuring necessary action takes place"
    assert p["p-35"].section == "Focusing on good practice"


def test_table_1_rows_keep_caption_and_group(passages):
    rows = [p for p in passages[REPORT_2009] if p.kind == "table_row" and p.anchor.startswith("t-1-")]
    suicide = next(p for p in rows if "Suicide 11" in p.text)
    assert suicide.text.startswith("Table 1: Cause of death of the 90 children who died")
    assert "Other external cause" in suicide.text


def test_annex_b_rows_carry_column_headings(passages):
    rows = [p for p in passages[REPORT_2009] if p.kind == "table_row" and "Annex B" in p.text]
    assert len(rows) >= 140
    barnet = next(p for p in rows if "Barnet Adequate 09/02/2010" in p.text)
    assert "Date of evaluation letter" in barnet.text
    # A board name wrapped over two lines is one row.
    assert any("Royal Borough of Windsor and Maidenhead Good 25/06/2009" in p.text for p in rows)


def test_no_passage_exceeds_the_size_bound(passages):
    for doc_passages in passages.values():
        for p in doc_passages:
            assert 0 < len(p.text) <= MAX_CHARS, p.id


def test_anchors_are_unique_per_document(passages):
    for doc_passages in passages.values():
        anchors = [p.anchor for p in doc_passages]
        assert len(anchors) == len(set(anchors))


def test_offsets_point_at_the_passage_text_in_the_source(documents, passages):
    for doc_id, doc_passages in passages.items():
        source = documents[doc_id].text
        for p in doc_passages:
            if p.kind == "table_row":
                continue  # rows are prefixed with their caption
            span = "".join(source[p.start : p.end].split())  # line breaks and wraps removed
            words = p.text.replace("•", " ").split()
            assert span.startswith(words[0]), p.id
            assert span.endswith(words[-1]), p.id


def test_page_furniture_is_dropped(passages):
    text = "\n".join(p.text for ps in passages.values() for p in ps)
    for furniture in ("image representing news article", "Printable version", "E-mail this to a friend",
                      "020 7421 6574", "Related to Children and Young People", "COVID-19 and the career prospects"):
        assert furniture not in text


def test_news_items_have_their_headline_as_section_and_their_date(passages):
    news = passages["004_d8ccad799b1062fd"]
    csa = next(p for p in news if "33,760" in p.text)
    assert csa.section == "Child sexual abuse"
    assert "14 February 2024" in csa.text


def test_long_paragraphs_are_split_on_sentences_and_keep_their_number(passages):
    split = [p for ps in passages.values() for p in ps if re.fullmatch(r"p-\d+-\d+", p.anchor)]
    for part in split:
        assert part.paragraph and part.anchor.startswith(f"p-{part.paragraph}-")
        assert part.text[0].isupper() or part.text[0].isdigit() or part.text[0] in "‘'“\"(•"


def test_torn_lines_of_garbled_pages_stay_passage_text_not_section_labels(passages):
    """Paragraphs 130-147 of the 2009-10 report come out of the PDF column-mangled: short torn
    lines between blank lines. Their words must remain searchable passage text."""
    texts = [p.text for p in passages[REPORT_2009]]
    sections = {p.section for p in passages[REPORT_2009]}
    assert any("One positive example concerned a Polish family." in t for t in texts)
    assert any("130. In the best examples, the terms of reference were clear" in t for t in texts)
    torn = [s for s in sections if s and (s.endswith(("were", " th", " showe", " Lo")) or s[:1].isdigit())]
    assert torn == []
    # Real headings are still section labels.
    assert {"Equality and diversity", "Terms of reference", "Annex B: The 147 serious case reviews"} & sections


def test_table_3_rows_keep_their_caption_across_a_column_heading_line(passages):
    rows = [p for p in passages[REPORT_2009] if p.kind == "table_row" and p.text.endswith("Good 30 24 7 1")]
    assert len(rows) == 1
    assert rows[0].text.startswith("Table 3: Time taken to complete reviews and their quality")
    assert "(months year 1 to 2 years 2+ years)" in rows[0].text


def test_a_short_paragraph_that_goes_on_about_the_one_before_joins_it(passages):
    # The press release tells one case in two short paragraphs; the second opens "When younger,
    # she was placed ..." and, alone, never says who "she" is.
    release = passages["002_0b7d055dc6b96ce3"]
    case = [p for p in release if "17-year-old girl" in p.text]
    assert len(case) == 1
    assert "should have been identified as a child in need" in case[0].text
    assert len(case[0].text) <= 700
    # Numbered paragraphs are the author's own units and are never joined.
    # Paragraph 9 opens "The two cases that are not included ..." about paragraph 8's figures.
    anchors = by_anchor(passages)
    assert anchors["p-9"].text.startswith("9. The two cases")
    assert "9. The two cases" not in anchors["p-8"].text
