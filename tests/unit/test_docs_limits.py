"""docs/limits.md names the code's bounds (its examples run in test_docs.py)."""

from __future__ import annotations

from pathlib import Path

from flask_bitmapist.domain import (
    DEFAULT_MAX_EXPRESSION_TERMS,
    DEFAULT_MAX_USER_ID,
    MARK_CHUNK_SIZE,
    MAX_EXPRESSION_DEPTH,
    MAX_EXPRESSION_LENGTH,
    MAX_YEAR,
    MIN_YEAR,
)
from flask_bitmapist.services.bounded_json import MAX_JSON_BYTES, MAX_JSON_DEPTH
from flask_bitmapist.services.event_listing import (
    EVENTS_PER_PAGE,
    LISTING_MAX_KEYS,
    LISTING_MAX_SECONDS,
    MAX_EVENTS_PER_PAGE,
)

PAGE_DIR = Path(__file__).resolve().parents[2] / "docs"
PAGE = (PAGE_DIR / "limits.md").read_text()


def test_the_bounds_named_are_the_codes() -> None:
    assert f"`2**26 - 1` = {DEFAULT_MAX_USER_ID:,}" in PAGE
    assert f"| {DEFAULT_MAX_EXPRESSION_TERMS} | `BITMAPIST_MAX_EXPRESSION_TERMS`" in PAGE
    assert f"| {MAX_EXPRESSION_DEPTH} levels |" in PAGE
    assert f"| {MAX_EXPRESSION_LENGTH:,} characters |" in PAGE
    assert MAX_JSON_BYTES == 2**20 and f"1 MiB, {MAX_JSON_DEPTH} levels of nesting" in PAGE
    assert f"years {MIN_YEAR} to {MAX_YEAR}" in PAGE


def test_the_memory_figures_name_the_chunk_size_they_were_measured_at() -> None:
    # The ascending bulk figure depends on the marks per round trip: measured again
    # (benchmarks/memory_per_million_users.py) when MARK_CHUNK_SIZE changes.
    page = (PAGE_DIR / "storage-and-scaling.md").read_text()
    assert f"writes a bulk mark {MARK_CHUNK_SIZE:,} marks per round trip" in " ".join(page.split())
    assert "`.venv/bin/python benchmarks/memory_per_million_users.py`" in page


def test_the_listing_bounds_named_are_the_codes() -> None:
    assert LISTING_MAX_SECONDS == 1.0
    assert f"at\n  most {LISTING_MAX_KEYS:,} keys or 1 s" in PAGE
    assert f"a page at a time ({EVENTS_PER_PAGE}, at most\n  {MAX_EVENTS_PER_PAGE})" in PAGE
