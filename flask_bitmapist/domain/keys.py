"""Reading bitmapist's key names back into bitmaps: ``{prefix}{event}_{suffix}``.

The suffixes (no zero padding) are month ``2026-11``, ISO week ``W2026-48``, day
``2026-11-27``, hour ``2026-11-27-13`` and the lifetime flag ``u``; see
:attr:`Period.key_suffix <flask_bitmapist.domain.periods.Period.key_suffix>` for the
writing side. The retention and storage commands read keys any writer left under the
prefix (bitmapist included), so a key that is not in this format is None, never an error.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from typing import Final

from flask_bitmapist.domain.events import RESERVED_PREFIX, BitmapId, validate_stored_event_name
from flask_bitmapist.domain.periods import MAX_YEAR, MIN_YEAR, Period, TimeGroup

__all__ = ["parse_key"]

_HOUR: Final = re.compile(r"(\d{1,4})-(\d{1,2})-(\d{1,2})-(\d{1,2})")
_DAY: Final = re.compile(r"(\d{1,4})-(\d{1,2})-(\d{1,2})")
_MONTH: Final = re.compile(r"(\d{1,4})-(\d{1,2})")
_WEEK: Final = re.compile(r"W(\d{1,4})-(\d{1,2})")


def parse_key(key: str, prefix: str, zone: tzinfo) -> BitmapId | None:
    """The bitmap a key holds, its periods in ``zone``'s calendar, or None for a key that
    is not an event's bitmap under ``prefix`` (another format, ``bitop_`` temporaries, a
    date that does not exist).

    >>> from flask_bitmapist.domain.periods import UTC
    >>> parse_key("trackist_user:paid_W2026-48", "trackist_", UTC).period.start.isoformat()
    '2026-11-23T00:00:00+00:00'
    >>> parse_key("trackist_user:paid_u", "trackist_", UTC)
    BitmapId(event='user:paid', period=None)
    """
    if not key.startswith(prefix):
        return None
    event, _, suffix = key[len(prefix) :].rpartition("_")
    if not event or event.startswith(RESERVED_PREFIX):
        return None
    try:
        validate_stored_event_name(event)
    except ValueError:
        return None
    if suffix == "u":
        return BitmapId(event, None)
    period = _period_of(suffix, zone)
    return None if period is None else BitmapId(event, period)


def _period_of(suffix: str, zone: tzinfo) -> Period | None:
    try:
        if match := _HOUR.fullmatch(suffix):
            y, m, d, h = (int(g) for g in match.groups())
            return _checked(TimeGroup.HOUR, datetime(y, m, d, h), zone)
        if match := _DAY.fullmatch(suffix):
            y, m, d = (int(g) for g in match.groups())
            return _checked(TimeGroup.DAY, datetime(y, m, d), zone)
        if match := _MONTH.fullmatch(suffix):
            y, m = (int(g) for g in match.groups())
            return _checked(TimeGroup.MONTH, datetime(y, m, 1), zone)
        if match := _WEEK.fullmatch(suffix):
            y, w = (int(g) for g in match.groups())
            monday = date.fromisocalendar(y, w, 1)
            return _checked(TimeGroup.WEEK, datetime(monday.year, monday.month, monday.day), zone)
    except ValueError:
        return None
    return None


def _checked(group: TimeGroup, label: datetime, zone: tzinfo) -> Period | None:
    # Only years whose periods the calendar can shift around (MIN_YEAR..MAX_YEAR).
    if not MIN_YEAR <= label.year <= MAX_YEAR:
        return None
    # A zero-padded suffix ("2026-11-07", which bitmapist never writes) is the same period.
    return Period.at(group, label, zone)
