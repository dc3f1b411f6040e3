"""One engine read may mix periods of different time groups (the events page does)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from flask_bitmapist.domain import Bitmap, BitmapId, CohortEngine, Mark, Period, TimeGroup
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


class LongBitmaps(InMemoryRepository):
    """Says every bitmap is 40 MiB long (as another writer's could be), and records the
    reads."""

    def __init__(self) -> None:
        super().__init__()
        self.fetched: list[set[str]] = []

    def sizes(self, ids: Sequence[BitmapId]) -> list[int]:
        return [40 * 2**20] * len(ids)

    def fetch(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
        self.fetched.append({bitmap_id.event for bitmap_id in ids})
        return super().fetch(ids, max_bytes=max_bytes)


def test_a_years_months_are_read_a_few_events_at_a_time_when_their_bitmaps_are_long() -> None:
    repository = LongBitmaps()
    repository.mark(Mark.create(f"e{i}", i, NOW) for i in range(5))
    year = Period.containing(TimeGroup.YEAR, NOW)
    events = [f"e{i}" for i in range(5)]

    # Up to the default cap's 8 MiB a bitmap, twelve months of one event hold 96 MiB.
    capped = CohortEngine(repository, max_user_id=2**26 - 1).counts(events, [year])
    assert repository.fetched == [{event} for event in events]
    # Read whole, one event's months exceed 64 MiB too: still one event a read.
    repository.fetched.clear()
    CohortEngine(repository).counts(events, [year])
    assert len(repository.fetched) == 5
    # With a small cap (a 4 KiB bitmap, 48 KiB a year) every event is read at once.
    repository.fetched.clear()
    small = CohortEngine(repository, max_user_id=2**15).counts(events, [year])
    assert repository.fetched == [set(events)]
    assert capped == small == {(event, year): 1 for event in events}
