"""Periods in a time zone: local calendars, daylight saving, odd offsets, ISO years.

Every case of DESIGN section 11 has a named test here:

- a day with a clock change lasts 23 or 25 hours: ``test_a_spring_day_lasts_23_hours``,
  ``test_an_autumn_day_lasts_25_hours``;
- the repeated autumn hour is one key:
  ``test_the_repeated_autumn_hour_is_one_period_two_hours_long``;
- the skipped spring hour has none:
  ``test_the_skipped_spring_hour_holds_no_moment_so_no_mark_is_written_under_it``;
- shifting by hours across both changes tiles the timeline:
  ``test_shifting_by_hours_walks_the_local_clock_across_both_changes``;
- random zones and moments (near clock changes and new years too):
  ``test_the_period_of_a_moment_contains_it_and_is_named_by_its_local_time`` and
  ``test_consecutive_periods_tile_the_timeline``.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_bitmapist.domain import (
    InvalidMoment,
    InvalidTimestamp,
    Mark,
    Period,
    TimeGroup,
    localize,
    parse_timestamp,
    zone_of,
)
from tests.strategies import ALL_ZONES, DST_ZONES, clock_changes
from tests.unit.domain.set_model import clock_reached

UTC = timezone.utc
NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
HOUR = timedelta(hours=1)
TINY = timedelta(microseconds=1)


def in_utc(moment: datetime) -> datetime:
    """A moment in UTC: aware datetimes of one zone compare and subtract by wall clock,
    and one in a repeated hour never equals a datetime of another zone (PEP 495)."""
    return moment.astimezone(UTC)


def local_key(group: TimeGroup, local: datetime) -> str:
    """bitmapist's suffix for a local wall time, written out independently of Period."""
    if group is TimeGroup.MONTH:
        return f"{local.year}-{local.month}"
    if group is TimeGroup.WEEK:
        year, week, _ = local.isocalendar()
        return f"W{year}-{week}"
    if group is TimeGroup.DAY:
        return f"{local.year}-{local.month}-{local.day}"
    return f"{local.year}-{local.month}-{local.day}-{local.hour}"


@st.composite
def zoned_moments(draw: st.DrawFn) -> tuple[ZoneInfo, datetime]:
    """A zone and a moment: anywhere, near a clock change, or near the local new year."""
    name = draw(st.sampled_from(ALL_ZONES) | st.sampled_from(DST_ZONES))
    zone = ZoneInfo(name)
    year = draw(st.integers(min_value=1971, max_value=2060))
    kind = draw(st.sampled_from(["anywhere", "clock change", "new year"]))
    changes = clock_changes(name, year)
    if kind == "clock change" and changes:
        anchor = draw(st.sampled_from(changes))
    elif kind == "new year":
        anchor = datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)
    else:
        anchor = datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=draw(st.integers(0, 364)))
    seconds = draw(st.integers(min_value=-4 * 86400, max_value=4 * 86400))
    moment = anchor + timedelta(seconds=seconds, microseconds=draw(st.integers(0, 999_999)))
    return zone, moment


groups = st.sampled_from(list(TimeGroup))


@given(zoned_moments(), groups)
def test_the_period_of_a_moment_contains_it_and_is_named_by_its_local_time(
    zoned: tuple[ZoneInfo, datetime], group: TimeGroup
) -> None:
    zone, moment = zoned
    period = Period.containing(group, moment, zone)
    assert moment in period
    assert period.start <= moment < period.end
    assert period.zone is zone
    if group is not TimeGroup.YEAR:
        # Named by the local time; where the clock was just put back across the start of a
        # period (America/St_Johns, 1 November 2009 at 00:01), by the latest one it showed.
        assert period.key_suffix == local_key(group, clock_reached(zone, moment))
    # The same moment given in another zone, or naive in the zone, is the same period.
    assert Period.containing(group, moment.astimezone(UTC), zone) == period
    assert Period.containing(group, moment.astimezone(zone)) == period


@given(zoned_moments(), groups, st.integers(min_value=-3, max_value=3))
def test_consecutive_periods_tile_the_timeline(
    zoned: tuple[ZoneInfo, datetime], group: TimeGroup, n: int
) -> None:
    zone, moment = zoned
    period = Period.containing(group, moment, zone).shift(n)
    following = period.shift(1)
    # No gap, no overlap: each period ends where the next begins, never before it starts.
    assert in_utc(period.end) == in_utc(following.start)
    assert in_utc(period.shift(-1).end) == in_utc(period.start)
    # The moments either side of a boundary fall in the periods either side of it.
    start, end = in_utc(period.start), in_utc(period.end)
    assert start <= end
    if start < end:
        assert Period.containing(group, start, zone) == period
        assert Period.containing(group, end - TINY, zone) == period
        assert in_utc(Period.containing(group, start - TINY, zone).end) == start
        assert in_utc(Period.containing(group, end, zone).start) == end
    assert following.shift(-1) == period
    assert period.shift(2) == following.shift(1)


# -- daylight saving, case by case (America/New_York, 2026: 8 March and 1 November) -----


def test_a_spring_day_lasts_23_hours() -> None:
    day = Period.containing(TimeGroup.DAY, datetime(2026, 3, 8, 12), NEW_YORK)
    assert day.key_suffix == "2026-3-8"
    assert day.start == datetime(2026, 3, 8, 5, tzinfo=UTC)
    assert day.duration == timedelta(hours=23)


def test_an_autumn_day_lasts_25_hours() -> None:
    day = Period.containing(TimeGroup.DAY, datetime(2026, 11, 1, 12), NEW_YORK)
    assert day.key_suffix == "2026-11-1"
    assert day.duration == timedelta(hours=25)
    assert day.shift(1).start == datetime(2026, 11, 2, 5, tzinfo=UTC)


def test_the_repeated_autumn_hour_is_one_period_two_hours_long() -> None:
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST, an hour later
    assert first.astimezone(NEW_YORK).hour == second.astimezone(NEW_YORK).hour == 1
    hour = Period.containing(TimeGroup.HOUR, first, NEW_YORK)
    assert Period.containing(TimeGroup.HOUR, second, NEW_YORK) == hour
    assert hour.key_suffix == "2026-11-1-1"
    assert in_utc(hour.start) == datetime(2026, 11, 1, 5, tzinfo=UTC)
    assert hour.duration == 2 * HOUR
    marks = [Mark.create("x", 1, moment, hourly=True, zone=NEW_YORK) for moment in (first, second)]
    assert marks[0].targets() == marks[1].targets()


def test_the_skipped_spring_hour_holds_no_moment_so_no_mark_is_written_under_it() -> None:
    day = Period.containing(TimeGroup.DAY, datetime(2026, 3, 8), NEW_YORK)
    moments = [in_utc(day.start) + timedelta(minutes=m) for m in range(0, 23 * 60, 7)]
    written = {
        target.key_suffix
        for moment in moments
        for target in Mark.create("x", 1, moment, hourly=True, zone=NEW_YORK).targets()
        if target.period is not None and target.period.group is TimeGroup.HOUR
    }
    assert "2026-3-8-2" not in written
    assert len(written) == 23
    skipped = Period.at(TimeGroup.HOUR, datetime(2026, 3, 8, 2), NEW_YORK)
    assert skipped.key_suffix == "2026-3-8-2"
    assert skipped.start == skipped.end == datetime(2026, 3, 8, 7, tzinfo=UTC)
    assert skipped.duration == timedelta(0)
    # A naive 02:30 that day means the clock's 03:30 (read with the offset before the jump).
    assert localize(datetime(2026, 3, 8, 2, 30), NEW_YORK).hour == 3


def test_shifting_by_hours_walks_the_local_clock_across_both_changes() -> None:
    spring = Period.containing(TimeGroup.HOUR, datetime(2026, 3, 8, 1, 15), NEW_YORK)
    walk = [spring.shift(n) for n in range(4)]
    assert [p.key_suffix for p in walk] == [f"2026-3-8-{h}" for h in (1, 2, 3, 4)]
    assert [p.duration for p in walk] == [HOUR, timedelta(0), HOUR, HOUR]
    autumn = Period.containing(TimeGroup.HOUR, datetime(2026, 11, 1, 0, 15), NEW_YORK)
    walk = [autumn.shift(n) for n in range(3)]
    assert [p.key_suffix for p in walk] == [f"2026-11-1-{h}" for h in (0, 1, 2)]
    assert [p.duration for p in walk] == [HOUR, 2 * HOUR, HOUR]
    for periods in ([spring.shift(n) for n in range(-30, 30)], walk):
        for before, after in itertools.pairwise(periods):
            assert in_utc(before.end) == in_utc(after.start)


def test_a_45_minute_clock_change_starts_the_hour_at_the_jump() -> None:
    # Pacific/Chatham moves from +12:45 to +13:45 at 02:45 local on 27 September 2026.
    chatham = ZoneInfo("Pacific/Chatham")
    hour = Period.at(TimeGroup.HOUR, datetime(2026, 9, 27, 3), chatham)
    assert hour.start.isoformat() == "2026-09-27T03:45:00+13:45"
    assert hour.duration == timedelta(minutes=15)
    assert hour.shift(-1).duration == timedelta(minutes=45)
    assert Period.containing(TimeGroup.HOUR, hour.start, chatham) == hour


def test_a_day_the_clock_skipped_is_empty_and_shifting_passes_over_it() -> None:
    # Samoa moved across the date line: 30 December 2011 never happened in Apia.
    apia = ZoneInfo("Pacific/Apia")
    before = Period.containing(TimeGroup.DAY, datetime(2011, 12, 29, 12), apia)
    assert [before.shift(n).key_suffix for n in range(3)] == [
        "2011-12-29",
        "2011-12-30",
        "2011-12-31",
    ]
    assert before.shift(1).duration == timedelta(0)
    assert before.end == before.shift(2).start


@pytest.mark.parametrize(
    ("name", "offset"),
    [("Asia/Kolkata", "+05:30"), ("Asia/Kathmandu", "+05:45"), ("Australia/Eucla", "+08:45")],
)
def test_odd_offsets_start_local_hours_off_the_utc_hour(name: str, offset: str) -> None:
    zone = ZoneInfo(name)
    hour = Period.containing(TimeGroup.HOUR, datetime(2026, 6, 1, 12, tzinfo=UTC), zone)
    assert hour.start.isoformat().endswith(":00:00" + offset)
    assert hour.start.minute == 0 and hour.start.astimezone(UTC).minute != 0
    assert hour.duration == HOUR


def test_a_local_new_years_eve_is_in_the_last_iso_week_of_the_local_year() -> None:
    moment = datetime(2027, 1, 1, 7, 30, tzinfo=UTC)  # 23:30 on 31 December in Los Angeles
    local = {
        g: Period.containing(g, moment, LOS_ANGELES).key_suffix for g in TimeGroup if g.is_stored
    }
    in_utc = {g: Period.containing(g, moment).key_suffix for g in TimeGroup if g.is_stored}
    assert local == {
        TimeGroup.HOUR: "2026-12-31-23",
        TimeGroup.DAY: "2026-12-31",
        TimeGroup.WEEK: "W2026-53",
        TimeGroup.MONTH: "2026-12",
    }
    assert in_utc[TimeGroup.WEEK] == "W2026-53"
    assert in_utc[TimeGroup.DAY] == "2027-1-1"
    year = Period.containing(TimeGroup.YEAR, moment, LOS_ANGELES)
    assert [p.key_suffix for p in year.stored_parts()] == [f"2026-{m}" for m in range(1, 13)]


# -- where the zone comes from ------------------------------------------------------------


def test_a_moment_in_an_iana_zone_carries_its_calendar() -> None:
    moment = datetime(2026, 11, 30, 23, 30, tzinfo=LOS_ANGELES)
    assert zone_of(moment) is LOS_ANGELES
    assert Period.containing(TimeGroup.DAY, moment).key_suffix == "2026-11-30"
    assert Period.containing(TimeGroup.DAY, moment).zone is LOS_ANGELES


def test_naive_and_fixed_offset_moments_mean_utc_unless_a_zone_is_given() -> None:
    naive = datetime(2026, 11, 30, 23, 30)
    fixed = datetime(2026, 11, 30, 23, 30, tzinfo=timezone(timedelta(hours=-8)))
    assert zone_of(naive) is UTC and zone_of(fixed) is UTC
    assert Period.containing(TimeGroup.DAY, naive).key_suffix == "2026-11-30"
    assert Period.containing(TimeGroup.DAY, fixed).key_suffix == "2026-12-1"
    assert Period.containing(TimeGroup.DAY, naive, LOS_ANGELES).key_suffix == "2026-11-30"
    assert Period.containing(TimeGroup.DAY, fixed, LOS_ANGELES).key_suffix == "2026-11-30"


def test_periods_of_two_zones_differ_even_when_they_begin_together() -> None:
    moment = datetime(2026, 1, 15, 12, tzinfo=UTC)
    london = Period.containing(TimeGroup.HOUR, moment, ZoneInfo("Europe/London"))
    dubai = Period.containing(TimeGroup.HOUR, moment, ZoneInfo("Asia/Dubai"))
    assert london.start == dubai.start
    assert london != dubai
    assert (london.key_suffix, dubai.key_suffix) == ("2026-1-15-12", "2026-1-15-16")


def test_a_utc_period_is_bitmapists_whatever_way_it_is_built() -> None:
    moment = datetime(2026, 11, 27, 13, 5, tzinfo=UTC)
    built = Period(TimeGroup.HOUR, datetime(2026, 11, 27, 13, tzinfo=UTC))
    assert Period.containing(TimeGroup.HOUR, moment) == built
    assert Period.containing(TimeGroup.HOUR, moment, UTC) == built
    assert built.zone is UTC and built.key_suffix == "2026-11-27-13"


def test_a_clock_put_back_across_midnight_keeps_its_moments_in_the_day_it_reached() -> None:
    # America/St_Johns went from 00:01 on 1 November 2009 back to 23:01 on 31 October: the
    # minutes shown twice after that belong to 1 November (and November) in the keys, so
    # every moment is in exactly one day and the days tile.
    st_johns = ZoneInfo("America/St_Johns")
    again = datetime(2009, 11, 1, 3, 0, tzinfo=UTC)  # 23:30 -03:30, for the second time
    assert again.astimezone(st_johns).strftime("%d %H:%M") == "31 23:30"
    for group, key in ((TimeGroup.DAY, "2009-11-1"), (TimeGroup.MONTH, "2009-11")):
        period = Period.containing(group, again, st_johns)
        assert period.key_suffix == key
        assert again in period
        assert in_utc(period.start) == datetime(2009, 11, 1, 2, 30, tzinfo=UTC)
    october = Period.containing(TimeGroup.DAY, datetime(2009, 10, 31, 12), st_johns)
    assert in_utc(october.end) == datetime(2009, 11, 1, 2, 30, tzinfo=UTC)


def test_a_clock_put_back_by_seven_hours_makes_one_hour_eight_hours_long() -> None:
    # Antarctica/Vostok went from 24:00 (+07) back to 17:00 (+00) on 31 January 1994:
    # the clock had reached the hour 23, so the seven hours it showed again belong to it.
    vostok = ZoneInfo("Antarctica/Vostok")
    again = datetime(1994, 1, 31, 21, 15, tzinfo=UTC)  # 21:15 shown for the second time
    hour = Period.containing(TimeGroup.HOUR, again, vostok)
    assert hour.key_suffix == "1994-1-31-23"
    assert hour.duration == timedelta(hours=8)
    assert again in hour
    assert in_utc(hour.end) == datetime(1994, 2, 1, tzinfo=UTC)


@pytest.mark.parametrize("year", [1994, 2009, 2011, 2026])
def test_every_zones_clock_changes_of_a_year_keep_periods_tiled_and_named(year: int) -> None:
    # Exhaustive where hypothesis samples: every IANA zone, every change of the year (1994:
    # Vostok's seven hours back; 2009: St John's at 00:01; 2011: Samoa skips a day; 2026:
    # today's rules), moments from 90 minutes before to 90 minutes after, every group.
    checked = 0
    for name in ALL_ZONES:
        zone = ZoneInfo(name)
        for change in clock_changes(name, year):
            for minutes in range(-90, 91, 30):
                moment = change + timedelta(minutes=minutes) - TINY
                reached = clock_reached(zone, moment)
                for group in TimeGroup:
                    period = Period.containing(group, moment, zone)
                    start, end = in_utc(period.start), in_utc(period.end)
                    assert start <= moment < end, (name, group, moment)
                    assert in_utc(period.shift(-1).end) == start
                    assert in_utc(period.shift(1).start) == end
                    if group is not TimeGroup.YEAR:
                        expected = local_key(group, reached)
                        assert period.key_suffix == expected, (name, group, moment)
                    checked += 1
    assert checked > 10_000


@pytest.mark.parametrize(
    ("moment", "zone"),
    [
        (datetime(9999, 12, 31, 23), LOS_ANGELES),  # 07:00 on 1 January 10000 in UTC
        (datetime(1, 1, 1, 1), ZoneInfo("Asia/Tokyo")),  # 16:00 on 31 December 0 in UTC
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))), None),
    ],
)
def test_a_moment_its_offset_pushes_off_the_calendar_is_an_invalid_moment(
    moment: datetime, zone: ZoneInfo | None
) -> None:
    with pytest.raises(InvalidMoment, match="outside the calendar") as caught:
        localize(moment, zone)
    assert repr(moment) in str(caught.value)


def test_a_typed_timestamp_off_the_calendar_in_the_zone_is_an_invalid_timestamp() -> None:
    with pytest.raises(InvalidTimestamp, match="out of range") as caught:
        parse_timestamp("9999-12-31T23:00", LOS_ANGELES)
    assert "'9999-12-31T23:00'" in str(caught.value)
    assert isinstance(caught.value, ValueError)
