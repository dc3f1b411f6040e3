"""The package's errors: one root, validation errors that are also ValueError/TypeError."""

from __future__ import annotations

__all__ = [
    "BitmapistError",
    "InvalidAnswerSpec",
    "InvalidCohortSpec",
    "InvalidEventName",
    "InvalidExpression",
    "InvalidMoment",
    "InvalidRetention",
    "InvalidSegmentName",
    "InvalidStorageConfig",
    "InvalidTimeGroup",
    "InvalidTimestamp",
    "InvalidUserId",
    "InvalidUserIdType",
    "MomentOutOfRange",
    "PeriodsExpired",
    "StorageUnavailable",
    "TooManyPropertyValues",
]


class BitmapistError(Exception):
    """Root of every error this package raises on purpose."""


class InvalidEventName(BitmapistError, ValueError):
    """An event name is empty, too long, has whitespace or control characters, or is reserved."""


class InvalidUserId(BitmapistError, ValueError):
    """A user id is out of the range a bitmap can hold."""


class InvalidUserIdType(BitmapistError, TypeError):
    """A user id is not an int (bool is refused too)."""


class InvalidTimeGroup(BitmapistError, ValueError):
    """A time group name is not one of hour, day, week, month, year."""


class InvalidMoment(BitmapistError, TypeError):
    """A moment (``now``, a mark's time) is not a datetime."""


class InvalidTimestamp(BitmapistError, ValueError):
    """A timestamp is neither ISO 8601 text nor epoch seconds, or is out of range."""


class MomentOutOfRange(InvalidMoment, ValueError):
    """A moment is a datetime, but too far from today's calendar to count periods around."""


class InvalidExpression(BitmapistError, ValueError):
    """An event expression is malformed; the message names the position."""

    def __init__(self, message: str, *, text: str = "", position: int | None = None) -> None:
        super().__init__(message)
        self.text = text
        self.position = position


class InvalidCohortSpec(BitmapistError, ValueError):
    """A cohort request is out of bounds or inconsistent; ``field`` names the culprit."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class InvalidAnswerSpec(BitmapistError, ValueError):
    """A trend, lifecycle, stickiness or funnel request is out of bounds or inconsistent;
    ``field`` names the culprit (``expr``, ``step``, ``time_group``, ``periods``,
    ``rolling``, ``now``...)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class InvalidSegmentName(BitmapistError, ValueError):
    """A property's name or value, or a saved cohort's name, breaks the naming rules."""


class TooManyPropertyValues(BitmapistError, ValueError):
    """A property would hold more values than ``BITMAPIST_MAX_PROPERTY_VALUES`` allows."""


class InvalidRetention(BitmapistError, ValueError):
    """A retention policy names an unknown group, bad days, or keeps months or weeks shorter
    than days; ``field`` names the culprit key of the mapping."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class PeriodsExpired(InvalidAnswerSpec, InvalidCohortSpec):
    """An answer's window reaches periods the retention policy has already expired;
    ``field`` names what to change (``periods`` or ``now``), ``days_kept`` the policy's
    days for the window's time group."""

    def __init__(self, message: str, *, field: str, days_kept: int) -> None:
        BitmapistError.__init__(self, message)
        self.field = field
        self.days_kept = days_kept


class InvalidStorageConfig(BitmapistError, ValueError):
    """A storage URL, key prefix or timeout is malformed; the message names the value."""


class StorageUnavailable(BitmapistError):
    """The storage backend could not be reached or did not answer in time.

    ``outcome_unknown``: the command may have reached the server before it went silent
    (a timeout or a dropped connection after sending), so a write may or may not have
    been applied. ``skipped``: nothing was sent, because the store is being skipped after
    recent failures (the circuit breaker is open).
    """

    def __init__(
        self, message: str, *, outcome_unknown: bool = False, skipped: bool = False
    ) -> None:
        super().__init__(message)
        self.outcome_unknown = outcome_unknown
        self.skipped = skipped
