"""InMemoryRepository: the in-process store behind unit tests, the demo and ``memory://``."""

from __future__ import annotations

import threading
from datetime import datetime

from flask_bitmapist.domain import Bitmap, BitmapId, Mark, Period, TimeGroup
from flask_bitmapist.infra import InMemoryRepository

MOMENT = datetime(2027, 1, 1, 13, 45)


def period(group: TimeGroup, moment: datetime = MOMENT) -> Period:
    return Period.containing(group, moment)


def ids(event: str, *groups: TimeGroup) -> list[BitmapId]:
    return [BitmapId(event, period(group)) for group in groups]


def test_a_mark_sets_the_users_bit_in_month_week_and_day() -> None:
    repo = InMemoryRepository()
    repo.mark([Mark.create("signup", 9, MOMENT), Mark.create("signup", 3, MOMENT)])
    month, week, day, hour = repo.fetch(
        ids("signup", TimeGroup.MONTH, TimeGroup.WEEK, TimeGroup.DAY, TimeGroup.HOUR)
    )
    assert list(month) == list(week) == list(day) == [3, 9]
    assert hour == Bitmap()
    assert month.to_redis_bytes() == bytes([0b0001_0000, 0b0100_0000])


def test_hourly_and_unique_marks_set_the_hour_and_the_lifetime_flag() -> None:
    repo = InMemoryRepository()
    repo.mark([Mark.create("signup", 5, MOMENT, hourly=True, unique=True)])
    hour, lifetime = repo.fetch([*ids("signup", TimeGroup.HOUR), BitmapId("signup", None)])
    assert list(hour) == [5]
    assert list(lifetime) == [5]


def test_fetch_keeps_order_and_a_missing_bitmap_is_empty() -> None:
    repo = InMemoryRepository()
    repo.mark([Mark.create("a", 1, MOMENT), Mark.create("b", 2, MOMENT)])
    day = period(TimeGroup.DAY)
    fetched = repo.fetch(
        [
            BitmapId("b", day),
            BitmapId("missing", day),
            BitmapId("a", day),
            BitmapId("a", day.shift(1)),
            BitmapId("b", day),
        ]
    )
    assert [list(b) for b in fetched] == [[2], [], [1], [], [2]]
    assert repo.fetch([]) == []


def test_unmark_clears_only_that_users_bits() -> None:
    repo = InMemoryRepository()
    repo.mark([Mark.create("a", user, MOMENT, hourly=True) for user in (1, 2, 900)])
    repo.unmark([Mark.create("a", 2, MOMENT, hourly=True)])
    for bitmap in repo.fetch(
        ids("a", TimeGroup.MONTH, TimeGroup.WEEK, TimeGroup.DAY, TimeGroup.HOUR)
    ):
        assert list(bitmap) == [1, 900]


def test_unmarking_what_was_never_marked_changes_nothing() -> None:
    repo = InMemoryRepository()
    repo.mark([Mark.create("a", 1, MOMENT)])
    repo.unmark([Mark.create("a", 5000, MOMENT), Mark.create("b", 1, MOMENT)])
    assert [list(b) for b in repo.fetch(ids("a", TimeGroup.DAY) + ids("b", TimeGroup.DAY))] == [
        [1],
        [],
    ]


def test_a_fetched_bitmap_is_a_snapshot() -> None:
    repo = InMemoryRepository()
    repo.mark([Mark.create("a", 1, MOMENT)])
    (before,) = repo.fetch(ids("a", TimeGroup.DAY))
    repo.mark([Mark.create("a", 2, MOMENT)])
    repo.unmark([Mark.create("a", 1, MOMENT)])
    assert list(before) == [1]
    assert list(repo.fetch(ids("a", TimeGroup.DAY))[0]) == [2]


def test_event_names_lists_marked_events() -> None:
    repo = InMemoryRepository()
    assert repo.event_names() == frozenset()
    repo.mark([Mark.create("user:logged_in", 1, MOMENT), Mark.create("song:played", 2, MOMENT)])
    repo.mark([Mark.create("song:played", 3, datetime(2026, 5, 5))])
    assert repo.event_names() == {"user:logged_in", "song:played"}


def test_clear_forgets_everything() -> None:
    repo = InMemoryRepository()
    repo.mark([Mark.create("a", 1, MOMENT)])
    repo.clear()
    assert repo.event_names() == frozenset()
    assert repo.fetch(ids("a", TimeGroup.DAY)) == [Bitmap()]


def test_concurrent_writers_lose_no_bit() -> None:
    repo = InMemoryRepository()
    writers, per_writer = 8, 400
    start = threading.Barrier(writers)

    def write(offset: int) -> None:
        start.wait()
        # One mark per call, ids interleaved between threads, so writes race on the
        # same bytes and the same growing bytearrays.
        for n in range(per_writer):
            repo.mark([Mark.create("race", n * writers + offset, MOMENT, hourly=True)])

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = list(range(writers * per_writer))
    for bitmap in repo.fetch(
        ids("race", TimeGroup.MONTH, TimeGroup.WEEK, TimeGroup.DAY, TimeGroup.HOUR)
    ):
        assert list(bitmap) == expected


def test_concurrent_marks_and_unmarks_of_disjoint_users_keep_each_others_bits() -> None:
    repo = InMemoryRepository()
    repo.mark([Mark.create("a", user, MOMENT) for user in range(0, 2000, 2)])
    start = threading.Barrier(2)

    def add_odd() -> None:
        start.wait()
        for user in range(1, 2000, 2):
            repo.mark([Mark.create("a", user, MOMENT)])

    def remove_even() -> None:
        start.wait()
        for user in range(0, 2000, 2):
            repo.unmark([Mark.create("a", user, MOMENT)])

    threads = [threading.Thread(target=add_odd), threading.Thread(target=remove_even)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert list(repo.fetch(ids("a", TimeGroup.DAY))[0]) == list(range(1, 2000, 2))
