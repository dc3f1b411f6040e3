"""Calendar math: time groups and the periods bitmaps are kept for, in a time zone.

A period is an hour, day, ISO week, month or year of the local calendar of a zone (UTC
unless a zone is given). Its key suffix names the local period; its ``start`` is the first
moment the local clock shows that period. Nothing here reads the clock, and the zone is
always a value passed in (or carried by a moment), never a global.

Daylight saving changes, worked out once here for every caller:

- a local day (week, month, year) may be 23 or 25 hours long: floors and shifts work on
  local calendar dates, never on fixed durations;
- the hour the clock repeats in autumn is one period with one key, two real hours long
  (``[01:00 first time, 02:00)``);
- the hour the clock skips in spring is a period of no length (``start == end``): no
  moment lies in it, so no mark is ever written under its key, and shifting by hours
  walks the local clock's hours, passing over it as an empty period. Consecutive periods
  therefore always tile the timeline with no gap and no overlap.
"""

from __future__ import annotations

import enum
import functools
import math
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Final
from zoneinfo import ZoneInfo

import attrs

from flask_bitmapist.domain.errors import InvalidMoment, InvalidTimeGroup, MomentOutOfRange

__all__ = [
    "MAX_YEAR",
    "MIN_YEAR",
    "UTC",
    "Period",
    "TimeGroup",
    "as_utc",
    "check_in_calendar",
    "localize",
    "span_in_calendar",
    "zone_name",
    "zone_of",
]

#: The default zone: bitmapist's calendar.
UTC: tzinfo = timezone.utc

#: The first and last years a moment may fall in (UTC); see :func:`check_in_calendar`.
MIN_YEAR: Final = 1000
MAX_YEAR: Final = 9000


def _check_moment(moment: object) -> datetime:
    if not isinstance(moment, datetime):
        raise InvalidMoment(f"expected a datetime, got {moment!r}")
    return moment


def as_utc(moment: datetime) -> datetime:
    """Return ``moment`` as an aware UTC datetime; a naive datetime is taken to be UTC.

    Raises :class:`InvalidMoment` for anything but a datetime, and
    :class:`MomentOutOfRange` (also a ValueError) outside the years ``MIN_YEAR..MAX_YEAR``.
    """
    moment = _check_moment(moment)
    if moment.tzinfo is None:
        return check_in_calendar(moment.replace(tzinfo=timezone.utc))
    try:
        utc = moment.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31T23:00-05:00 is in year 10000 in UTC
        raise _out_of_range(moment) from None
    return check_in_calendar(utc)


def check_in_calendar(moment: datetime) -> datetime:
    """``moment`` if its year is in ``MIN_YEAR..MAX_YEAR``, else :class:`MomentOutOfRange`.

    The bounds keep every period a request may name inside datetime's years 1..9999: a
    cohort reaches at most 1000 periods (years, at most) before ``now`` and one period after.
    """
    if MIN_YEAR <= moment.year <= MAX_YEAR:
        return moment
    raise _out_of_range(moment)


def _out_of_range(moment: datetime) -> MomentOutOfRange:
    return MomentOutOfRange(
        f"moment {moment.isoformat()} is outside the calendar: only years {MIN_YEAR} to {MAX_YEAR} "
        "(UTC) can be marked or queried"
    )


def zone_of(moment: datetime) -> tzinfo:
    """The zone a moment carries: its ``ZoneInfo``, else UTC (naive, UTC or a fixed offset).

    A fixed offset such as ``+05:30`` names no calendar (it says nothing of daylight
    saving), so only an IANA zone travels with a moment.
    """
    zone = _check_moment(moment).tzinfo
    return zone if isinstance(zone, ZoneInfo) else UTC


def localize(moment: datetime, zone: tzinfo | None = None) -> datetime:
    """``moment`` as an aware datetime in ``zone`` (default: the zone it carries).

    A naive moment is local time in ``zone``; an aware one is converted. A naive time the
    clock repeats (autumn) means its first occurrence; one the clock skips (spring) is read
    with the offset in force before the change, so 02:30 on a night that skips 02:00-03:00
    becomes 03:30 (PEP 495's ``fold=0``).

    >>> localize(datetime(2026, 7, 1, 12), ZoneInfo("Europe/Paris")).isoformat()
    '2026-07-01T12:00:00+02:00'
    """
    given = moment = _check_moment(moment)
    if zone is None:
        zone = zone_of(moment)
    if zone is UTC:
        # The common case, and the fast one: UTC has no skipped or repeated times.
        try:
            if moment.tzinfo is None:
                return check_in_calendar(moment.replace(tzinfo=UTC))
            if moment.tzinfo is UTC:
                return check_in_calendar(moment)
            return check_in_calendar(moment.astimezone(UTC))
        except (OverflowError, ValueError):
            raise MomentOutOfRange(
                f"{given!r} is outside the calendar in UTC: only years {MIN_YEAR} to "
                f"{MAX_YEAR} can be marked or queried"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    # Through UTC: an aware moment lands in the zone, and a skipped naive time moves on.
    try:
        return check_in_calendar(moment.astimezone(timezone.utc)).astimezone(zone)
    except (OverflowError, ValueError):
        # Within a day of datetime's own limits (year 1, year 9999) the offset pushes the
        # moment off the calendar; and only years MIN_YEAR..MAX_YEAR are counted.
        raise MomentOutOfRange(
            f"{given!r} is outside the calendar in time zone {zone_name(zone)}: only years "
            f"{MIN_YEAR} to {MAX_YEAR} can be marked or queried"
        ) from None


class TimeGroup(enum.Enum):
    """The granularity of a period: hour, day, ISO week, month or year."""

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"

    @classmethod
    def parse(cls, value: str | TimeGroup) -> TimeGroup:
        """Parse ``"day"``, ``"days"``, ``"Weeks"``… into a TimeGroup.

        >>> TimeGroup.parse("months")
        <TimeGroup.MONTH: 'month'>
        """
        if isinstance(value, TimeGroup):
            return value
        if isinstance(value, str):
            name = value.strip().lower()
            name = name.removesuffix("s")
            for group in cls:
                if group.value == name:
                    return group
        choices = ", ".join(group.value + "(s)" for group in cls)
        raise InvalidTimeGroup(f"unknown time group {value!r}; expected one of {choices}")

    @property
    def plural(self) -> str:
        """The 0.1 spelling: ``"days"``, ``"weeks"``…"""
        return self.value + "s"

    @property
    def is_stored(self) -> bool:
        """Whether bitmaps are stored for this group (a year is the OR of its months)."""
        return self is not TimeGroup.YEAR


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + (moment.month - 1) + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


def _floor(group: TimeGroup, wall: datetime) -> datetime:
    """The naive local time at which ``group``'s period containing ``wall`` begins."""
    if group is TimeGroup.HOUR:
        return wall.replace(minute=0, second=0, microsecond=0)
    start = wall.replace(hour=0, minute=0, second=0, microsecond=0)
    if group is TimeGroup.WEEK:
        start -= timedelta(days=start.weekday())
    elif group is TimeGroup.MONTH:
        start = start.replace(day=1)
    elif group is TimeGroup.YEAR:
        start = start.replace(month=1, day=1)
    return start


def _step(group: TimeGroup, wall: datetime, n: int) -> datetime:
    """The naive local time ``n`` periods after ``wall``: calendar arithmetic, no zone."""
    if group is TimeGroup.HOUR:
        return wall + timedelta(hours=n)
    if group is TimeGroup.DAY:
        return wall + timedelta(days=n)
    if group is TimeGroup.WEEK:
        return wall + timedelta(weeks=n)
    if group is TimeGroup.MONTH:
        return _add_months(wall, n)
    return wall.replace(year=wall.year + n)


def _instant(moment: datetime) -> datetime:
    """``moment`` in UTC: aware datetimes of one zone compare and subtract by their wall
    clocks, ignoring offsets, so every comparison of moments here goes through UTC."""
    return moment.astimezone(timezone.utc)


def _wall(moment: datetime, zone: tzinfo) -> datetime:
    return _instant(moment).astimezone(zone).replace(tzinfo=None)


@functools.lru_cache(maxsize=4096)
def _first_moment_at(wall: datetime, zone: tzinfo) -> datetime:
    """The first moment at which the clock of ``zone`` shows ``wall`` or later.

    That is ``wall`` itself (its first occurrence when the clock repeats it), or, when the
    clock skips it, the moment of the jump. Cached: marks and reads ask for the same few
    period starts over and over.
    """
    if zone is UTC:
        return wall.replace(tzinfo=UTC)
    before = wall.replace(tzinfo=zone, fold=0)
    if _wall(before, zone) == wall:
        return before
    # Skipped: fold=0 reads it with the offset before the jump (a moment after the jump),
    # fold=1 with the offset after it (a moment before). Jumps happen on whole seconds.
    low = math.floor(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = math.ceil(before.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if _wall(datetime.fromtimestamp(middle, timezone.utc), zone) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, zone)


def zone_name(zone: tzinfo) -> str:
    """How a zone is shown: its IANA name (``"America/Los_Angeles"``), or ``"UTC"``."""
    key = getattr(zone, "key", None)
    return key if isinstance(key, str) else str(zone)


def _zone_default(period: Period) -> tzinfo:
    return zone_of(period.start) if period.start.tzinfo is not None else UTC


def _label_default(period: Period) -> datetime:
    start = _check_moment(period.start)
    if start.tzinfo is None:
        return start
    return start.astimezone(period.zone).replace(tzinfo=None)


@attrs.frozen(order=True, cache_hash=True)
class Period:
    """One hour, day, ISO week, month or year of the local calendar of ``zone``.

    ``label`` (naive) is the local time the period begins at, which names its key;
    ``start`` (aware, in ``zone``) is the first moment of it. They differ only for a period
    the clock partly or wholly skips (see the module's notes on daylight saving). Build
    periods with :meth:`containing` and :meth:`shift`; ``Period(group, start)`` takes an
    aware start (naive means UTC) and its zone.

    >>> p = Period.containing(TimeGroup.WEEK, datetime(2027, 1, 1))
    >>> p.key_suffix, p.start.date().isoformat()
    ('W2026-53', '2026-12-28')
    >>> la = ZoneInfo("America/Los_Angeles")
    >>> Period.containing(TimeGroup.DAY, datetime(2026, 11, 30, 7, tzinfo=UTC), la).key_suffix
    '2026-11-29'
    """

    group: TimeGroup
    start: datetime = attrs.field(eq=False, order=False)
    zone: tzinfo = attrs.field(
        default=attrs.Factory(_zone_default, takes_self=True), order=False, kw_only=True
    )
    label: datetime = attrs.field(
        default=attrs.Factory(_label_default, takes_self=True), kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        if self.start.tzinfo is not self.zone:
            object.__setattr__(self, "start", localize(self.start, self.zone))

    @classmethod
    def at(cls, group: TimeGroup, label: datetime, zone: tzinfo = UTC) -> Period:
        """The period of ``group`` that begins at naive local time ``label`` in ``zone``."""
        if label.fold:  # a label names a wall time, whichever pass of the clock showed it
            label = label.replace(fold=0)
        return cls(group, _first_moment_at(label, zone), zone=zone, label=label)

    @classmethod
    def containing(cls, group: TimeGroup, moment: datetime, zone: tzinfo | None = None) -> Period:
        """The period of ``group`` in ``zone`` that contains ``moment``.

        ``zone`` defaults to the one ``moment`` carries (:func:`zone_of`): an aware local
        ``now`` brings its calendar with it; naive moments mean UTC then.
        """
        if zone is None:
            zone = zone_of(moment)
        local = localize(moment, zone)
        period = cls.at(group, _floor(group, local.replace(tzinfo=None)), zone)
        # The clock may have shown a later period already and been put back below it; a
        # moment belongs to the latest period its clock has reached, so periods tile.
        # Only a time the clock shows for the second time (fold=1) can be such a moment.
        while local.fold and _instant(local) >= _instant(period.end):
            period = period.shift(1)
        return period

    def shift(self, n: int) -> Period:
        """The period ``n`` steps later (earlier when ``n`` is negative), by local calendar."""
        return Period.at(self.group, _step(self.group, self.label, n), self.zone)

    @property
    def end(self) -> datetime:
        """The start of the next period (exclusive end)."""
        return self.shift(1).start

    @property
    def duration(self) -> timedelta:
        """How long the period really lasts: 23 or 25 hours for a day with a clock change."""
        return _instant(self.end) - _instant(self.start)

    def __contains__(self, moment: object) -> bool:
        if not isinstance(moment, datetime):
            return False
        instant = _instant(localize(moment, self.zone))
        return _instant(self.start) <= instant < _instant(self.end)

    @property
    def key_suffix(self) -> str:
        """bitmapist's key suffix: ``2026-11``, ``W2026-48``, ``2026-11-27``, ``2026-11-27-13``.

        Years are not stored (they are the OR of their months), so they have no suffix.
        """
        s = self.label
        if self.group is TimeGroup.MONTH:
            return f"{s.year}-{s.month}"
        if self.group is TimeGroup.WEEK:
            iso_year, iso_week, _ = s.isocalendar()
            return f"W{iso_year}-{iso_week}"
        if self.group is TimeGroup.DAY:
            return f"{s.year}-{s.month}-{s.day}"
        if self.group is TimeGroup.HOUR:
            return f"{s.year}-{s.month}-{s.day}-{s.hour}"
        raise ValueError(f"{self} is not stored: a year is the OR of its months")

    def stored_parts(self) -> tuple[Period, ...]:
        """The stored months a year consists of (a stored period is its own only part)."""
        if self.group is TimeGroup.YEAR:
            first = Period.at(TimeGroup.MONTH, self.label, self.zone)
            return tuple(first.shift(i) for i in range(12))
        return (self,)

    def __str__(self) -> str:
        if self.group is TimeGroup.YEAR:
            return f"year {self.label.year}"
        return f"{self.group.value} {self.key_suffix}"


def span_in_calendar(last: Period, count: int) -> bool:
    """Whether the ``count`` periods ending with ``last`` begin in the calendar, as every
    moment must (years ``MIN_YEAR..MAX_YEAR``, UTC), and the month the earliest of them
    begins in does too: first-ever answers read from that month's start.

    A period may begin before the moment it is asked for: ISO week 1 of year 1000 begins
    on 30 December 999, and a Tokyo January 1000 at 15:00 on 31 December 999 (UTC). An
    answer checks its span here once, before reading, so that such an edge is an error
    naming its field rather than a :class:`MomentOutOfRange` from deep in a computation.

    >>> week = Period.containing(TimeGroup.WEEK, datetime(1000, 1, 2))
    >>> span_in_calendar(week, 1), span_in_calendar(week.shift(1), 1)
    (False, True)
    """
    try:
        first = last.shift(1 - count)
        label = first.label.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        month = Period.at(TimeGroup.MONTH, label, first.zone)
        return _instant(month.start).year >= MIN_YEAR
    except (ValueError, OverflowError):  # before datetime's own year 1
        return False
