"""bitmapist's key suffixes read back into the bitmaps they name (for copying a store).

``2026-11`` a month, ``W2026-48`` an ISO week, ``2026-11-27`` a day, ``2026-11-27-13`` an
hour, ``u`` the lifetime flag. A key names a local period without its zone, so periods
read back are in UTC, as the Redis repository lists months: the suffix is what matters.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from flask_bitmapist.domain import BitmapId, Period, TimeGroup

__all__ = ["bitmap_id_of"]

_SUFFIX: Final = re.compile(
    r"(?P<u>u)|W(?P<iso_year>\d{1,4})-(?P<iso_week>\d{1,2})"
    r"|(?P<year>\d{1,4})-(?P<month>\d{1,2})(?:-(?P<day>\d{1,2})(?:-(?P<hour>\d{1,2}))?)?"
)


def bitmap_id_of(event: str, suffix: str) -> BitmapId | None:
    """The bitmap ``{event}_{suffix}`` names, or None for a suffix that names none.

    >>> str(bitmap_id_of("user:paid", "W2026-48").period)
    'week W2026-48'
    >>> bitmap_id_of("user:paid", "u")
    BitmapId(event='user:paid', period=None)
    >>> bitmap_id_of("user:paid", "2026-13") is None
    True
    """
    match = _SUFFIX.fullmatch(suffix)
    if match is None:
        return None
    if match["u"]:
        return BitmapId(event, None)
    try:
        if match["iso_year"]:
            start = datetime.fromisocalendar(int(match["iso_year"]), int(match["iso_week"]), 1)
            group = TimeGroup.WEEK
        else:
            day, hour = match["day"], match["hour"]
            start = datetime(
                int(match["year"]),
                int(match["month"]),
                int(day or 1),
                int(hour or 0),
            )
            group = TimeGroup.HOUR if hour else TimeGroup.DAY if day else TimeGroup.MONTH
    except ValueError:
        return None
    period = Period.at(group, start)
    # Only the canonical spelling ("2026-1", not "2026-01") is a key this package reads.
    return BitmapId(event, period) if period.key_suffix == suffix else None
