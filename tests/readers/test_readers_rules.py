"""The small rules the readers rely on: dates and hyphenation."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from qa.readers._common import normalize_date
from qa.readers.pdf_reader import Line, Vocabulary, _join_hyphenated


@pytest.mark.parametrize(
    "value, expected",
    [
        ("D:20230517093000+01'00'", "2023-05-17"),
        ("D:2010", "2010"),
        ("D:201010", "2010-10"),
        ("2024-03-08T10:00:00+00:00", "2024-03-08"),
        ("2024-03", "2024-03"),
        ("08 March 2024", "2024-03-08"),
        ("8th March 2024", "2024-03-08"),
        ("March 8, 2024", "2024-03-08"),
        ("October 2010", "2010-10"),
        ("Sept 2019", "2019-09"),
        ("08/03/2024", "2024-03-08"),  # UK order: day first
        (datetime(2022, 11, 3, 14, 0), "2022-11-03"),
        (date(2021, 1, 2), "2021-01-02"),
        ("D:00000101000000", None),
        ("2024-13-01", None),
        ("next Tuesday", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_date(value, expected):
    assert normalize_date(value) == expected


def join(left: str, right: str, *context: str) -> str:
    """Join two lines the way the PDF reader does, with ``context`` as the rest of the document."""
    lines = [Line(text=t, page=0) for t in (*context, left, right)]
    how = _join_hyphenated(left, right, Vocabulary(lines))
    assert how is not None
    return left[:-1] + how + right


@pytest.mark.parametrize(
    "left, right, context, expected",
    [
        # typesetter's hyphenation: rejoined
        ("the designated safe-", "guarding lead", (), "the designated safeguarding lead"),
        ("in the pre-", "vious review", ("the agency",), "in the previous review"),
        ("an inter-", "vention was", (), "an intervention was"),
        # the joined word is used elsewhere in the document
        ("the co-", "ordinated plan", ("the plan was coordinated",), "the coordinated plan"),
        # the hyphenated word is used elsewhere in the document
        ("the co-", "ordinated plan", ("a co-ordinated response",), "the co-ordinated plan"),
        ("the multi-", "agency plan", ("a multi-agency meeting",), "the multi-agency plan"),
        # a compound prefix followed by a word the document uses on its own
        ("the multi-", "agency plan", ("each agency",), "the multi-agency plan"),
        ("their well-", "being was", ("it was being",), "their well-being was"),
        # capital or digit after the break: a real hyphen
        ("the Anti-", "Social Behaviour team", (), "the Anti-Social Behaviour team"),
        ("during the COVID-", "19 pandemic", (), "during the COVID-19 pandemic"),
    ],
)
def test_hyphenation_rule(left, right, context, expected):
    assert join(left, right, *context) == expected


def test_soft_hyphen_always_joins():
    assert join("the safe\u00ad", "guarding lead") == "the safeguarding lead"


def test_dash_is_not_hyphenation():
    lines = [Line("the review -", 0), Line("and the plan", 0)]
    assert _join_hyphenated("the review -", "and the plan", Vocabulary(lines)) is None
