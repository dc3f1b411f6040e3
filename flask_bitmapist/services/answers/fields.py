"""Reading an answer's fields as every front end sends them: text from a query string or a
command line, or Python values from a function call.

A field that is text is parsed here (``periods="30"``, ``now="2026-11-27T13:00Z"``); any
other value goes to the spec as it is, where the domain checks it. Every problem is an
:class:`~flask_bitmapist.exceptions.InvalidRequest` naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Final

from flask_bitmapist.domain import parse_timestamp
from flask_bitmapist.exceptions import InvalidRequest

__all__ = ["Fields", "count_field", "parse_count", "parse_now", "text_field"]

#: An answer's request: field name (as the API calls it) to value, text or Python.
Fields = Mapping[str, object]

# Long enough for any sane number, short enough that int() never sees a megabyte.
_DIGITS: Final = re.compile(r"[0-9]{1,12}")


def parse_count(field: str, value: object, default: int | None = None) -> int:
    """A whole number from a query string or JSON; bounds are checked by the caller.

    >>> parse_count("periods", " 30 "), parse_count("periods", None, 7)
    (30, 7)
    """
    if value is None or value == "":
        if default is None:
            raise InvalidRequest(f"{field} is required", field=field)
        return default
    if isinstance(value, bool):
        raise InvalidRequest(f"{field} must be a whole number, got {value!r}", field=field)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e12:
        return int(value)
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    shown = value[:40] + "..." if isinstance(value, str) and len(value) > 40 else value
    raise InvalidRequest(f"{field} must be a whole number, got {shown!r}", field=field)


def parse_now(field: str, value: str, zone: tzinfo) -> datetime | None:
    """A request's ``now`` in the app's zone: without an offset it is local time there;
    None when blank."""
    if not value.strip():
        return None
    try:
        return parse_timestamp(value, zone)
    except ValueError as exc:
        if "out of range" in str(exc):  # a real moment, far off the calendar: say which
            raise InvalidRequest(f"{field}: {exc}", field=field) from None
        raise InvalidRequest(
            f"{field} must be an ISO 8601 date or datetime (2026-11-27T13:00Z) or epoch "
            f"seconds, got {value!r}",
            field=field,
        ) from None


def count_field(fields: Fields, name: str, default: int) -> object:
    """Field ``name``: text parsed as a whole number, a missing or blank one ``default``,
    any other value as it is (the spec checks its type and bounds)."""
    value = fields.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, str):
        return parse_count(name, value)
    return value


def text_field(fields: Fields, name: str, default: object) -> object:
    """Field ``name``, stripped if it is text; ``default`` when missing or blank."""
    value = fields.get(name)
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip() or default
    return value
