"""How long stored bitmaps are kept: a retention policy per time group (DESIGN 14).

A policy maps a stored time group to the days its bitmaps are kept after their period
ends, e.g. hours for 14 days and days for 400. A key's expiry is an absolute moment: the
real end of its period plus the days kept, each day 24 hours, so that every mark of the
period gives the key the same expiry. Groups not named, and lifetime flags, are kept
forever. Nothing here reads the clock: "expired" is judged on the ``now`` a caller passes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Final

import attrs

from flask_bitmapist.domain.errors import InvalidRetention, InvalidTimeGroup
from flask_bitmapist.domain.periods import Period, TimeGroup, as_utc

__all__ = ["MAX_DAYS_KEPT", "NO_RETENTION", "RetentionPolicy"]

#: The longest retention accepted: 100 years (a longer one is "forever": leave it out).
MAX_DAYS_KEPT: Final = 36_500

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MILLISECOND: Final = timedelta(milliseconds=1)
# Coarser groups that must outlive days: first-ever answers read months for the days
# before them, and a week or month gone while its days remain answers differently.
_MUST_OUTLIVE_DAYS: Final = (TimeGroup.WEEK, TimeGroup.MONTH)


@attrs.frozen(cache_hash=True)  # hashed per mark group when marking: computed once
class RetentionPolicy:
    """Days kept per stored time group; hashable, so marks can carry it.

    >>> policy = RetentionPolicy.create({"hours": 14, "days": 400})
    >>> policy.days_kept(TimeGroup.HOUR), policy.days_kept(TimeGroup.MONTH)
    (14, None)
    >>> day = Period.containing(TimeGroup.DAY, datetime(2026, 11, 27, tzinfo=timezone.utc))
    >>> policy.expiry(day)
    datetime.datetime(2028, 1, 2, 0, 0, tzinfo=datetime.timezone.utc)
    """

    #: (group, days kept) pairs, finest group first; build with :meth:`create`.
    kept: tuple[tuple[TimeGroup, int], ...] = ()

    @classmethod
    def create(cls, days_by_group: object) -> RetentionPolicy:
        """Check a mapping such as ``{"hours": 14, "days": 400}`` (keys as
        :meth:`TimeGroup.parse` reads them) and build the policy; None or ``{}`` keeps
        everything.

        Raises :class:`~flask_bitmapist.domain.InvalidRetention` whose ``field`` names the
        culprit: an unknown or unstored group (years are read from their months), days
        that are not an int from 1 to :data:`MAX_DAYS_KEPT`, or weeks or months kept
        shorter than days (first-ever answers read months to stand for the days before).
        """
        if days_by_group is None:
            return NO_RETENTION
        if not isinstance(days_by_group, Mapping):
            raise InvalidRetention(
                "a retention policy is a mapping of time group to days kept, such as "
                f"{{'hours': 14, 'days': 400}}, got {days_by_group!r}",
                field="",
            )
        kept: dict[TimeGroup, int] = {}
        for name, days in days_by_group.items():
            try:
                group = TimeGroup.parse(name)
            except InvalidTimeGroup as exc:
                raise InvalidRetention(
                    f"{name!r} is no time group: name hours, days, weeks or months",
                    field=str(name),
                ) from exc
            if not group.is_stored:
                raise InvalidRetention(
                    f"{name!r}: years are not stored (a year is read from its months); "
                    "name months instead",
                    field=str(name),
                )
            if group in kept:
                raise InvalidRetention(f"{group.plural} are named twice", field=str(name))
            if (
                isinstance(days, bool)
                or not isinstance(days, int)
                or not 1 <= days <= MAX_DAYS_KEPT
            ):
                raise InvalidRetention(
                    f"{name!r} must be a number of days, an int from 1 to {MAX_DAYS_KEPT} "
                    f"(leave the group out to keep it forever), got {days!r}",
                    field=str(name),
                )
            kept[group] = days
        policy = cls(tuple(sorted(kept.items(), key=lambda item: _ORDER[item[0]])))
        policy._check_consistent(days_by_group)
        return policy

    def _check_consistent(self, given: Mapping[Any, object]) -> None:
        days = self.days_kept(TimeGroup.DAY)
        for group in _MUST_OUTLIVE_DAYS:
            coarse = self.days_kept(group)
            if coarse is None or (days is not None and coarse >= days):
                continue
            name = next(str(k) for k in given if TimeGroup.parse(k) is group)
            shown_days = "forever" if days is None else f"{days} days"
            raise InvalidRetention(
                f"{name!r} keeps {group.plural} {coarse} days, shorter than days "
                f"({shown_days}): keep {group.plural} at least as long as days (first-ever "
                "answers read months for the days before them, and a week or month gone "
                "while its days remain would answer differently by time group)",
                field=name,
            )

    def __bool__(self) -> bool:
        return bool(self.kept)

    def __iter__(self) -> Iterator[tuple[TimeGroup, int]]:
        return iter(self.kept)

    def days_kept(self, group: TimeGroup) -> int | None:
        """Days the bitmaps of ``group`` are kept after their period ends; None: forever."""
        for kept_group, days in self.kept:
            if kept_group is group:
                return days
        return None

    def expiry(self, period: Period | None) -> datetime | None:
        """When a bitmap of ``period`` expires (UTC), or None when it is kept forever
        (lifetime flags, ``period=None``, and groups not named)."""
        if period is None:
            return None
        days = self.days_kept(period.group)
        if days is None:
            return None
        return as_utc(period.end) + timedelta(days=days)

    def expiry_ms(self, period: Period | None) -> int | None:
        """:meth:`expiry` in milliseconds since the epoch (``PEXPIREAT``'s argument).

        Cached: marks of many events in one period ask for the same few expiries."""
        if period is None or not self.kept:
            return None
        return _expiry_ms(self, period)

    def is_expired(self, period: Period, now: datetime) -> bool:
        """Whether the bitmaps of ``period`` (a year: of its months) are gone at ``now``."""
        return any(
            (expiry := self.expiry(part)) is not None and expiry <= as_utc(now)
            for part in period.stored_parts()
        )

    def describe(self) -> str:
        """``"hours 14 days, days 400 days"``; ``"everything kept"`` without a policy."""
        if not self.kept:
            return "everything kept"
        return ", ".join(f"{group.plural} {days} days" for group, days in self.kept)


@functools.lru_cache(maxsize=4096)
def _expiry_ms(policy: RetentionPolicy, period: Period) -> int | None:
    moment = policy.expiry(period)
    return None if moment is None else (moment - _EPOCH) // _MILLISECOND


_ORDER: Final = {
    group: index
    for index, group in enumerate((TimeGroup.HOUR, TimeGroup.DAY, TimeGroup.WEEK, TimeGroup.MONTH))
}

#: Everything kept forever (0.1's and bitmapist's behaviour).
NO_RETENTION: Final = RetentionPolicy()
