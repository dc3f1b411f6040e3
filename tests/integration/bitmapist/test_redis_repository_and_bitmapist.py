"""RedisRepository side by side with bitmapist 3.x on a real redis-server: each reads what
the other marked, and both compute the same cohort."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta, timezone
from typing import Any

import bitmapist
import bitmapist.cohort
import pytest
import redis

from flask_bitmapist.domain import (
    CohortEngine,
    CohortMode,
    CohortSpec,
    EventRef,
    Mark,
    TimeGroup,
)
from flask_bitmapist.infra import RedisRepository
from tests.integration.support import NOW, stored


@pytest.fixture
def repository(redis_url: str) -> Iterator[RedisRepository]:
    with closing(RedisRepository.from_url(redis_url)) as repository:
        yield repository


@pytest.fixture
def bitmapist_on_test_server(redis_url: str) -> Iterator[redis.Redis]:
    """bitmapist's default system pointed at the test server (restored afterwards)."""
    client = redis.Redis.from_url(redis_url)
    saved = bitmapist.SYSTEMS["default"]
    bitmapist.SYSTEMS["default"] = client
    try:
        yield client
    finally:
        bitmapist.SYSTEMS["default"] = saved
        client.close()


# Moments around new year in both directions: ISO year behind and ahead of the calendar.
AROUND_NEW_YEAR = [
    datetime(2026, 12, 28, 9, tzinfo=timezone.utc),  # W2026-53
    datetime(2027, 1, 1, 23, tzinfo=timezone.utc),  # W2026-53, calendar 2027
    datetime(2027, 1, 4, 0, tzinfo=timezone.utc),  # W2027-1
    datetime(2019, 12, 30, 12, tzinfo=timezone.utc),  # W2020-1, calendar 2019
    NOW,
]


# -- bitmapist -> us ---------------------------------------------------------------


@pytest.mark.usefixtures("bitmapist_on_test_server")
@pytest.mark.parametrize("moment", AROUND_NEW_YEAR, ids=lambda m: m.date().isoformat())
def test_we_read_what_bitmapist_marked(repository: RedisRepository, moment: datetime) -> None:
    for uid in (0, 5, 1000):
        bitmapist.mark_event("user:paid", uid, now=moment, track_hourly=True, track_unique=True)
    bitmapist.mark_event("user:paid", 77, now=moment - timedelta(days=40))

    for group in (TimeGroup.MONTH, TimeGroup.WEEK, TimeGroup.DAY, TimeGroup.HOUR, None):
        assert stored(repository, "user:paid", group, moment) == [0, 5, 1000], group
    assert stored(repository, "user:paid", TimeGroup.DAY, moment - timedelta(days=40)) == [77]
    assert repository.event_names() == frozenset({"user:paid"})


def test_event_names_agree_with_bitmapist(
    repository: RedisRepository, bitmapist_on_test_server: redis.Redis
) -> None:
    for name in ("active", "user:signed_up", "song_played_2026"):
        bitmapist.mark_event(name, 1, now=NOW, track_hourly=True, track_unique=True)
    # A bitmapist bit operation leaves a temporary trackist_bitop_ key behind.
    bitmapist.BitOpAnd(
        bitmapist.DayEvents("active", 2026, 11, 27),
        bitmapist.DayEvents("user:signed_up", 2026, 11, 27),
    )
    assert any(key.startswith(b"trackist_bitop_") for key in bitmapist_on_test_server.scan_iter())
    expected = frozenset({"active", "user:signed_up", "song_played_2026"})
    assert repository.event_names() == expected
    assert frozenset(bitmapist.get_event_names()) == expected


def test_events_bitmapist_named_with_spaces_are_listed_read_and_queried(
    repository: RedisRepository, bitmapist_on_test_server: redis.Redis
) -> None:
    # bitmapist accepts any event name; ours refuses spaces only when writing.
    for uid in (1, 7):
        bitmapist.mark_event("signed up", uid, now=NOW - timedelta(days=1))
    bitmapist.mark_event("song played", 7, now=NOW, track_hourly=True, track_unique=True)
    bitmapist.mark_event("song played", 9, now=NOW)

    expected = frozenset({"signed up", "song played"})
    assert repository.event_names() == expected
    assert frozenset(bitmapist.get_event_names()) == expected
    for group in (TimeGroup.MONTH, TimeGroup.WEEK, TimeGroup.DAY):
        assert stored(repository, "song played", group, NOW) == [7, 9], group
    assert stored(repository, "song played", TimeGroup.HOUR, NOW) == [7]
    assert stored(repository, "song played", None, NOW) == [7]

    spec = CohortSpec.create(
        EventRef("signed up"),
        EventRef("song played"),
        now=NOW,
        time_group="days",
        rows=2,
        cols=2,
        mode=CohortMode.RECURRING,
    )
    cohort = CohortEngine(repository).compute(spec)
    assert cohort.totals == (2, 0)
    assert cohort.cells == ((0, 1), (None, None))


# -- us -> bitmapist ---------------------------------------------------------------


@pytest.mark.usefixtures("bitmapist_on_test_server")
@pytest.mark.parametrize("moment", AROUND_NEW_YEAR, ids=lambda m: m.date().isoformat())
def test_bitmapist_reads_what_we_marked(repository: RedisRepository, moment: datetime) -> None:
    repository.mark(
        Mark.create("user:paid", uid, moment, hourly=True, unique=True) for uid in (0, 5, 1000)
    )
    iso_year, iso_week, _ = moment.isocalendar()
    views: list[Any] = [
        bitmapist.MonthEvents("user:paid", moment.year, moment.month),
        bitmapist.WeekEvents("user:paid", iso_year, iso_week),
        bitmapist.DayEvents("user:paid", moment.year, moment.month, moment.day),
        bitmapist.HourEvents("user:paid", moment.year, moment.month, moment.day, moment.hour),
        bitmapist.UniqueEvents("user:paid"),
    ]
    for view in views:
        assert list(view) == [0, 5, 1000], view.redis_key
        assert len(view) == 3
        assert 5 in view
        assert 6 not in view
    assert bitmapist.WeekEvents.from_date("user:paid", moment).redis_key == views[1].redis_key


@pytest.mark.usefixtures("bitmapist_on_test_server")
def test_bitmapist_sees_our_unmarks(repository: RedisRepository) -> None:
    repository.mark(Mark.create("user:paid", uid, NOW) for uid in (1, 2))
    repository.unmark([Mark.create("user:paid", 1, NOW)])
    assert list(bitmapist.DayEvents("user:paid", 2026, 11, 27)) == [2]
    assert list(bitmapist.MonthEvents("user:paid", 2026, 11)) == [2]


@pytest.mark.usefixtures("bitmapist_on_test_server")
def test_our_recurring_cohort_matches_bitmapists_cohort(repository: RedisRepository) -> None:
    # Signups on each of the last 7 days (ids grow with time), activity thinning with age.
    days = [NOW - timedelta(days=6 - d) for d in range(7)]
    marks = []
    for d, day in enumerate(days):
        signed_up = range(d * 50, d * 50 + 50 - 5 * d)
        marks += [Mark.create("user:signup", uid, day) for uid in signed_up]
        for later in range(d, 7):
            marks += [
                Mark.create("user:active", uid, days[later])
                for uid in signed_up
                if uid % (later - d + 1) == 0
            ]
    repository.mark(marks)

    spec = CohortSpec.create(
        EventRef("user:signup"),
        EventRef("user:active"),
        now=NOW,
        time_group="days",
        rows=7,
        cols=7,
        mode=CohortMode.RECURRING,
    )
    ours = CohortEngine(repository).compute(spec)
    theirs = bitmapist.cohort.get_dates_data(
        "user:signup",
        "user:active",
        time_group="days",
        as_percent=False,
        num_results=7,
        num_of_rows=6,
        start_date=days[0].strftime("%Y-%m-%d"),
    )
    assert [row[1] for row in theirs] == list(ours.totals)
    for our_row, their_row in zip(ours.cells, theirs, strict=True):
        # bitmapist leaves '' where the secondary event has no data (the future included).
        assert [c or 0 for c in our_row] == [int(c or 0) for c in their_row[2:]]
    assert ours.cells[0][:3] == (50, 25, 17)
    assert ours.cells[6][1] is None
