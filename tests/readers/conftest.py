"""Fixtures for the reader tests; the files themselves are built in readers_fixtures.py."""

from readers_fixtures import (  # noqa: F401  (fixtures are found by name)
    encrypted_pdf,
    flowing_pdf,
    owner_only_pdf,
    review_docx,
    review_html,
    review_pdf,
    scanned_pdf,
    truncated_pdf,
)
