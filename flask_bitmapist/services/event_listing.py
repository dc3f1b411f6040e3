"""Event names a page at a time, most recently active first: what the events page,
``/api/events`` and the pickers' suggestions read, whatever another writer stored.

One bounded pass over the keys (:meth:`~flask_bitmapist.domain.BitmapRepository.
list_events`) serves a request: it notes each event's newest stored period, and stops after
:data:`LISTING_MAX_KEYS` keys or :data:`LISTING_MAX_SECONDS` (the page then says the
listing was cut short). Only the page's names are counted afterwards.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Final

import attrs

from flask_bitmapist.domain import BitmapRepository
from flask_bitmapist.exceptions import InvalidRequest

__all__ = [
    "EVENTS_PER_PAGE",
    "LISTING_MAX_KEYS",
    "LISTING_MAX_SECONDS",
    "MAX_EVENTS_PER_PAGE",
    "MAX_QUERY_LENGTH",
    "EventPage",
    "page_events",
]

#: Names on one page of the events page and ``/api/events`` unless asked otherwise.
EVENTS_PER_PAGE: Final = 50
#: The most names one page may ask for (``per_page``, ``limit``).
MAX_EVENTS_PER_PAGE: Final = 200
#: The longest search accepted.
MAX_QUERY_LENGTH: Final = 200
#: Keys one listing reads at most: the names it holds meanwhile stay within about 150 MB
#: even when every key is another event.
LISTING_MAX_KEYS: Final = 1_000_000
#: How long one listing scans at most, so that a page answers within about 2 s whatever
#: the keyspace (a SCAN of 900,000 keys takes 1-3 s on a loaded two-core machine).
LISTING_MAX_SECONDS: Final = 1.0


@attrs.frozen
class EventPage:
    """One page of event names, most recently active first (then by name).

    ``newest`` holds each name's newest stored period start (local, naive; None when it
    has only lifetime flags). ``total`` counts the names matching ``query`` in what the
    listing read; when ``complete`` is False the listing stopped after ``keys_read`` keys
    and more names may exist: a search narrows it.
    """

    names: tuple[str, ...]
    newest: tuple[datetime | None, ...]
    query: str
    number: int
    size: int
    total: int
    complete: bool
    keys_read: int

    @property
    def pages(self) -> int:
        """How many pages the names read fill (1 when there are none)."""
        return max(1, math.ceil(self.total / self.size))

    @property
    def first(self) -> int:
        """The position (from 1) of this page's first name, 0 when the page is empty."""
        return (self.number - 1) * self.size + 1 if self.names else 0

    @property
    def has_next(self) -> bool:
        """Whether a later page holds names."""
        return self.number < self.pages


def page_events(
    repository: BitmapRepository,
    *,
    query: str = "",
    page: int = 1,
    per_page: int = EVENTS_PER_PAGE,
    max_keys: int | None = None,
    max_seconds: float | None = None,
) -> EventPage:
    """Page ``page`` (from 1) of ``per_page`` event names containing ``query`` (ASCII
    letters in any case), most recently active first, from one listing pass of at most
    ``max_keys`` keys and ``max_seconds`` (default :data:`LISTING_MAX_KEYS` and
    :data:`LISTING_MAX_SECONDS`).

    Bad input is :class:`~flask_bitmapist.exceptions.InvalidRequest` naming ``page``,
    ``per_page`` or ``q``, before anything is read.
    """
    query = _check_query(query)
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise InvalidRequest(f"page must be 1 or more, got {page!r}", field="page")
    if isinstance(per_page, bool) or not isinstance(per_page, int):
        raise InvalidRequest(f"per_page must be a whole number, got {per_page!r}", field="per_page")
    if not 1 <= per_page <= MAX_EVENTS_PER_PAGE:
        raise InvalidRequest(
            f"per_page must be between 1 and {MAX_EVENTS_PER_PAGE}, got {per_page}",
            field="per_page",
        )
    listing = repository.list_events(
        containing=query,
        max_keys=LISTING_MAX_KEYS if max_keys is None else max_keys,
        max_seconds=LISTING_MAX_SECONDS if max_seconds is None else max_seconds,
    )
    start = (page - 1) * per_page
    names = tuple(listing.names[start : start + per_page])
    return EventPage(
        names=names,
        newest=tuple(listing.newest[start : start + per_page]),
        query=query,
        number=page,
        size=per_page,
        total=len(listing.names),
        complete=listing.complete,
        keys_read=listing.keys_read,
    )


def _check_query(query: object) -> str:
    if not isinstance(query, str):
        raise InvalidRequest(f"q must be text, got {query!r}", field="q")
    query = query.strip()
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidRequest(
            f"q is {len(query):,} characters long; at most {MAX_QUERY_LENGTH} are searched",
            field="q",
        )
    return query
