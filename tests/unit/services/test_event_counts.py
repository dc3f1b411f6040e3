"""Event counts in the periods containing now, shared by the CLI and the dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from flask_bitmapist.domain import Bitmap, BitmapId, CohortEngine, Mark, Period, TimeGroup
from flask_bitmapist.infra import InMemoryRepository
from flask_bitmapist.services.event_counts import EVENT_PERIODS, count_events

NOW = datetime(2026, 11, 27, 13, 45, tzinfo=timezone.utc)


def utc(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=timezone.utc)


def test_each_event_is_counted_in_the_day_week_month_and_year_of_now() -> None:
    repository = InMemoryRepository()
    repository.mark(
        [
            Mark.create("b:paid", 1, utc(11, 27)),
            Mark.create("a:created", 1, utc(11, 27)),
            Mark.create("a:created", 2, utc(11, 23)),  # Monday: this week, not today
            Mark.create("a:created", 3, utc(11, 2)),  # this month only
            Mark.create("a:created", 4, utc(1, 5)),  # this year only
            Mark.create("a:created", 5, datetime(2025, 12, 31, 23, tzinfo=timezone.utc)),
        ]
    )

    counts = count_events(CohortEngine(repository), NOW)

    assert counts.now == NOW
    assert counts.rows == (("a:created", (1, 2, 3, 4)), ("b:paid", (1, 1, 1, 1)))
    groups = (TimeGroup.DAY, TimeGroup.WEEK, TimeGroup.MONTH, TimeGroup.YEAR)
    assert counts.periods == tuple(Period.containing(group, NOW) for group in groups)
    assert counts.labels == ("today", "this week", "this month", "this year")
    assert counts.keys == ("day", "week", "month", "year")
    assert [group for group, _ in EVENT_PERIODS] == list(groups)


def test_no_events_is_no_rows() -> None:
    counts = count_events(CohortEngine(InMemoryRepository()), NOW)
    assert counts.rows == ()
    assert len(counts.periods) == 4


def test_a_trail_of_days_is_counted_with_the_periods_in_one_call() -> None:
    repository = InMemoryRepository()
    repository.mark(
        [
            Mark.create("a", 1, utc(11, 25)),
            Mark.create("a", 2, utc(11, 27)),
            Mark.create("a", 3, utc(11, 27)),
            Mark.create("b", 1, utc(11, 20)),  # before the trail
        ]
    )
    calls: list[tuple[str, int]] = []
    fetch, count = repository.fetch, repository.count

    def fetched(ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
        calls.append(("fetch", len(ids)))
        return fetch(ids, max_bytes=max_bytes)

    def counted(ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[int]:
        calls.append(("count", len(ids)))
        return count(ids, max_bytes=max_bytes)

    repository.fetch = fetched  # type: ignore[method-assign]
    repository.count = counted  # type: ignore[method-assign]

    counts = count_events(CohortEngine(repository), NOW, trail_days=3)

    assert counts.trails == ((1, 0, 2), (0, 0, 0))
    assert counts.rows[0] == ("a", (2, 3, 3, 3))
    # Day, week, month and the two trail days before today, of both events, counted in
    # one call; the year read as both events' twelve months in one more.
    assert calls == [("count", 2 * 5), ("fetch", 2 * 12)]
    assert count_events(CohortEngine(repository), NOW).trails == ()
