"""HTML reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.readers import ReaderError, read_file

CHROME = [
    "Skip to main content",
    "We use cookies",
    "Accept all cookies",
    "Westshire SCP home",
    "About us",
    "Training courses",
    "Home",
    "Related reviews",
    "Child Y overview report",
    "Copyright Westshire Council",
    "Privacy notice",
    "Please enable JavaScript",
    "TRACKING SCRIPT",
    "position: fixed",
]


def blocks(text: str) -> list[str]:
    return [b.strip() for b in text.split("\n\n") if b.strip()]


def test_chrome_is_not_in_the_text(review_html: Path):
    ex = read_file(review_html)
    for chrome in CHROME:
        assert chrome not in ex.text, chrome


def test_article_body(review_html: Path):
    ex = read_file(review_html)
    assert ex.kind == "html"
    assert ex.page_starts == ()
    assert blocks(ex.text) == [
        "Child Z: thematic review",
        "Published 8 March 2024",
        "Background",
        "Child Z was fourteen when she went missing from her foster placement for the third time.",
        "1. The review found that return home interviews were not shared with the school.",
        "Key learning",
        "• Professionals should ask about exploitation at every missing episode.\n"
        "• Information should follow the child when she moves placement.",
        "Episode | Date | Return interview\nFirst | January | Yes\nSecond | March | No",
    ]


def test_metadata(review_html: Path):
    ex = read_file(review_html)
    assert ex.metadata == {
        "title": "Child Z: thematic review",
        "author": "Westshire Safeguarding Partnership",
        "publisher": "Westshire Safeguarding Partnership",
        "date": "2024-03-08",
        "source_url": "https://www.westshire-scp.org.uk/reviews/child-z",
        "description": "Learning from the review of Child Z.",
    }


def test_main_without_article_and_class_based_chrome(tmp_path: Path):
    page = tmp_path / "news.htm"
    page.write_text(
        """<html><head><title>Briefing: assessments</title>
        <meta name="date" content="14 February 2024">
        <meta property="og:url" content="https://learning.example.org/briefings/assessments">
        </head><body>
        <div id="mainNavigation"><a href="/">Main menu link</a></div>
        <main>
          <div class="breadcrumb"><a href="/">Breadcrumb home</a></div>
          <h2>Assessments</h2>
          <p>The briefing summarises learning<br>from case reviews.</p>
          <div role="navigation">Pager links</div>
          <div class="social-share">Share on social media</div>
          <p hidden>Hidden text</p>
          <ol><li>Assessments must be updated.</li><li>Fathers must be included.</li></ol>
        </main>
        <div class="footer">Site footer text</div>
        </body></html>""",
        encoding="utf-8",
    )
    ex = read_file(page)
    assert blocks(ex.text) == [
        "Assessments",
        "The briefing summarises learning from case reviews.",
        "• Assessments must be updated.\n• Fathers must be included.",
    ]
    assert ex.metadata == {
        "title": "Briefing: assessments",
        "date": "2024-02-14",
        "source_url": "https://learning.example.org/briefings/assessments",
    }


def test_declared_latin1_page_is_decoded(tmp_path: Path):
    page = tmp_path / "old.html"
    page.write_bytes(
        '<html><head><meta charset="iso-8859-1"><title>Caf\u00e9 review</title></head>'
        "<body><p>The r\u00e9sum\u00e9 of the case \u2013 with costs of \u00a3100.</p></body></html>".replace(
            "\u2013", "-"
        ).encode("latin-1")
    )
    ex = read_file(page)
    assert "The r\u00e9sum\u00e9 of the case - with costs of \u00a3100." in ex.text
    assert ex.metadata["title"] == "Caf\u00e9 review"


def test_relative_canonical_without_base_is_not_a_source_url(tmp_path: Path):
    page = tmp_path / "rel.html"
    page.write_text('<html><head><link rel="canonical" href="/reviews/x"></head><body><p>Text here.</p></body></html>')
    assert "source_url" not in read_file(page).metadata


def test_script_only_page_is_empty(tmp_path: Path):
    page = tmp_path / "app.html"
    page.write_text('<html><body><div id="root"></div><script>render()</script></body></html>')
    with pytest.raises(ReaderError) as err:
        read_file(page)
    assert "app.html" in str(err.value) and "JavaScript" in str(err.value)


def test_wrapper_with_a_chrome_sounding_class_keeps_the_content(tmp_path: Path):
    page = tmp_path / "wrapped.html"
    page.write_text(
        """<html><body><div class="page has-sidebar nav-collapsed">
        <div class="sidebar"><a href="/">Sidebar link</a></div>
        <div class="content"><h1>Overview report</h1>
        <p>The overview report sets out the panel's findings in full.</p></div>
        </div></body></html>""",
        encoding="utf-8",
    )
    assert blocks(read_file(page).text) == [
        "Overview report",
        "The overview report sets out the panel's findings in full.",
    ]


def test_nested_lists_are_flattened_into_bullets(tmp_path: Path):
    page = tmp_path / "nested.html"
    page.write_text(
        "<html><body><article><ul><li>Health<ul><li>Midwifery</li><li><p>Health visiting</p></li></ul></li>"
        "<li>Police</li></ul><p>After the list.</p></article></body></html>",
        encoding="utf-8",
    )
    assert blocks(read_file(page).text) == [
        "• Health\n• Midwifery\n• Health visiting\n• Police",
        "After the list.",
    ]
