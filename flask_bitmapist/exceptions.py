"""Every error the package raises on purpose; all derive from :class:`BitmapistError`.

Validation errors are also :class:`ValueError` or :class:`TypeError`, so callers that
already catch those keep working. The domain's errors live in
:mod:`flask_bitmapist.domain.errors` (the domain imports nothing above it) and are
re-exported here; the others are defined here, and every layer imports them from here.
"""

from __future__ import annotations

from flask_bitmapist.domain.errors import (
    BitmapistError,
    InvalidAnswerSpec,
    InvalidCohortSpec,
    InvalidEventName,
    InvalidExpression,
    InvalidMoment,
    InvalidRetention,
    InvalidSegmentName,
    InvalidStorageConfig,
    InvalidTimeGroup,
    InvalidTimestamp,
    InvalidUserId,
    InvalidUserIdType,
    MomentOutOfRange,
    PeriodsExpired,
    StorageUnavailable,
    TooManyPropertyValues,
)

__all__ = [
    "BitmapistError",
    "EventFileError",
    "InvalidAnswerSpec",
    "InvalidCohortSpec",
    "InvalidConfiguration",
    "InvalidEventName",
    "InvalidExpression",
    "InvalidJson",
    "InvalidMoment",
    "InvalidPeriod",
    "InvalidRequest",
    "InvalidRetention",
    "InvalidSegment",
    "InvalidSegmentName",
    "InvalidStorageConfig",
    "InvalidTimeGroup",
    "InvalidTimestamp",
    "InvalidUserId",
    "InvalidUserIdType",
    "MissingExtra",
    "MomentOutOfRange",
    "PeriodsExpired",
    "ReadBudgetExceeded",
    "StorageUnavailable",
    "TooManyPropertyValues",
]


class InvalidConfiguration(BitmapistError, ValueError):
    """A ``BITMAPIST_*`` configuration value has the wrong type or is out of range."""

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key


class InvalidJson(BitmapistError, ValueError):
    """A JSON document (a request body, an import row) is malformed, too large or nested
    too deeply."""


class InvalidPeriod(BitmapistError, ValueError):
    """A year, month, ISO week, day or hour does not exist (``DayEvents(e, 2026, 2, 30)``)."""


class InvalidRequest(BitmapistError, ValueError):
    """A dashboard or API request parameter is missing or malformed; ``field`` names it
    (the 400 answer's JSON carries it as ``field``)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class ReadBudgetExceeded(InvalidRequest):
    """An answer would read more bitmaps or bytes than the read budget allows
    (``BITMAPIST_MAX_READ_KEYS``, ``BITMAPIST_MAX_READ_BYTES``); ``field`` names what to
    shrink. Raised before anything is read."""


class InvalidSegment(InvalidRequest):
    """A segment expression is malformed or names a property, value or saved cohort that
    does not exist; ``field`` names the request's field (``segment``), the message what
    exists."""

    def __init__(self, message: str, *, field: str = "segment") -> None:
        super().__init__(message, field=field)


class EventFileError(BitmapistError, ValueError):
    """A file of events cannot be imported as a whole (no header, a missing column, an
    unknown format); a bad row is reported, not raised."""


class MissingExtra(BitmapistError, ImportError):
    """An integration was used without its optional dependency, e.g. ``Bitmapistable``
    without SQLAlchemy: the message names the extra to install."""
