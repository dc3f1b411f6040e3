"""Reading a moment someone typed: ISO 8601 text or epoch seconds.

One reader for every front end: the dashboard's ``now=``, the CLI's ``--now`` and the
timestamps of an imported file mean the same thing everywhere.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone, tzinfo

from flask_bitmapist.domain.errors import InvalidMoment, InvalidTimestamp
from flask_bitmapist.domain.periods import UTC, check_in_calendar, localize

__all__ = ["parse_timestamp"]


def parse_timestamp(value: object, zone: tzinfo | None = UTC) -> datetime:
    """An aware datetime in ``zone`` (the app's ``BITMAPIST_TIMEZONE``) from ISO 8601
    text or epoch seconds.

    Without an offset, ISO 8601 text is local time in ``zone``; with one, or epoch seconds,
    it is converted. With ``zone=None`` text without an offset stays naive, for a caller
    that learns the zone later (the CLI reads its options before loading the app).
    Anything else is an :class:`InvalidTimestamp` (a ``ValueError``) naming the value.

    >>> parse_timestamp("2026-11-27T13:05:00Z").isoformat()
    '2026-11-27T13:05:00+00:00'
    >>> parse_timestamp(0).isoformat()
    '1970-01-01T00:00:00+00:00'
    >>> from zoneinfo import ZoneInfo
    >>> parse_timestamp("2026-11-27 13:05", ZoneInfo("Asia/Kolkata")).isoformat()
    '2026-11-27T13:05:00+05:30'
    """
    if isinstance(value, bool):
        raise InvalidTimestamp(f"timestamp must be ISO 8601 text or epoch seconds, got {value!r}")
    if isinstance(value, int | float):
        try:
            return _from_epoch(value, zone)
        except InvalidMoment as exc:
            raise InvalidTimestamp(f"timestamp {value!r} is out of range: {exc}") from None
    if not isinstance(value, str):
        raise InvalidTimestamp(f"timestamp must be ISO 8601 text or epoch seconds, got {value!r}")
    text = value.strip()
    if not text:
        raise InvalidTimestamp("timestamp is empty")
    try:
        return _from_epoch(float(text), zone) if _looks_numeric(text) else _from_iso(text, zone)
    except InvalidMoment as exc:
        raise InvalidTimestamp(f"timestamp {value!r} is out of range: {exc}") from None
    except InvalidTimestamp:
        raise
    except ValueError:
        raise InvalidTimestamp(
            f"timestamp {value!r} is neither ISO 8601 (2026-11-27T13:05:00Z) nor epoch seconds"
        ) from None


def _looks_numeric(text: str) -> bool:
    return text.lstrip("+-").replace(".", "", 1).isdigit()


def _from_epoch(seconds: float, zone: tzinfo | None) -> datetime:
    if not math.isfinite(seconds):
        raise InvalidTimestamp(f"timestamp {seconds!r} is not a finite number of seconds")
    try:
        moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise InvalidTimestamp(f"timestamp {seconds!r} is out of range") from None
    moment = check_in_calendar(moment)  # MomentOutOfRange: "out of range" for the caller
    return moment if zone is None else moment.astimezone(zone)


def _from_iso(text: str, zone: tzinfo | None) -> datetime:
    # Python 3.10's fromisoformat does not read the "Z" suffix.
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    return moment if zone is None else localize(moment, zone)
