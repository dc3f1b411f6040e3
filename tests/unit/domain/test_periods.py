"""Time groups and periods: flooring, shifting, ISO weeks and key suffixes (bitmapist's own
suffixes are compared in tests/unit/bitmapist/)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_bitmapist.domain import (
    BitmapistError,
    InvalidMoment,
    InvalidTimeGroup,
    Period,
    TimeGroup,
    as_utc,
)

UTC = timezone.utc


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


# -- TimeGroup.parse ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("hour", TimeGroup.HOUR),
        ("hours", TimeGroup.HOUR),
        ("day", TimeGroup.DAY),
        ("days", TimeGroup.DAY),
        ("week", TimeGroup.WEEK),
        ("weeks", TimeGroup.WEEK),
        ("month", TimeGroup.MONTH),
        ("months", TimeGroup.MONTH),
        ("year", TimeGroup.YEAR),
        ("years", TimeGroup.YEAR),
        ("DAYS", TimeGroup.DAY),
        ("Weeks", TimeGroup.WEEK),
        (" month ", TimeGroup.MONTH),
    ],
)
def test_parse_takes_singular_and_plural_names_in_any_case(text: str, group: TimeGroup) -> None:
    assert TimeGroup.parse(text) is group


def test_parse_passes_a_time_group_through() -> None:
    assert TimeGroup.parse(TimeGroup.WEEK) is TimeGroup.WEEK


@pytest.mark.parametrize("bad", ["fortnight", "", "s", "dayss", "d", "weekly", "minutes"])
def test_parse_refuses_unknown_names_naming_the_value(bad: str) -> None:
    with pytest.raises(InvalidTimeGroup) as caught:
        TimeGroup.parse(bad)
    assert repr(bad) in str(caught.value)
    assert "day(s)" in str(caught.value)


@pytest.mark.parametrize("bad", [None, 7, b"days"])
def test_parse_refuses_non_strings_naming_the_value(bad: object) -> None:
    with pytest.raises(InvalidTimeGroup) as caught:
        TimeGroup.parse(bad)  # type: ignore[arg-type]
    assert repr(bad) in str(caught.value)


def test_invalid_time_group_is_a_value_error_of_the_package() -> None:
    assert issubclass(InvalidTimeGroup, BitmapistError)
    assert issubclass(InvalidTimeGroup, ValueError)


def test_plural_is_the_0_1_spelling() -> None:
    assert [g.plural for g in TimeGroup] == ["hours", "days", "weeks", "months", "years"]


def test_every_group_but_the_year_is_stored() -> None:
    assert [g for g in TimeGroup if not g.is_stored] == [TimeGroup.YEAR]


# -- as_utc ---------------------------------------------------------------------------


def test_a_naive_datetime_means_utc() -> None:
    assert as_utc(datetime(2026, 11, 27, 13, 5)) == utc(2026, 11, 27, 13, 5)
    assert as_utc(datetime(2026, 11, 27, 13, 5)).tzinfo is UTC


def test_an_aware_datetime_is_converted_to_utc() -> None:
    paris_winter = timezone(timedelta(hours=1))
    moment = as_utc(datetime(2027, 1, 1, 0, 30, tzinfo=paris_winter))
    assert moment == utc(2026, 12, 31, 23, 30)
    assert moment.tzinfo is UTC
    assert (moment.year, moment.hour) == (2026, 23)


def test_as_utc_refuses_what_is_not_a_datetime() -> None:
    with pytest.raises(InvalidMoment, match="'2026-11-27'"):
        as_utc("2026-11-27")  # type: ignore[arg-type]
    assert issubclass(InvalidMoment, TypeError)
    assert issubclass(InvalidMoment, BitmapistError)


# -- Period.containing ----------------------------------------------------------------

MOMENT = utc(2026, 11, 27, 13, 45, 12, 999)  # a Friday


@pytest.mark.parametrize(
    ("group", "start"),
    [
        (TimeGroup.HOUR, utc(2026, 11, 27, 13)),
        (TimeGroup.DAY, utc(2026, 11, 27)),
        (TimeGroup.WEEK, utc(2026, 11, 23)),  # the Monday before
        (TimeGroup.MONTH, utc(2026, 11, 1)),
        (TimeGroup.YEAR, utc(2026, 1, 1)),
    ],
)
def test_containing_floors_to_the_start_of_the_period(group: TimeGroup, start: datetime) -> None:
    period = Period.containing(group, MOMENT)
    assert period == Period(group, start)
    assert period.start == start
    assert MOMENT in period


def test_a_week_starts_on_monday_even_across_new_year() -> None:
    # 2027-01-01 is a Friday; its ISO week began on Monday 2026-12-28.
    assert Period.containing(TimeGroup.WEEK, utc(2027, 1, 1, 8)).start == utc(2026, 12, 28)
    # A Monday is the start of its own week.
    assert Period.containing(TimeGroup.WEEK, utc(2027, 1, 4)).start == utc(2027, 1, 4)
    # A Sunday belongs to the week of the Monday six days before.
    assert Period.containing(TimeGroup.WEEK, utc(2027, 1, 3, 23, 59)).start == utc(2026, 12, 28)


def test_an_aware_moment_is_floored_in_utc() -> None:
    tokyo = timezone(timedelta(hours=9))
    new_york = timezone(timedelta(hours=-5))
    # 2027-01-01 08:00 in Tokyo is still 2026 in UTC.
    moment = datetime(2027, 1, 1, 8, tzinfo=tokyo)
    assert Period.containing(TimeGroup.DAY, moment).key_suffix == "2026-12-31"
    assert Period.containing(TimeGroup.HOUR, moment).key_suffix == "2026-12-31-23"
    assert Period.containing(TimeGroup.MONTH, moment).key_suffix == "2026-12"
    assert Period.containing(TimeGroup.YEAR, moment).start == utc(2026, 1, 1)
    # 2026-12-31 20:00 in New York is already 2027 in UTC.
    moment = datetime(2026, 12, 31, 20, tzinfo=new_york)
    assert Period.containing(TimeGroup.DAY, moment).key_suffix == "2027-1-1"
    assert Period.containing(TimeGroup.HOUR, moment).key_suffix == "2027-1-1-1"
    assert Period.containing(TimeGroup.WEEK, moment).key_suffix == "W2026-53"


def test_naive_and_aware_utc_moments_give_the_same_period() -> None:
    naive = datetime(2026, 11, 27, 13, 45)
    for group in TimeGroup:
        assert Period.containing(group, naive) == Period.containing(group, as_utc(naive))


# -- shift and end --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "start", "n", "shifted"),
    [
        (TimeGroup.HOUR, utc(2026, 12, 31, 23), 1, utc(2027, 1, 1, 0)),
        (TimeGroup.HOUR, utc(2026, 3, 1, 0), -1, utc(2026, 2, 28, 23)),
        (TimeGroup.DAY, utc(2026, 1, 31), 1, utc(2026, 2, 1)),
        (TimeGroup.DAY, utc(2026, 3, 1), -1, utc(2026, 2, 28)),
        (TimeGroup.DAY, utc(2026, 12, 31), 1, utc(2027, 1, 1)),
        (TimeGroup.DAY, utc(2026, 4, 30), 31, utc(2026, 5, 31)),
        (TimeGroup.WEEK, utc(2026, 12, 28), 1, utc(2027, 1, 4)),
        (TimeGroup.WEEK, utc(2027, 1, 4), -1, utc(2026, 12, 28)),
        (TimeGroup.MONTH, utc(2026, 1, 1), 1, utc(2026, 2, 1)),
        (TimeGroup.MONTH, utc(2026, 12, 1), 1, utc(2027, 1, 1)),
        (TimeGroup.MONTH, utc(2026, 1, 1), -1, utc(2025, 12, 1)),
        (TimeGroup.MONTH, utc(2026, 11, 1), 13, utc(2027, 12, 1)),
        (TimeGroup.MONTH, utc(2026, 11, 1), -23, utc(2024, 12, 1)),
        (TimeGroup.MONTH, utc(2026, 11, 1), -24, utc(2024, 11, 1)),
        (TimeGroup.YEAR, utc(2026, 1, 1), -3, utc(2023, 1, 1)),
        (TimeGroup.YEAR, utc(2026, 1, 1), 0, utc(2026, 1, 1)),
    ],
)
def test_shift_moves_by_whole_periods_across_month_and_year_ends(
    group: TimeGroup, start: datetime, n: int, shifted: datetime
) -> None:
    assert Period(group, start).shift(n) == Period(group, shifted)


@pytest.mark.parametrize(
    ("group", "start", "end"),
    [
        (TimeGroup.HOUR, utc(2026, 11, 27, 23), utc(2026, 11, 28, 0)),
        (TimeGroup.DAY, utc(2026, 11, 30), utc(2026, 12, 1)),
        (TimeGroup.WEEK, utc(2026, 11, 23), utc(2026, 11, 30)),
        (TimeGroup.MONTH, utc(2026, 2, 1), utc(2026, 3, 1)),
        (TimeGroup.YEAR, utc(2026, 1, 1), utc(2027, 1, 1)),
    ],
)
def test_end_is_the_start_of_the_next_period(
    group: TimeGroup, start: datetime, end: datetime
) -> None:
    period = Period(group, start)
    assert period.end == end
    assert start in period
    assert end not in period
    assert end - timedelta(microseconds=1) in period


def test_a_leap_day_is_a_day_of_february() -> None:
    leap_day = Period.containing(TimeGroup.DAY, utc(2024, 2, 29, 12))
    assert leap_day.key_suffix == "2024-2-29"
    assert leap_day.shift(-1).key_suffix == "2024-2-28"
    assert leap_day.shift(1).key_suffix == "2024-3-1"
    assert Period.containing(TimeGroup.MONTH, utc(2024, 2, 1)).end == utc(2024, 3, 1)
    assert leap_day.start in Period.containing(TimeGroup.MONTH, utc(2024, 2, 1))


def test_2100_is_not_a_leap_year_and_2000_is() -> None:
    assert Period.containing(TimeGroup.DAY, utc(2100, 2, 28)).shift(1).start == utc(2100, 3, 1)
    assert Period.containing(TimeGroup.DAY, utc(2000, 2, 28)).shift(1).start == utc(2000, 2, 29)
    february_2100 = Period.containing(TimeGroup.MONTH, utc(2100, 2, 14))
    assert february_2100.end - february_2100.start == timedelta(days=28)
    assert Period.containing(TimeGroup.YEAR, utc(2100, 6, 1)).end == utc(2101, 1, 1)


def test_a_year_has_365_or_366_days() -> None:
    assert Period(TimeGroup.YEAR, utc(2024, 1, 1)).end - utc(2024, 1, 1) == timedelta(days=366)
    assert Period(TimeGroup.YEAR, utc(2026, 1, 1)).end - utc(2026, 1, 1) == timedelta(days=365)


# -- ISO weeks and key suffixes -------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "suffix"),
    [
        (utc(2026, 12, 31), "W2026-53"),
        (utc(2027, 1, 1), "W2026-53"),
        (utc(2027, 1, 3, 23), "W2026-53"),
        (utc(2027, 1, 4), "W2027-1"),
        (utc(2021, 1, 1), "W2020-53"),
        (utc(2020, 12, 31), "W2020-53"),
        (utc(2025, 12, 29), "W2026-1"),  # a Monday of December in the next ISO year
        (utc(2025, 12, 28), "W2025-52"),
        (utc(2026, 11, 27), "W2026-48"),
        (utc(2026, 1, 5), "W2026-2"),
    ],
)
def test_week_suffix_pairs_the_iso_year_with_the_iso_week(moment: datetime, suffix: str) -> None:
    assert Period.containing(TimeGroup.WEEK, moment).key_suffix == suffix


def test_week_53_is_followed_by_week_1_of_the_next_iso_year() -> None:
    week = Period.containing(TimeGroup.WEEK, utc(2026, 12, 31))
    assert [week.shift(n).key_suffix for n in range(-1, 3)] == [
        "W2026-52",
        "W2026-53",
        "W2027-1",
        "W2027-2",
    ]


@pytest.mark.parametrize(
    ("group", "suffix"),
    [
        (TimeGroup.HOUR, "2026-3-5-7"),
        (TimeGroup.DAY, "2026-3-5"),
        (TimeGroup.WEEK, "W2026-10"),
        (TimeGroup.MONTH, "2026-3"),
    ],
)
def test_suffixes_have_no_zero_padding(group: TimeGroup, suffix: str) -> None:
    assert Period.containing(group, utc(2026, 3, 5, 7, 8)).key_suffix == suffix


def test_a_year_has_no_suffix_because_it_is_not_stored() -> None:
    with pytest.raises(ValueError, match="year 2026"):
        _ = Period.containing(TimeGroup.YEAR, utc(2026, 5, 5)).key_suffix


def test_a_year_is_stored_as_its_twelve_months() -> None:
    year = Period.containing(TimeGroup.YEAR, utc(2026, 5, 5))
    parts = year.stored_parts()
    assert [p.key_suffix for p in parts] == [f"2026-{m}" for m in range(1, 13)]
    assert all(p.group is TimeGroup.MONTH for p in parts)


def test_a_stored_period_is_its_own_only_part() -> None:
    day = Period.containing(TimeGroup.DAY, utc(2026, 5, 5))
    assert day.stored_parts() == (day,)


def test_str_names_the_group_and_the_period() -> None:
    assert str(Period.containing(TimeGroup.WEEK, utc(2027, 1, 1))) == "week W2026-53"
    assert str(Period.containing(TimeGroup.YEAR, utc(2027, 1, 1))) == "year 2027"


@given(
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2199, 12, 31)),
    st.sampled_from(list(TimeGroup)),
    st.integers(min_value=-60, max_value=60),
)
def test_shifting_lands_on_the_period_containing_any_moment_of_it(
    moment: datetime, group: TimeGroup, n: int
) -> None:
    period = Period.containing(group, moment)
    shifted = period.shift(n)
    assert Period.containing(group, shifted.start) == shifted
    assert Period.containing(group, shifted.end - timedelta(microseconds=1)) == shifted
    assert shifted.shift(-n) == period
    assert (shifted.start > period.start) == (n > 0)
