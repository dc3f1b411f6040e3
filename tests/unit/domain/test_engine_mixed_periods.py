"""One engine read may mix periods of different time groups (the events page does)."""

from __future__ import annotations

from datetime import datetime, timezone

from flask_bitmapist.domain import CohortEngine, Mark, Period, TimeGroup
from flask_bitmapist.infra import InMemoryRepository

NOW = datetime(2026, 11, 27, 15, tzinfo=timezone.utc)


def test_counts_for_a_day_a_week_a_month_and_a_year_come_from_one_read() -> None:
    repository = InMemoryRepository()
    repository.mark(
        [
            Mark.create("signed_up", 1, NOW),
            Mark.create("signed_up", 2, datetime(2026, 11, 24, tzinfo=timezone.utc)),
            Mark.create("signed_up", 3, datetime(2026, 11, 2, tzinfo=timezone.utc)),
            Mark.create("signed_up", 4, datetime(2026, 2, 2, tzinfo=timezone.utc)),
            Mark.create("paid", 1, NOW),
        ]
    )
    periods = [Period.containing(group, NOW) for group in TimeGroup if group.is_stored]
    periods.append(Period.containing(TimeGroup.YEAR, NOW))

    counts = CohortEngine(repository).counts(["signed_up", "paid"], periods)

    by_group = {period.group: counts[("signed_up", period)] for period in periods}
    assert by_group == {
        TimeGroup.HOUR: 0,  # hourly tracking is off for these marks
        TimeGroup.DAY: 1,
        TimeGroup.WEEK: 2,
        TimeGroup.MONTH: 3,
        TimeGroup.YEAR: 4,
    }
    assert [counts[("paid", period)] for period in periods] == [0, 1, 1, 1, 1]
