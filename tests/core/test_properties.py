"""Property-based tests: no text crashes the passage builder or the analyzer, and every passage's
offsets point at its own text in the source."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.analysis import Analyzer
from qa.documents import Document
from qa.passages import BULLET_GLYPHS, MAX_CHARS, build_passages

A = Analyzer()

# Lines shaped like extracted report text: numbered paragraphs, bullets, headings, table rows,
# footnote rules, page-break indents, hyphenated wraps, plus arbitrary Unicode.
line = st.one_of(
    st.text(max_size=120),
    st.from_regex(r"\A ?[0-9]{1,3}\. [A-Z][a-z ,;-]{0,80}\Z", fullmatch=True),
    st.from_regex(r"\A ?[•−*-] [a-z][a-z ]{0,60}\Z", fullmatch=True),
    st.from_regex(r"\A[A-Z][a-z ]{0,40}( [0-9]{1,3})?\Z", fullmatch=True),
    st.just(" " * 40),
    st.just(""),
    st.from_regex(r"\A[0-9] [A-Z][a-z ]{0,50}\Z", fullmatch=True),
    st.from_regex(r"\A[a-z]+-\Z", fullmatch=True),
)
documents = st.lists(line, max_size=60).map("\n".join)


def squash(text: str) -> str:
    return "".join(text.split())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_passage_builder_never_crashes_and_offsets_hold(text):
    passages = build_passages(Document(doc_id="d", filename="d.txt", text=text, title="T"))
    anchors = [p.anchor for p in passages]
    assert len(anchors) == len(set(anchors))
    for p in passages:
        assert 0 < len(p.text) <= MAX_CHARS
        assert 0 <= p.start < p.end <= len(text)
        if p.kind == "table_row":
            continue  # rows are prefixed with their caption and column headings
        span = squash(text[p.start : p.end])
        copied = squash(re.sub(r"(^|\n)• ", r"\1", p.text))  # without the list markers the builder inserts
        assert span[:1] == copied[:1] or span.lstrip(BULLET_GLYPHS)[:1] == copied[:1], (p, text[p.start : p.end])
        assert span[-1:] == copied[-1:], (p, text[p.start : p.end])
        assert is_subsequence(copied, span), (p, text[p.start : p.end])


def is_subsequence(small: str, big: str) -> bool:
    """Every character of ``small`` occurs in ``big`` in the same order (dropped lines, repaired
    hyphens and interleaved footnotes may sit between them)."""
    it = iter(big)
    return all(ch in it for ch in small)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_analyzer_never_crashes_and_is_deterministic(text):
    terms = A.terms(text)
    assert terms == A.terms(text)
    assert all(t and t == t.strip() for t in terms)
    assert all(" " not in t for t in A.stems(text))
