"""Every error the package raises on purpose; all derive from :class:`BitmapistError`.

Validation errors are also :class:`ValueError` or :class:`TypeError`, so callers that
already catch those keep working.
"""

from __future__ import annotations

from flask_bitmapist.domain.errors import (
    BitmapistError,
    InvalidCohortSpec,
    InvalidEventName,
    InvalidExpression,
    InvalidMoment,
    InvalidStorageConfig,
    InvalidTimeGroup,
    InvalidUserId,
    InvalidUserIdType,
    StorageUnavailable,
)

__all__ = [
    "BitmapistError",
    "InvalidCohortSpec",
    "InvalidConfiguration",
    "InvalidEventName",
    "InvalidExpression",
    "InvalidMoment",
    "InvalidPeriod",
    "InvalidStorageConfig",
    "InvalidTimeGroup",
    "InvalidUserId",
    "InvalidUserIdType",
    "StorageUnavailable",
]


class InvalidConfiguration(BitmapistError, ValueError):
    """A ``BITMAPIST_*`` configuration value has the wrong type or is out of range."""

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key


class InvalidPeriod(BitmapistError, ValueError):
    """A year, month, ISO week, day or hour does not exist (``DayEvents(e, 2026, 2, 30)``)."""
