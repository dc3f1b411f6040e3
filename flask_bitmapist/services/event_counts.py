"""Every event with its counts in the periods containing now: the CLI's ``events`` and
the dashboard's events page and ``/api/events`` all read them from here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

import attrs

from flask_bitmapist.domain import CohortEngine, Period, TimeGroup

__all__ = ["EVENT_PERIODS", "EventCounts", "count_events"]

#: The periods counted, each the one containing now, with its label ("this week").
EVENT_PERIODS: Final = (
    (TimeGroup.DAY, "today"),
    (TimeGroup.WEEK, "this week"),
    (TimeGroup.MONTH, "this month"),
    (TimeGroup.YEAR, "this year"),
)


@attrs.frozen
class EventCounts:
    """How many users did each event in each of :data:`EVENT_PERIODS`, as of ``now``.

    ``rows`` pairs each event name (sorted, or in the order asked) with its counts, in the
    order of ``periods``; ``trails`` (when asked for) holds each event's daily counts over
    the days ending today, in the order of ``rows``.
    """

    now: datetime
    periods: tuple[Period, ...]
    rows: tuple[tuple[str, tuple[int, ...]], ...]
    trails: tuple[tuple[int, ...], ...] = ()
    #: The (event, period) pairs whose counts are lower bounds: their bitmaps hold ids past
    #: the engine's read limit (``BITMAPIST_MAX_USER_ID``; another client's), not read.
    at_least: frozenset[tuple[str, Period]] = frozenset()

    def lower_bounds(self, name: str) -> tuple[bool, ...]:
        """For each period, whether ``name``'s count there is a lower bound."""
        return tuple((name, period) in self.at_least for period in self.periods)

    @property
    def labels(self) -> tuple[str, ...]:
        """The periods' labels: ``today``, ``this week``, ``this month``, ``this year``."""
        return tuple(label for _, label in EVENT_PERIODS)

    @property
    def keys(self) -> tuple[str, ...]:
        """The periods' names in JSON: ``day``, ``week``, ``month``, ``year``."""
        return tuple(group.value for group, _ in EVENT_PERIODS)


def count_events(
    engine: CohortEngine,
    now: datetime,
    *,
    names: Sequence[str] | None = None,
    trail_days: int = 0,
) -> EventCounts:
    """Count ``names`` (default: every event the storage holds, sorted) in the periods of
    :data:`EVENT_PERIODS` containing ``now``, and with ``trail_days`` in each of that many
    days ending today (the events page's small trend lines): the stored periods in one
    call counted where they are stored, each year as its months (see
    :meth:`CohortEngine.counts`), and one call asking the bitmaps' lengths, to mark the
    counts of bitmaps longer than the engine reads as lower bounds.

    ``now`` is read once by the caller, so the moment shown always lies in the periods
    counted (around midnight a second clock read could fall on the next day).
    """
    periods = tuple(Period.containing(group, now) for group, _ in EVENT_PERIODS)
    today = Period.containing(TimeGroup.DAY, now)
    trail = [today.shift(k - trail_days + 1) for k in range(trail_days)]
    ordered = sorted(engine.repository.event_names()) if names is None else list(names)
    counts = engine.counts(ordered, [*periods, *trail])
    rows = tuple((name, tuple(counts[(name, period)] for period in periods)) for name in ordered)
    trails = tuple(tuple(counts[(name, day)] for day in trail) for name in ordered)
    # Reads stop at the engine's read limit: one more call (lengths only) says which
    # counts that cut short.
    at_least = engine.beyond_limit(ordered, periods)
    return EventCounts(
        now=now, periods=periods, rows=rows, trails=trails if trail else (), at_least=at_least
    )
