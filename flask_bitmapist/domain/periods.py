"""Calendar math: time groups and the periods bitmaps are kept for.

Naive datetimes mean UTC; aware ones are converted to UTC. Nothing here reads the clock.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta, timezone

import attrs

from flask_bitmapist.domain.errors import InvalidMoment, InvalidTimeGroup

__all__ = ["Period", "TimeGroup", "as_utc"]


def as_utc(moment: datetime) -> datetime:
    """Return ``moment`` as an aware UTC datetime; a naive datetime is taken to be UTC."""
    if not isinstance(moment, datetime):
        raise InvalidMoment(f"expected a datetime, got {moment!r}")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


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


@attrs.frozen(order=True)
class Period:
    """One hour, day, ISO week, month or year, identified by its group and UTC start.

    >>> p = Period.containing(TimeGroup.WEEK, datetime(2027, 1, 1))
    >>> p.key_suffix, p.start.date().isoformat()
    ('W2026-53', '2026-12-28')
    """

    group: TimeGroup
    start: datetime

    @classmethod
    def containing(cls, group: TimeGroup, moment: datetime) -> Period:
        """The period of ``group`` that contains ``moment``."""
        moment = as_utc(moment)
        if group is TimeGroup.HOUR:
            start = moment.replace(minute=0, second=0, microsecond=0)
        else:
            start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
            if group is TimeGroup.WEEK:
                start -= timedelta(days=start.weekday())
            elif group is TimeGroup.MONTH:
                start = start.replace(day=1)
            elif group is TimeGroup.YEAR:
                start = start.replace(month=1, day=1)
        return cls(group, start)

    def shift(self, n: int) -> Period:
        """The period ``n`` steps later (earlier when ``n`` is negative)."""
        group = self.group
        if group is TimeGroup.HOUR:
            start = self.start + timedelta(hours=n)
        elif group is TimeGroup.DAY:
            start = self.start + timedelta(days=n)
        elif group is TimeGroup.WEEK:
            start = self.start + timedelta(weeks=n)
        elif group is TimeGroup.MONTH:
            start = _add_months(self.start, n)
        else:
            start = self.start.replace(year=self.start.year + n)
        return Period(group, start)

    @property
    def end(self) -> datetime:
        """The start of the next period (exclusive end)."""
        return self.shift(1).start

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= as_utc(moment) < self.end

    @property
    def key_suffix(self) -> str:
        """bitmapist's key suffix: ``2026-11``, ``W2026-48``, ``2026-11-27``, ``2026-11-27-13``.

        Years are not stored (they are the OR of their months), so they have no suffix.
        """
        s = self.start
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
            first = Period(TimeGroup.MONTH, self.start)
            return tuple(first.shift(i) for i in range(12))
        return (self,)

    def __str__(self) -> str:
        if self.group is TimeGroup.YEAR:
            return f"year {self.start.year}"
        return f"{self.group.value} {self.key_suffix}"
