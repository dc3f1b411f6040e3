"""Event names a page at a time, most recently active first, on the in-process store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from flask_bitmapist.domain import BitmapId, Mark
from flask_bitmapist.exceptions import InvalidRequest
from flask_bitmapist.infra import InMemoryRepository
from flask_bitmapist.services.event_listing import (
    EVENTS_PER_PAGE,
    MAX_EVENTS_PER_PAGE,
    MAX_QUERY_LENGTH,
    page_events,
)

NOW = datetime(2026, 11, 27, 13, 45, tzinfo=timezone.utc)


@pytest.fixture
def store() -> InMemoryRepository:
    """120 events, ``e000`` marked today, ``e001`` yesterday... ``e119`` 119 days ago, and
    ``b`` and ``a`` marked today too."""
    repository = InMemoryRepository()
    repository.mark(Mark.create(f"e{i:03d}", i, NOW - timedelta(days=i)) for i in range(120))
    repository.mark([Mark.create("b", 1, NOW), Mark.create("a", 1, NOW)])
    return repository


def test_names_come_most_recently_active_first_then_by_name(store: InMemoryRepository) -> None:
    page = page_events(store)

    assert page.names[:4] == ("a", "b", "e000", "e001")
    assert page.names[-1] == f"e{EVENTS_PER_PAGE - 3:03d}"
    assert page.newest[0] == datetime(2026, 11, 27)
    assert (page.number, page.size, page.total, page.pages, page.complete) == (
        1,
        EVENTS_PER_PAGE,
        122,
        3,
        True,
    )


def test_pages_follow_each_other_without_gaps_or_repeats(store: InMemoryRepository) -> None:
    pages = [page_events(store, page=n, per_page=50) for n in (1, 2, 3, 4)]

    names = [name for page in pages for name in page.names]
    assert names == ["a", "b", *(f"e{i:03d}" for i in range(120))]
    assert [len(page.names) for page in pages] == [50, 50, 22, 0]
    assert [page.first for page in pages] == [1, 51, 101, 0]
    assert [page.has_next for page in pages] == [True, True, False, False]


def test_a_search_keeps_names_containing_it_in_any_ascii_case(
    store: InMemoryRepository,
) -> None:
    page = page_events(store, query="  E11 ")

    assert page.query == "E11"
    assert page.names == tuple(f"e{i}" for i in range(110, 120))
    assert page.total == 10


def test_a_name_with_only_lifetime_flags_comes_last(store: InMemoryRepository) -> None:
    # Another writer's lifetime flag alone: a name with no dated period.
    store._bitmaps[BitmapId("z:undated", None)] = bytearray(b"\x80")

    page = page_events(store, page=3, per_page=50)

    assert page.names[-1] == "z:undated"
    assert page.newest[-1] is None


def test_a_listing_cut_short_says_so(store: InMemoryRepository) -> None:
    page = page_events(store, max_keys=30)

    assert not page.complete
    assert page.keys_read == 30
    assert page.total < 122


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"page": 0}, "page"),
        ({"page": True}, "page"),
        ({"per_page": 0}, "per_page"),
        ({"per_page": MAX_EVENTS_PER_PAGE + 1}, "per_page"),
        ({"per_page": "20"}, "per_page"),
        ({"query": "x" * (MAX_QUERY_LENGTH + 1)}, "q"),
        ({"query": 5}, "q"),
    ],
)
def test_bad_paging_is_refused_naming_the_field_before_reading(
    arguments: dict[str, object], field: str
) -> None:
    class Unreadable(InMemoryRepository):
        def list_events(self, **_: object) -> object:  # type: ignore[override]
            raise AssertionError("read before the arguments were checked")

    with pytest.raises(InvalidRequest) as caught:
        page_events(Unreadable(), **arguments)  # type: ignore[arg-type]
    assert caught.value.field == field
