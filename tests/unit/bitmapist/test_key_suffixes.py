"""Our key suffixes are the ones bitmapist itself computes, on tricky dates and any moment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from bitmapist import DayEvents, HourEvents, MonthEvents, WeekEvents
from hypothesis import given
from hypothesis import strategies as st

from flask_bitmapist.domain import Period, TimeGroup, as_utc


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=timezone.utc)


# Building a bitmapist period object computes its key without touching Redis.
BITMAPIST_KEYS: dict[TimeGroup, Callable[[datetime], str]] = {
    TimeGroup.MONTH: lambda moment: MonthEvents.from_date("event", moment).redis_key,
    TimeGroup.WEEK: lambda moment: WeekEvents.from_date("event", moment).redis_key,
    TimeGroup.DAY: lambda moment: DayEvents.from_date("event", moment).redis_key,
    TimeGroup.HOUR: lambda moment: HourEvents.from_date("event", moment).redis_key,
}


def bitmapist_suffix(group: TimeGroup, moment: datetime) -> str:
    """The suffix bitmapist itself writes for ``moment``."""
    return BITMAPIST_KEYS[group](moment).removeprefix("trackist_event_")


@pytest.mark.parametrize(
    "moment",
    [
        utc(2026, 11, 27, 13),
        utc(2026, 12, 31, 23),
        utc(2027, 1, 1, 0),
        utc(2027, 1, 4, 9),
        utc(2021, 1, 1, 5),
        utc(2024, 2, 29, 23),
        utc(2100, 3, 1, 0),
        utc(2009, 12, 31, 12),
        utc(2010, 1, 3, 12),
    ],
)
def test_suffixes_are_bitmapists_on_tricky_dates(moment: datetime) -> None:
    for group in BITMAPIST_KEYS:
        assert Period.containing(group, moment).key_suffix == bitmapist_suffix(group, moment)


@given(
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2199, 12, 31)),
    st.sampled_from(sorted(BITMAPIST_KEYS, key=lambda g: g.value)),
)
def test_suffixes_are_bitmapists_for_any_utc_moment(moment: datetime, group: TimeGroup) -> None:
    assert Period.containing(group, moment).key_suffix == bitmapist_suffix(group, as_utc(moment))
