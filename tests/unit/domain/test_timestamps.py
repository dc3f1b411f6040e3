"""Timestamps as people type them: ISO 8601 text or epoch seconds, read as UTC."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from flask_bitmapist.domain import BitmapistError, InvalidTimestamp, parse_timestamp

UTC = timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-27T13:05:00Z", datetime(2026, 11, 27, 13, 5, tzinfo=UTC)),
        ("2026-11-27 13:05", datetime(2026, 11, 27, 13, 5, tzinfo=UTC)),
        ("2026-11-27T14:05:00+01:00", datetime(2026, 11, 27, 13, 5, tzinfo=UTC)),
        ("2026-11-27", datetime(2026, 11, 27, tzinfo=UTC)),
        ("1795784700", datetime(2026, 11, 27, 13, 5, tzinfo=UTC)),
        (1795784700.5, datetime(2026, 11, 27, 13, 5, 0, 500000, tzinfo=UTC)),
    ],
)
def test_timestamps_are_iso_8601_or_epoch_seconds_in_utc(text: object, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("value", ["", "yesterday", "2026-13-01", "1e400", True, None, [1]])
def test_a_bad_timestamp_is_refused_naming_it(value: object) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        parse_timestamp(value)


def test_a_bad_timestamp_is_a_bitmapist_error_and_a_value_error() -> None:
    with pytest.raises(InvalidTimestamp) as caught:
        parse_timestamp("next tuesday")
    assert isinstance(caught.value, BitmapistError)
    assert isinstance(caught.value, ValueError)
    assert "'next tuesday'" in str(caught.value)
